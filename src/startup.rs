//! Putting the layers together and serving.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use tokio::net::TcpListener;

use crate::api::{self, ApiOptions, AppState};
use crate::config::{NodeKind, ServeArgs};
use crate::jobs::{self, JobSettings};
use crate::node::Node;
use crate::node::cln_rest::{ClnRest, ClnRestConfig, Rune};
use crate::node::dev_signer::DevSigner;
use crate::service::Service;
use crate::store::{Store, redact};

/// A built application, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
    reconcile_interval: Duration,
    payment_wait: Duration,
}

/// Installs the process-wide TLS crypto provider (ring); safe to call more than once.
pub fn init_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Reads the rune and CA files and connects to clnrest (`getinfo`, network check).
async fn connect_cln_rest(args: &ServeArgs) -> anyhow::Result<ClnRest> {
    use anyhow::Context;
    let url = args
        .cln_rest_url
        .clone()
        .context("--cln-rest-url is required with --node cln-rest")?;
    let rune_path = args
        .cln_rune_file
        .as_ref()
        .context("--cln-rune-file is required with --node cln-rest")?;
    let ca_path = args
        .cln_ca_cert
        .as_ref()
        .context("--cln-ca-cert is required with --node cln-rest")?;
    // The rune's text never appears in an error or a log line: only the file's name.
    let rune_text = std::fs::read_to_string(rune_path)
        .map_err(|e| anyhow::anyhow!("cannot read the rune file {}: {e}", rune_path.display()))?;
    if rune_text.trim().is_empty() {
        anyhow::bail!("the rune file {} is empty", rune_path.display());
    }
    let ca_pem = std::fs::read(ca_path)
        .with_context(|| format!("cannot read the node CA {}", ca_path.display()))?;
    let node = ClnRest::connect(ClnRestConfig {
        url: url.clone(),
        rune: Rune::new(&rune_text),
        ca_pem,
        network: args.network.into(),
        timeout: args.node_timeout(),
    })
    .await
    .with_context(|| format!("cannot use the Core Lightning node at {url}"))?;
    tracing::info!(
        node_id = %node.info().id,
        version = %node.info().version,
        network = %node.info().network,
        label_param = node.label_param().name(),
        "connected to Core Lightning over clnrest"
    );
    Ok(node)
}

impl Application {
    /// Opens the store, starts the node client, binds the listener.
    pub async fn build(args: &ServeArgs) -> anyhow::Result<Self> {
        init_crypto();
        std::fs::create_dir_all(&args.data_dir)?;
        let store_opts = args.store_options();
        let store = Store::connect(&store_opts).await?;
        tracing::info!(database = %redact(&store_opts.url), backend = ?store.backend(), "store ready");
        let node: Arc<dyn Node> = match args.node {
            NodeKind::DevSigner => {
                let signer = DevSigner::load_or_create(&args.data_dir, args.network.into())?;
                tracing::warn!(
                    payer_id = %signer.info().id,
                    "dev signer: invoice requests are signed with a local key and NOTHING CAN BE PAID in this mode; use --node cln-rest in production"
                );
                Arc::new(signer)
            }
            NodeKind::ClnRest => Arc::new(connect_cln_rest(args).await?),
        };
        let service = Service::new(store, node, args.service_config());
        Self::with_service(service, args).await
    }

    /// Builds around a ready service (tests, benchmarks).
    pub async fn with_service(service: Service, args: &ServeArgs) -> anyhow::Result<Self> {
        let state = AppState {
            service,
            draining: Arc::new(AtomicBool::new(false)),
        };
        let router = api::router(
            state.clone(),
            &ApiOptions {
                body_limit: args.body_limit_bytes,
            },
        );
        let listener = TcpListener::bind(args.listen).await?;
        Ok(Self {
            listener,
            router,
            state,
            reconcile_interval: Duration::from_secs(args.reconcile_interval_secs.max(1)),
            payment_wait: Duration::from_secs(args.cln_wait_secs.max(1)),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until `shutdown` completes, with background jobs.
    pub async fn run_until(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let addr = self.local_addr();
        tracing::info!(%addr, "listening");
        let jobs = jobs::spawn_all(
            self.state.service.clone(),
            JobSettings {
                reconcile_interval: self.reconcile_interval,
                payment_wait: self.payment_wait,
            },
        );
        let result = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await;
        jobs.stop().await;
        result.map_err(Into::into)
    }

    /// Serves until SIGINT or SIGTERM.
    pub async fn run_until_stopped(self) -> anyhow::Result<()> {
        self.run_until(shutdown_signal()).await
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutting down");
}
