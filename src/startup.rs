//! Putting the layers together and serving.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::net::TcpListener;

use crate::api::{self, AppState};
use crate::config::{BuildModeArg, NodeKind, ServeArgs};
use crate::jobs::{self, JobSettings};
use crate::node::cln_rest::{ClnRest, ClnRestConfig, Rune};
use crate::node::dev_signer::DevSigner;
use crate::node::instrumented::Instrumented;
use crate::node::{BuildMode, Node};
use crate::server::tls::ReloadingTls;
use crate::server::{self, ServerOptions};
use crate::service::Service;
use crate::store::{Store, redact};

/// A built application, bound to its port, not yet serving.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    state: AppState,
    reconcile_interval: Duration,
    shutdown_delay: Duration,
    drain_timeout: Duration,
    payment_wait: Duration,
    server: ServerOptions,
    tls: Option<ReloadingTls>,
}

/// glibc gives each thread that allocates its own malloc arena (up to 8 per core); the SQLite
/// worker threads (one per pooled connection) then each keep a partly used arena. Two arenas
/// keep the peak RSS down at no measurable cost in speed (see docs/performance.md).
pub fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only adjusts allocator parameters; called before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

/// Makes every file and directory this process creates private to its user (umask 077): the
/// SQLite database and its `-wal`/`-shm` files come out 0600, directories 0700. Call at start,
/// before any file is created.
pub fn restrict_file_modes() {
    #[cfg(unix)]
    // SAFETY: umask only changes the process's file-creation mask; it cannot fail.
    unsafe {
        libc::umask(0o077);
    }
}

/// Raises the soft `RLIMIT_NOFILE` (open files, sockets included) to the hard limit, so the
/// connection cap is not undercut by a low default soft limit such as 1024. Returns the soft
/// limit now in effect, or `None` where it cannot be read.
pub fn raise_open_file_limit() -> Option<u64> {
    #[cfg(unix)]
    {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit read and write the struct passed by pointer, nothing else.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut lim) != 0 {
                return None;
            }
            if lim.rlim_cur < lim.rlim_max {
                let raised = libc::rlimit {
                    rlim_cur: lim.rlim_max,
                    rlim_max: lim.rlim_max,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &raw const raised) == 0 {
                    lim.rlim_cur = lim.rlim_max;
                }
            }
        }
        #[allow(clippy::useless_conversion)] // rlim_t is u64 on Linux, not everywhere
        Some(u64::from(lim.rlim_cur))
    }
    #[cfg(not(unix))]
    None
}

/// File descriptors kept free of client connections: database pool, node client, logs, TLS files.
const RESERVED_FDS: usize = 64;

/// The connection cap that fits the open-file limit: `wanted`, lowered (with a warning) so that
/// connections plus the database pool plus [`RESERVED_FDS`] stay under `open_files`.
pub fn fit_connection_cap(wanted: usize, open_files: Option<u64>, db_connections: u32) -> usize {
    let Some(open_files) = open_files else {
        return wanted;
    };
    let reserved = RESERVED_FDS + db_connections as usize;
    let room = usize::try_from(open_files)
        .unwrap_or(usize::MAX)
        .saturating_sub(reserved)
        .max(1);
    if wanted > room {
        tracing::warn!(
            max_connections = wanted,
            open_file_limit = open_files,
            lowered_to = room,
            "--max-connections does not fit the open-file limit; lowered"
        );
        room
    } else {
        wanted
    }
}

/// Creates the data directory private to this user (0700) if missing; warns when an existing
/// one can be read by others (it holds the database, i.e. every `lnr1…`, and keys).
///
/// # Errors
/// When the directory cannot be created or inspected.
pub fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    use anyhow::Context;
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        let existed = dir.exists();
        builder.mode(0o700);
        builder
            .create(dir)
            .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
        let mode = std::fs::metadata(dir)
            .with_context(|| format!("cannot inspect the data directory {}", dir.display()))?
            .permissions()
            .mode()
            & 0o777;
        if existed && mode & 0o077 != 0 {
            tracing::warn!(
                data_dir = %dir.display(),
                mode = format!("{mode:o}"),
                "the data directory is open to other users of this host; it holds the database (every invoice request) and keys: chmod 700 it"
            );
        }
    }
    #[cfg(not(unix))]
    builder
        .create(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    Ok(())
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
        build_mode: match args.cln_build_mode {
            BuildModeArg::Service => BuildMode::ServiceBuilt,
            BuildModeArg::Node => BuildMode::NodeBuilt,
        },
    })
    .await
    .with_context(|| format!("cannot use the Core Lightning node at {url}"))?;
    // A rune without listsendpays or wait would give a ready service that never records a
    // payment (notes/cln-e2e.md F6): refuse to start instead.
    let missing = node
        .missing_methods()
        .await
        .with_context(|| format!("cannot check the rune's methods on the node at {url}"))?;
    if !missing.is_empty() {
        anyhow::bail!(
            "the rune in {} does not allow: {}. invreqd needs getinfo, {}, \
             listinvoicerequests, disableinvoicerequest, listsendpays and wait in one \
             alternative; docs/cln-rest.md shows how to make that rune",
            rune_path.display(),
            missing.join(", "),
            node.create_method()
        );
    }
    tracing::info!(
        node_id = %node.info().id,
        version = %node.info().version,
        network = %node.info().network,
        label_param = node.label_param().name(),
        build_mode = ?node.build_mode(),
        "connected to Core Lightning over clnrest"
    );
    Ok(node)
}

