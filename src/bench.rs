//! Support for the load script (`scripts/load.sh`): a bare ceiling route, store seeding and the
//! cost of one BIP340 signature. Hidden from `--help` and from the OpenAPI document.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::Router;
use axum::routing::get;
use clap::Args;
use lightning::bitcoin::secp256k1::Message;
use serde::Serialize;

use crate::api::invoicerequests::DEFAULT_TENANT;
use crate::bolt12::{Keypair, SecretKey, secp};
use crate::config::ServeArgs;
use crate::node::Node;
use crate::node::dev_signer::DevSigner;
use crate::service::{Amount, Description, NewInvoiceRequest, Service, ServiceConfig};
use crate::store::Store;

#[derive(Serialize)]
struct Ceiling {
    ok: bool,
}

async fn ceiling() -> Json<Ceiling> {
    Json(Ceiling { ok: true })
}

/// `GET /bench/ceiling` → `{"ok":true}`: the same binary's bare axum ceiling (no state, no
/// database), served only with the hidden `--bench-ceiling` flag.
pub fn ceiling_router() -> Router {
    Router::new().route("/bench/ceiling", get(ceiling))
}

/// Settings of the hidden `bench-seed` command.
#[derive(Debug, Clone, Args)]
pub struct SeedArgs {
    /// How many invoice requests to create.
    #[arg(long, default_value_t = 100_000)]
    pub count: u64,
    /// How many creates run at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u64,
    /// Write the created ids here, one per line.
    #[arg(long)]
    pub ids_file: PathBuf,
    /// Store, data directory and network, as for `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// Creates `count` real, signed invoice requests through the service (validate → build → sign
/// → store, with the dev signer) and writes their ids to `ids_file`.
pub async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.serve.data_dir)?;
    let mut opts = args.serve.store_options();
    opts.max_connections = opts.max_connections.max(args.concurrency as u32);
    let store = Store::connect(&opts).await?;
    let signer = DevSigner::load_or_create(&args.serve.data_dir, args.serve.network.into())?;
    let node: Arc<dyn Node> = Arc::new(signer);
    let service = Service::new(store, node, ServiceConfig::default());
    let started = Instant::now();
    let workers = args.concurrency.max(1);
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..workers {
        let service = service.clone();
        let n = args.count / workers + u64::from(w < args.count % workers);
        tasks.spawn(async move {
            let mut ids = Vec::with_capacity(n as usize);
            for i in 0..n {
                let req = NewInvoiceRequest {
                    amount: Amount::from_msat(1_000 + (w * 1_000_003 + i) % 100_000_000)?,
                    description: Description::parse(format!("bench seed {w}/{i}"), usize::MAX)?,
                    issuer: None,
                    label: None,
                    absolute_expiry: None,
                    single_use: true,
                    claim_page: false,
                };
                match service
                    .create_idempotent(
                        DEFAULT_TENANT,
                        &crate::store::SpendingPolicy::default(),
                        None,
                        req,
                        std::sync::Arc::new(|_: &crate::service::InvoiceRequestView| String::new()),
                    )
                    .await?
                {
                    crate::service::Created::New { view, .. } => ids.push(view.record.invreq_id),
                    crate::service::Created::Replay { .. } => {
                        anyhow::bail!("a create without a key was replayed")
                    }
                }
            }
            anyhow::Ok(ids)
        });
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(&args.ids_file)?);
    let mut total = 0u64;
    while let Some(done) = tasks.join_next().await {
        for id in done?? {
            writeln!(out, "{id}")?;
            total += 1;
        }
    }
    out.flush()?;
    let secs = started.elapsed().as_secs_f64();
    println!(
        "seeded {total} invoice requests in {secs:.1} s ({:.0}/s)",
        total as f64 / secs
    );
    Ok(())
}

/// What one BIP340 signature and one verification cost on this machine, in nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct SignatureCost {
    /// `sign_schnorr_with_aux_rand` with fresh auxiliary randomness, as the dev signer does.
    pub sign_ns: f64,
    /// `verify_schnorr`.
    pub verify_ns: f64,
}

