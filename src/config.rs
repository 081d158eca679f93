//! Settings of `serve` from flags and `INVREQD_*` environment variables (clap), and what they
//! become for each layer. The command grammar around them is in [`crate::cli`].

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, ValueEnum};

use crate::api::ApiOptions;
use crate::api::auth::RateLimit;
use crate::bolt12::Network;
use crate::server::ServerOptions;
use crate::server::tls::TlsFiles;
use crate::service::webhooks::{DestinationPolicy, RetrySchedule, WebhookSettings};
use crate::service::{EventSettings, Limits, MAX_MSAT, ServiceConfig};
use crate::store::StoreOptions;

/// The database URL for a data directory when none is configured: a SQLite file in it.
pub fn default_database_url(data_dir: &Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("invreqd.db").display()
    )
}

/// Which node signs and pays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NodeKind {
    /// A local key in the data directory; nothing can be paid (development).
    DevSigner,
    /// Core Lightning over clnrest (HTTPS, rune): the node signs, stores and pays.
    ClnRest,
    /// Core Lightning over gRPC (mutual TLS; needs a build with `--features grpc`): the node
    /// builds, signs, stores and pays (node-built mode only).
    ClnGrpc,
}

/// Who builds the BOLT12 invoice request on clnrest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BuildModeArg {
    /// The service builds it, the node signs and stores it (`createinvoicerequest`); no blinded
    /// path, so the node must be reachable by the payee (a public node with channels).
    Service,
    /// The node builds, signs and stores it (`invoicerequest`), adding a blinded path when it is
    /// not publicly reachable (an unannounced node).
    Node,
}

/// The chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum NetworkArg {
    /// Bitcoin mainnet.
    Bitcoin,
    /// testnet3.
    Testnet,
    /// signet.
    Signet,
    /// regtest.
    Regtest,
}

impl From<NetworkArg> for Network {
    fn from(n: NetworkArg) -> Self {
        match n {
            NetworkArg::Bitcoin => Network::Bitcoin,
            NetworkArg::Testnet => Network::Testnet,
            NetworkArg::Signet => Network::Signet,
            NetworkArg::Regtest => Network::Regtest,
        }
    }
}

/// Log output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// JSON lines.
    Json,
    /// Human-readable.
    Pretty,
}