/// Reads the CA, client certificate and key and connects to cln-grpc (`Getinfo`, network check).
#[cfg(feature = "grpc")]
async fn connect_cln_grpc(args: &ServeArgs) -> anyhow::Result<Arc<dyn Node>> {
    use crate::node::cln_grpc::{ClnGrpc, ClnGrpcConfig};
    use anyhow::Context;
    let url = args
        .cln_grpc_url
        .clone()
        .context("--cln-grpc-url is required with --node cln-grpc")?;
    let read = |path: &Option<std::path::PathBuf>, flag: &str| -> anyhow::Result<Vec<u8>> {
        let path = path
            .as_ref()
            .with_context(|| format!("{flag} is required with --node cln-grpc"))?;
        // Only the file's name ever appears in an error: never its contents.
        std::fs::read(path).with_context(|| format!("cannot read {flag} {}", path.display()))
    };
    let node = ClnGrpc::connect(ClnGrpcConfig {
        url: url.clone(),
        ca_pem: read(&args.cln_ca_cert, "--cln-ca-cert")?,
        client_cert_pem: read(&args.cln_client_cert, "--cln-client-cert")?,
        client_key_pem: read(&args.cln_client_key, "--cln-client-key")?,
        network: args.network.into(),
        timeout: args.node_timeout(),
    })
    .await
    .with_context(|| format!("cannot use the Core Lightning node at {url} over gRPC"))?;
    tracing::info!(
        node_id = %node.info().id,
        version = %node.info().version,
        network = %node.info().network,
        "connected to Core Lightning over gRPC (node-built requests)"
    );
    Ok(Arc::new(node))
}

#[cfg(not(feature = "grpc"))]
async fn connect_cln_grpc(_args: &ServeArgs) -> anyhow::Result<Arc<dyn Node>> {
    anyhow::bail!(
        "this build has no gRPC support: build invreqd with `--features grpc` to use --node cln-grpc"
    )
}

impl Application {
    /// Opens the store, starts the node client, binds the listener.
    pub async fn build(args: &ServeArgs) -> anyhow::Result<Self> {
        init_crypto();
        // Settings whose sums could overflow are refused before anything is opened.
        args.service_config()
            .limits
            .check()
            .map_err(|e| anyhow::anyhow!("invalid setting: {e}"))?;
        prepare_data_dir(&args.data_dir)?;
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
            NodeKind::ClnGrpc => connect_cln_grpc(args).await?,
        };
        let node: Arc<dyn Node> = Arc::new(Instrumented::new(node));
        let service = Service::new(store, node, args.service_config());
        Self::with_service(service, args).await
    }

    /// Builds around a ready service (tests, benchmarks).
    pub async fn with_service(service: Service, args: &ServeArgs) -> anyhow::Result<Self> {
        crate::metrics::init();
        crate::cli::bootstrap::ensure_bootstrap_key(&service, &args.data_dir).await?;
        let state = AppState {
            service,
            draining: Arc::new(AtomicBool::new(false)),
            is_leader: Arc::new(AtomicBool::new(false)),
        };
        let router = api::router(state.clone(), &args.api_options());
        // The load script's baseline route: only in a `load-test` build, only when asked.
        #[cfg(feature = "load-test")]
        let router = if args.bench_ceiling {
            router.merge(crate::bench::ceiling_router())
        } else {
            router
        };
        let tls = match args.tls_files() {
            Some(files) => Some(ReloadingTls::load(files)?),
            None => None,
        };
        let mut server = args.server_options();
        server.max_connections = fit_connection_cap(
            server.max_connections,
            raise_open_file_limit(),
            args.db_max_connections,
        );
        let listener = TcpListener::bind(args.listen).await?;
        Ok(Self {
            server,
            tls,
            listener,
            router,
            state,
            reconcile_interval: Duration::from_secs(args.reconcile_interval_secs.max(1)),
            shutdown_delay: Duration::from_secs(args.shutdown_delay_secs),
            drain_timeout: Duration::from_secs(args.drain_timeout_secs),
            payment_wait: Duration::from_secs(args.cln_wait_secs.max(1)),
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.listener
            .local_addr()
            .expect("bound listener has an address")
    }

    /// Serves until `shutdown` completes, with background jobs, then shuts down in order:
    ///
    /// 1. `draining` is set, so `/readyz` answers 503, while requests are still served for the
    ///    shutdown delay (Kubernetes removes the pod from its endpoints meanwhile);
    /// 2. the listener closes and in-flight requests finish, for at most the drain timeout
    ///    (idle keep-alive connections are closed; those still busy after it are cut);
    /// 3. the background jobs stop at a safe point ([`jobs::Jobs::stop`]).
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
            self.state.is_leader.clone(),
        );
        let draining = self.state.draining.clone();
        let delay = self.shutdown_delay;
        let closing = async move {
            shutdown.await;
            draining.store(true, Ordering::SeqCst);
            tracing::info!(
                delay_secs = delay.as_secs_f64(),
                "shutdown: draining, /readyz answers 503; still serving"
            );
            tokio::time::sleep(delay).await;
            tracing::info!("shutdown: listener closed; waiting for in-flight requests");
        };
        let (tls_config, tls_watch) = match self.tls {
            Some(tls) => (Some(tls.config()), Some(tokio::spawn(tls.watch()))),
            None => (None, None),
        };
        tracing::info!(
            https = tls_config.is_some(),
            max_connections = self.server.max_connections,
            "serving"
        );
        server::serve(
            self.listener,
            self.router,
            tls_config,
            self.server,
            closing,
            self.drain_timeout,
        )
        .await;
        if let Some(task) = tls_watch {
            task.abort();
        }
        jobs.stop().await;
        // SQLite checkpoints its WAL as the last connection closes.
        self.state.service.store().close().await;
        tracing::info!("shutdown complete");
        Ok(())
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