/// Times signatures on one thread: the best of several batches (least disturbed by other load).
pub fn signature_cost(iterations: u32) -> SignatureCost {
    let kp = Keypair::from_secret_key(
        secp(),
        &SecretKey::from_slice(&[0x42; 32]).expect("valid key"),
    );
    let (xonly, _) = kp.x_only_public_key();
    let batches = 5;
    let per = iterations.div_ceil(batches).max(1);
    let mut best_sign = Duration::MAX;
    let mut best_verify = Duration::MAX;
    let mut digest = [7u8; 32];
    for _ in 0..batches {
        let t = Instant::now();
        let mut sig = None;
        for _ in 0..per {
            let msg = Message::from_digest(digest);
            let aux: [u8; 32] = rand::random();
            let s = secp().sign_schnorr_with_aux_rand(&msg, &kp, &aux);
            digest[0] = digest[0].wrapping_add(s.as_ref()[0]);
            sig = Some((s, msg));
        }
        best_sign = best_sign.min(t.elapsed());
        let (s, msg) = sig.expect("at least one signature");
        let t = Instant::now();
        for _ in 0..per {
            secp()
                .verify_schnorr(&s, &msg, &xonly)
                .expect("own signature verifies");
        }
        best_verify = best_verify.min(t.elapsed());
    }
    SignatureCost {
        sign_ns: best_sign.as_nanos() as f64 / f64::from(per),
        verify_ns: best_verify.as_nanos() as f64 / f64::from(per),
    }
}

/// Settings of the hidden `bench-serialize` command.
#[derive(Debug, Clone, Args)]
pub struct SerializeArgs {
    /// Rows on the page (as `GET /v1/invoicerequests?limit=`).
    #[arg(long, default_value_t = 100)]
    pub limit: u32,
    /// Serializations to time, over all batches.
    #[arg(long, default_value_t = 2_000)]
    pub iterations: u32,
    /// Store, data directory and network, as for `serve`.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// What serializing one page of the list costs here, and how large it is.
#[derive(Debug, Clone, Copy)]
pub struct SerializeCost {
    /// `serde_json::to_vec` of the page's response body, nanoseconds (best of 5 batches).
    pub serialize_ns: f64,
    /// The body's length, bytes.
    pub bytes: usize,
}

/// Loads the default tenant's newest page of `limit` rows through the service (the list
/// route's own path), builds its response body once, then times only its JSON serialization
/// on one thread: the floor under the list route's CPU per page.
pub async fn serialize_cost(args: SerializeArgs) -> anyhow::Result<SerializeCost> {
    let store = Store::connect(&args.serve.store_options()).await?;
    let signer = DevSigner::load_or_create(&args.serve.data_dir, args.serve.network.into())?;
    let node: Arc<dyn Node> = Arc::new(signer);
    let service = Service::new(store.clone(), node, ServiceConfig::default());
    let query = crate::store::ListQuery {
        limit: args.limit,
        ..Default::default()
    };
    let page = service.list(DEFAULT_TENANT, query).await?;
    store.close().await;
    let body = crate::api::invoicerequests::InvoiceRequestList {
        invoicerequests: page
            .items
            .iter()
            .map(crate::api::invoicerequests::InvoiceRequestBody::from)
            .collect(),
        next_cursor: page.next_cursor,
    };
    let batches = 5;
    let per = args.iterations.div_ceil(batches).max(1);
    let mut best = Duration::MAX;
    let mut bytes = 0;
    for _ in 0..batches {
        let t = Instant::now();
        for _ in 0..per {
            let v = serde_json::to_vec(&body)?;
            bytes = std::hint::black_box(v).len();
        }
        best = best.min(t.elapsed());
    }
    Ok(SerializeCost {
        serialize_ns: best.as_nanos() as f64 / f64::from(per),
        bytes,
    })
}