/// Settings of the service.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "INVREQD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// Directory for the SQLite database and the dev signer's key.
    #[arg(long, env = "INVREQD_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Database URL (`sqlite://…` or `postgres://…`); default: a SQLite file in the data directory.
    #[arg(long, env = "INVREQD_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// Largest number of database connections in the pool.
    #[arg(long, env = "INVREQD_DB_MAX_CONNECTIONS", default_value_t = 16)]
    pub db_max_connections: u32,
    /// Write plain creates and audit lines that arrive together in one transaction (each still
    /// answered only after its commit). Hidden: for measuring (`--db-group-commit false`).
    #[arg(long, env = "INVREQD_DB_GROUP_COMMIT", default_value_t = true, action = clap::ArgAction::Set, hide = true)]
    pub db_group_commit: bool,
    /// Seconds to wait for a database connection.
    #[arg(long, env = "INVREQD_DB_ACQUIRE_TIMEOUT_SECS", default_value_t = 5)]
    pub db_acquire_timeout_secs: u64,
    /// PostgreSQL statement timeout, seconds.
    #[arg(long, env = "INVREQD_DB_STATEMENT_TIMEOUT_SECS", default_value_t = 10)]
    pub db_statement_timeout_secs: u64,
    /// The chain (must match the node's).
    #[arg(long, env = "INVREQD_NETWORK", value_enum, default_value = "regtest")]
    pub network: NetworkArg,
    /// Which node signs and pays.
    #[arg(long, env = "INVREQD_NODE", value_enum, default_value = "dev-signer")]
    pub node: NodeKind,
    /// Seconds a create waits for the node before answering 504 with the pending id.
    #[arg(long, env = "INVREQD_NODE_TIMEOUT_SECS", default_value_t = 10)]
    pub node_timeout_secs: u64,
    /// The node timeout in milliseconds; overrides `--node-timeout-secs` (tests, fast nodes).
    #[arg(long, env = "INVREQD_NODE_TIMEOUT_MS", hide = true)]
    pub node_timeout_ms: Option<u64>,
    /// clnrest's URL, e.g. `https://localhost:3010` (its certificate names `localhost` and `cln`).
    #[arg(long, env = "INVREQD_CLN_REST_URL", required_if_eq("node", "cln-rest"))]
    pub cln_rest_url: Option<String>,
    /// File holding the rune (see docs/cln-rest.md for the least-privilege one); never logged.
    #[arg(
        long,
        env = "INVREQD_CLN_RUNE_FILE",
        required_if_eq("node", "cln-rest")
    )]
    pub cln_rune_file: Option<PathBuf>,
    /// The node's `ca.pem`: the only certificate authority trusted for clnrest and cln-grpc.
    #[arg(
        long,
        env = "INVREQD_CLN_CA_CERT",
        required_if_eq_any([("node", "cln-rest"), ("node", "cln-grpc")])
    )]
    pub cln_ca_cert: Option<PathBuf>,
    /// clnrest only: who builds the requests (`service`: default; `node`: CLN's
    /// `invoicerequest`, for nodes that need blinded paths). cln-grpc is always `node`.
    #[arg(
        long,
        env = "INVREQD_CLN_BUILD_MODE",
        value_enum,
        default_value = "service"
    )]
    pub cln_build_mode: BuildModeArg,
    /// cln-grpc's URL, e.g. `https://127.0.0.1:9736` (the TLS name checked is always `cln`).
    #[arg(long, env = "INVREQD_CLN_GRPC_URL", required_if_eq("node", "cln-grpc"))]
    pub cln_grpc_url: Option<String>,
    /// The node's gRPC client certificate (`client.pem`).
    #[arg(
        long,
        env = "INVREQD_CLN_CLIENT_CERT",
        required_if_eq("node", "cln-grpc")
    )]
    pub cln_client_cert: Option<PathBuf>,
    /// The node's gRPC client key (`client-key.pem`); whoever holds it controls the node.
    #[arg(
        long,
        env = "INVREQD_CLN_CLIENT_KEY",
        required_if_eq("node", "cln-grpc")
    )]
    pub cln_client_key: Option<PathBuf>,
    /// Longest long-poll of the payment watcher (`wait sendpays`), seconds.
    #[arg(long, env = "INVREQD_CLN_WAIT_SECS", default_value_t = 30)]
    pub cln_wait_secs: u64,
    /// Seconds between runs of the pending-record reconciler.
    #[arg(long, env = "INVREQD_RECONCILE_INTERVAL_SECS", default_value_t = 30)]
    pub reconcile_interval_secs: u64,
    /// Largest amount one request may ask for, msat.
    #[arg(long, env = "INVREQD_MAX_AMOUNT_MSAT", default_value_t = MAX_MSAT)]
    pub max_amount_msat: u64,
    /// Longest description or issuer, UTF-8 bytes.
    #[arg(long, env = "INVREQD_MAX_DESCRIPTION_BYTES", default_value_t = 640)]
    pub max_description_bytes: usize,
    /// Latest expiry a request may ask for, seconds from now (unset: no limit).
    #[arg(long, env = "INVREQD_MAX_EXPIRY_SECS")]
    pub max_expiry_secs: Option<u64>,
    /// Expiry given to requests that ask for none, seconds from now (unset: none, as in CLN).
    #[arg(long, env = "INVREQD_DEFAULT_EXPIRY_SECS")]
    pub default_expiry_secs: Option<u64>,
    /// Largest request body, bytes.
    #[arg(long, env = "INVREQD_BODY_LIMIT_BYTES", default_value_t = 16 * 1024)]
    pub body_limit_bytes: usize,
    /// Log format.
    #[arg(long, env = "INVREQD_LOG_FORMAT", value_enum, default_value = "pretty")]
    pub log_format: LogFormat,
    /// On SIGTERM: seconds `/readyz` answers 503 while still serving, before the listener closes
    /// (time for load balancers and Kubernetes endpoints to stop sending traffic here).
    #[arg(long, env = "INVREQD_SHUTDOWN_DELAY_SECS", default_value_t = 5)]
    pub shutdown_delay_secs: u64,
    /// On SIGTERM, once the listener is closed: seconds in-flight requests get to finish.
    #[arg(long, env = "INVREQD_DRAIN_TIMEOUT_SECS", default_value_t = 20)]
    pub drain_timeout_secs: u64,
    /// Tests and drills only: hold every `/v1/…` request this many milliseconds.
    #[arg(
        long,
        env = "INVREQD_DEBUG_REQUEST_DELAY_MS",
        default_value_t = 0,
        hide = true
    )]
    pub debug_request_delay_ms: u64,
    /// Sustained requests per second allowed to each API key (0: no rate limit). In memory,
    /// per process: with N replicas a key gets up to N times this.
    #[arg(long, env = "INVREQD_RATE_LIMIT_PER_SEC", default_value_t = 50)]
    pub rate_limit_per_sec: u32,
    /// Requests an API key may send at once after a quiet spell.
    #[arg(long, env = "INVREQD_RATE_LIMIT_BURST", default_value_t = 100)]
    pub rate_limit_burst: u32,
    /// Milliseconds an API key read from the database is trusted before it is read again (0: every
    /// request reads it). Revoking takes effect at once on the replica that revokes, within this
    /// time on the others and after `invreqd keys revoke`.
    #[arg(long, env = "INVREQD_KEY_CACHE_MS", default_value_t = 1000)]
    pub key_cache_ms: u64,
    /// Longest a request may take, milliseconds, before it is answered 503 `request_timeout`
    /// (keep it above the node timeout).
    #[arg(long, env = "INVREQD_REQUEST_TIMEOUT_MS", default_value_t = 30_000)]
    pub request_timeout_ms: u64,
    /// Accept `http://` webhook URLs (default: `https://` only).
    #[arg(long, env = "INVREQD_WEBHOOK_ALLOW_HTTP")]
    pub webhook_allow_http: bool,
    /// Deliver webhooks to loopback, private, link-local and other non-public addresses
    /// (default: refused, checked on the resolved address at every delivery).
    #[arg(long, env = "INVREQD_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,
    /// Waits before each webhook retry, comma-separated (units ms, s, m, h, d); once used up
    /// the delivery has failed and the endpoint is marked failing.
    #[arg(long, env = "INVREQD_WEBHOOK_RETRY_SCHEDULE", default_value = crate::service::webhooks::DEFAULT_RETRY_SCHEDULE, value_parser = RetrySchedule::parse)]
    pub webhook_retry_schedule: RetrySchedule,
    /// How long a webhook receiver has to answer 2xx, milliseconds.
    #[arg(long, env = "INVREQD_WEBHOOK_TIMEOUT_MS", default_value_t = 10_000)]
    pub webhook_timeout_ms: u64,
    /// How often each replica looks for due webhook deliveries, milliseconds.
    #[arg(long, env = "INVREQD_WEBHOOK_POLL_MS", default_value_t = 500)]
    pub webhook_poll_ms: u64,
    /// How long events are kept, days.
    #[arg(long, env = "INVREQD_EVENT_RETENTION_DAYS", default_value_t = 30)]
    pub event_retention_days: u64,
    /// PEM certificate chain (leaf first): serve HTTPS (HTTP/2 and HTTP/1.1) instead of plain
    /// HTTP. Re-read when it changes (see `--tls-reload-interval-ms`). Needs `--tls-key`.
    #[arg(long, env = "INVREQD_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert` (PKCS#8, PKCS#1 or SEC1).
    #[arg(long, env = "INVREQD_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// How often the TLS files are read again to pick up a renewed certificate, milliseconds.
    #[arg(long, env = "INVREQD_TLS_RELOAD_INTERVAL_MS", default_value_t = 10_000)]
    pub tls_reload_interval_ms: u64,
    /// Most client connections open at once; beyond it new connections wait in the kernel's
    /// accept queue. Lowered at start to fit the open-file limit if that is smaller.
    #[arg(long, env = "INVREQD_MAX_CONNECTIONS", default_value_t = 1000)]
    pub max_connections: usize,
    /// Seconds a client gets to send a request's headers (HTTP/1.1; also the TLS handshake and
    /// the wait for the next request on a keep-alive connection) before it is closed.
    #[arg(long, env = "INVREQD_HEADER_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub header_read_timeout_secs: u64,
    /// Seconds a connection may stay open with no request in progress (HTTP/1.1 and HTTP/2).
    #[arg(long, env = "INVREQD_IDLE_TIMEOUT_SECS", default_value_t = 60)]
    pub idle_timeout_secs: u64,
    /// Seconds to wait for the next part of a request body; a body shorter than its
    /// `Content-Length` is then answered 400 `invalid_body`.
    #[arg(long, env = "INVREQD_BODY_READ_TIMEOUT_SECS", default_value_t = 10)]
    pub body_read_timeout_secs: u64,
    /// Serve `GET /bench/ceiling`, a bare JSON route for load-test baselines (only built with
    /// the `load-test` feature).
    #[cfg(feature = "load-test")]
    #[arg(long, hide = true)]
    pub bench_ceiling: bool,
}

