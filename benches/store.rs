//! The store path on a temporary SQLite file (native `SqlitePool`, WAL, one writer): a point
//! read (the record alone, and with its parts and claim token as `GET /v1/invoicerequests/{id}`
//! reads it), a page of 100 (as the list route reads it), and an insert (one at a time, each
//! committed).

use std::sync::atomic::{AtomicU64, Ordering};

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use invreqd::store::{InvoiceRequestRecord, ListQuery, Status, Store, StoreOptions};

const TENANT: &str = "default";
const ROWS: u64 = 20_000;

/// A stored-like record: the id is the SHA256-sized hex of `n`, the `lnr1…` string is of a
/// realistic length (the store does not parse it).
fn record(n: u64) -> InvoiceRequestRecord {
    InvoiceRequestRecord {
        seq: 0,
        invreq_id: format!("{n:064x}"),
        tenant: TENANT.to_owned(),
        bolt12: format!("lnr1{}", "q".repeat(420)),
        amount_msat: 10_000_000 + n,
        description: format!("bench store {n}"),
        issuer: Some("invreqd bench".to_owned()),
        label: None,
        absolute_expiry: None,
        single_use: true,
        active: true,
        used: false,
        status: Status::Open,
        created_at: 1_764_115_200 + n,
        updated_at: 1_764_115_200 + n,
        submitted: None,
    }
}

fn store_benches(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("bench.db").display()
    );
    let store = rt
        .block_on(Store::connect(&StoreOptions::new(url)))
        .unwrap();
    rt.block_on(async {
        for n in 0..ROWS {
            store.insert(&record(n)).await.unwrap();
        }
    });

    let mut i = 0u64;
    c.bench_function("store: point read (record)", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 7919) % ROWS;
            let id = format!("{i:064x}");
            let store = &store;
            async move { black_box(store.get(TENANT, &id).await.unwrap().unwrap()) }
        })
    });
    let mut j = 0u64;
    c.bench_function("store: point read (record + parts + claim token)", |b| {
        b.to_async(&rt).iter(|| {
            j = (j + 7919) % ROWS;
            let id = format!("{j:064x}");
            let store = &store;
            async move { black_box(store.get_details(TENANT, &id).await.unwrap().unwrap()) }
        })
    });
    c.bench_function(
        "store: list page of 100 (records + parts + claim tokens)",
        |b| {
            b.to_async(&rt).iter(|| async {
                let q = ListQuery {
                    limit: 100,
                    ..ListQuery::default()
                };
                black_box(store.list_details(TENANT, &q, 0).await.unwrap())
            })
        },
    );
    let next = AtomicU64::new(ROWS);
    c.bench_function("store: insert (one committed transaction each)", |b| {
        b.to_async(&rt).iter(|| {
            let r = record(next.fetch_add(1, Ordering::Relaxed));
            let store = &store;
            async move { store.insert(&r).await.unwrap() }
        })
    });
    rt.block_on(store.close());
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30);
    targets = store_benches
}
criterion_main!(benches);
