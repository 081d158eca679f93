//! The service in-process on a temporary SQLite file with the dev signer: the whole create path
//! (validate → build → sign → store), and the reads the API serves (one record, a page of 100).

use invreqd::api::invoicerequests::CreateInvoiceRequest;
use std::sync::Arc;

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use invreqd::api::invoicerequests::DEFAULT_TENANT;
use invreqd::bolt12::{Network, SecretKey};
use invreqd::node::dev_signer::DevSigner;
use invreqd::service::{Created, Limits, NewInvoiceRequest, Service, ServiceConfig};
use invreqd::store::{ListQuery, Store, StoreOptions};
use serde_json::{Map, Value, json};

fn body() -> Map<String, Value> {
    match json!({"amount": "10000sat", "description": "bench", "issuer": "invreqd"}) {
        Value::Object(m) => m,
        _ => unreachable!(),
    }
}

fn url(dir: &std::path::Path) -> String {
    format!("sqlite://{}?mode=rwc", dir.join("bench.db").display())
}

/// The record columns, typed, as `Store::get` selects them.
type Row = (
    i64,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    i64,
    i64,
    i64,
    String,
    i64,
    i64,
);

async fn service(dir: &std::path::Path) -> Service {
    let url = url(dir);
    let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
    let signer = DevSigner::from_secret(
        SecretKey::from_slice(&[0x42; 32]).unwrap(),
        Network::Regtest,
    );
    Service::new(store, Arc::new(signer), ServiceConfig::default())
}

async fn create(svc: &Service, body: &Map<String, Value>, limits: &Limits) -> String {
    let dto: CreateInvoiceRequest = serde_json::from_value(Value::Object(body.clone())).unwrap();
    let req = NewInvoiceRequest::try_from(dto)
        .unwrap()
        .within(limits, invreqd::service::unix_now())
        .unwrap();
    match svc
        .create_idempotent(
            DEFAULT_TENANT,
            &invreqd::store::SpendingPolicy::default(),
            None,
            req,
            Arc::new(|_: &invreqd::service::InvoiceRequestView| String::new()),
        )
        .await
        .unwrap()
    {
        Created::New { view, .. } => view.record.invreq_id,
        Created::Replay { .. } => unreachable!(),
    }
}

fn service_benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let svc = rt.block_on(service(dir.path()));
    let body = body();
    let limits = Limits::default();

    c.bench_function(
        "create (validate + build + sign + verify + insert, SQLite)",
        |b| b.to_async(&rt).iter(|| create(&svc, &body, &limits)),
    );

    // Make sure there are at least 10 000 rows, then read.
    let ids: Vec<String> = rt.block_on(async {
        let mut ids = Vec::new();
        for _ in 0..10_000 {
            ids.push(create(&svc, &body, &limits).await);
        }
        ids
    });
    let mut i = 0usize;
    c.bench_function("get one (store + sqlx::Any row conversion)", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 7919) % ids.len();
            let id = &ids[i];
            let svc = &svc;
            async move { black_box(svc.get(DEFAULT_TENANT, id).await.unwrap()) }
        })
    });
    // The same queries on a native SqlitePool (typed rows, no sqlx::Any conversion), to measure
    // what the Any layer costs.
    let native = rt
        .block_on(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(16)
                .connect(&url(dir.path())),
        )
        .unwrap();
    let mut j = 0usize;
    c.bench_function("get one, native SqlitePool (no Any)", |b| {
        b.to_async(&rt).iter(|| {
            j = (j + 7919) % ids.len();
            let id = &ids[j];
            let native = &native;
            async move {
                black_box(
                    sqlx::query_as::<_, Row>(
                        "SELECT seq, invreq_id, tenant, bolt12, amount_msat, description, issuer, label, \
                         absolute_expiry, single_use, active, used, status, created_at, updated_at \
                         FROM invoice_requests WHERE invreq_id = $1 AND tenant = $2",
                    )
                    .bind(id)
                    .bind(DEFAULT_TENANT)
                    .fetch_optional(native)
                    .await
                    .unwrap(),
                )
            }
        })
    });
    c.bench_function("list limit=100, native SqlitePool (no Any)", |b| {
        b.to_async(&rt).iter(|| async {
            black_box(
                sqlx::query_as::<_, Row>(
                    "SELECT seq, invreq_id, tenant, bolt12, amount_msat, description, issuer, label, \
                     absolute_expiry, single_use, active, used, status, created_at, updated_at \
                     FROM invoice_requests WHERE tenant = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
                )
                .bind(DEFAULT_TENANT)
                .bind(i64::MAX)
                .bind(101i64)
                .fetch_all(&native)
                .await
                .unwrap(),
            )
        })
    });

    c.bench_function("list limit=100", |b| {
        b.to_async(&rt).iter(|| async {
            let q = ListQuery {
                limit: 100,
                ..ListQuery::default()
            };
            black_box(svc.list(DEFAULT_TENANT, q).await.unwrap())
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = service_benches
}
criterion_main!(benches);