impl ServeArgs {
    /// The database URL in effect.
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .unwrap_or_else(|| default_database_url(&self.data_dir))
    }

    /// The HTTP layer's settings.
    pub fn api_options(&self) -> ApiOptions {
        ApiOptions {
            body_limit: self.body_limit_bytes,
            rate_limit: NonZeroU32::new(self.rate_limit_per_sec).map(|per_second| RateLimit {
                per_second,
                burst: NonZeroU32::new(self.rate_limit_burst).unwrap_or(per_second),
            }),
            request_timeout: Duration::from_millis(self.request_timeout_ms.max(1)),
            debug_request_delay: (self.debug_request_delay_ms > 0)
                .then(|| Duration::from_millis(self.debug_request_delay_ms)),
        }
    }

    /// The server's limits and timeouts (before fitting the cap to the open-file limit).
    pub fn server_options(&self) -> ServerOptions {
        ServerOptions {
            max_connections: self.max_connections.max(1),
            header_read_timeout: Duration::from_secs(self.header_read_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs.max(1)),
            body_read_timeout: Duration::from_secs(self.body_read_timeout_secs.max(1)),
        }
    }

    /// The TLS files, when HTTPS is configured.
    pub fn tls_files(&self) -> Option<TlsFiles> {
        Some(TlsFiles {
            cert: self.tls_cert.clone()?,
            key: self.tls_key.clone()?,
            reload_interval: Duration::from_millis(self.tls_reload_interval_ms.max(10)),
        })
    }

    /// How to connect to the store.
    pub fn store_options(&self) -> StoreOptions {
        StoreOptions {
            url: self.database_url(),
            max_connections: self.db_max_connections,
            acquire_timeout: Duration::from_secs(self.db_acquire_timeout_secs),
            statement_timeout: Duration::from_secs(self.db_statement_timeout_secs),
            group_commit: self.db_group_commit,
        }
    }

    /// How long one node call may take.
    pub fn node_timeout(&self) -> Duration {
        match self.node_timeout_ms {
            Some(ms) => Duration::from_millis(ms.max(1)),
            None => Duration::from_secs(self.node_timeout_secs),
        }
    }

    /// The service layer's settings.
    pub fn service_config(&self) -> ServiceConfig {
        ServiceConfig {
            limits: Limits {
                max_amount_msat: self.max_amount_msat,
                max_text_bytes: self.max_description_bytes,
                max_expiry_secs: self.max_expiry_secs,
                default_expiry_secs: self.default_expiry_secs,
            },
            node_timeout: self.node_timeout(),
            key_cache_ttl: Duration::from_millis(self.key_cache_ms),
            view_renderer: crate::api::invoicerequests::render_view,
            events: EventSettings {
                retention: Duration::from_secs(self.event_retention_days.saturating_mul(86_400)),
            },
            webhooks: WebhookSettings {
                destinations: DestinationPolicy {
                    allow_http: self.webhook_allow_http,
                    allow_private: self.webhook_allow_private,
                },
                retry_schedule: self.webhook_retry_schedule.0.clone(),
                timeout: Duration::from_millis(self.webhook_timeout_ms.max(1)),
                poll_interval: Duration::from_millis(self.webhook_poll_ms.max(10)),
                ..WebhookSettings::default()
            },
            ..ServiceConfig::default()
        }
    }

    /// Defaults, for tests: listen on a random loopback port, data in `data_dir`.
    pub fn for_tests(data_dir: PathBuf) -> Self {
        /// `serve`'s flags alone, for their defaults.
        #[derive(Parser)]
        struct Defaults {
            #[command(flatten)]
            serve: ServeArgs,
        }
        let mut args = Defaults::parse_from(["invreqd"]).serve;
        args.listen = "127.0.0.1:0".parse().expect("valid address");
        args.data_dir = data_dir;
        args.shutdown_delay_secs = 0;
        args
    }
}
