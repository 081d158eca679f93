//! Support for tests against the CLN REST double: the app configured for `--node cln-rest`,
//! a service built directly on an app's store (to run the reconciler), and an app that can be
//! killed mid-request (its own runtime, shut down at once).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use cln_double::{ClnDouble, DoubleOptions};
use invreqd::config::{BuildModeArg, NodeKind, ServeArgs};
use invreqd::node::cln_grpc::{ClnGrpc, ClnGrpcConfig};
use invreqd::node::cln_rest::{ClnRest, ClnRestConfig, Rune};
use invreqd::node::{BuildMode, Node};
use invreqd::service::Service;
use invreqd::startup::{Application, init_crypto};
use invreqd::store::Store;

use crate::helpers::{TestApp, start};

/// How the app reaches the double: the paths every CLN suite runs over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodePath {
    /// clnrest, the service builds and the node signs (`createinvoicerequest`).
    RestServiceBuilt,
    /// clnrest, the node builds (`invoicerequest`, `--cln-build-mode node`).
    RestNodeBuilt,
    /// cln-grpc with mutual TLS (node-built: `CreateInvoiceRequest`).
    Grpc,
}

impl NodePath {
    /// The node method a create calls.
    pub fn create_method(self) -> &'static str {
        match self {
            NodePath::RestServiceBuilt => "createinvoicerequest",
            _ => "invoicerequest",
        }
    }

    /// Whether the node builds the requests (its label is then the service's own key).
    pub fn node_built(self) -> bool {
        self != NodePath::RestServiceBuilt
    }
}

/// One `#[tokio::test]` per CLN path, each running `$body(path)`.
#[macro_export]
macro_rules! on_every_cln_path {
    ($name:ident, $body:path) => {
        mod $name {
            use $crate::cln_support::NodePath;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rest_service_built() {
                $body(NodePath::RestServiceBuilt).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rest_node_built() {
                $body(NodePath::RestNodeBuilt).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn grpc() {
                $body(NodePath::Grpc).await
            }
        }
    };
}

/// Calls of `createinvoicerequest` and of `disableinvoicerequest` each start of the app makes to
/// check that the rune allows them (on an empty string and an all-zero id, which the node
/// refuses without changing anything).
pub const RUNE_PROBES: u64 = 1;

/// Starts a double with default options (regtest, v26.06.6-modded, `recurrence_label`).
pub async fn start_double() -> ClnDouble {
    start_double_with(DoubleOptions::default()).await
}

/// Starts a double.
pub async fn start_double_with(opts: DoubleOptions) -> ClnDouble {
    init_crypto();
    ClnDouble::start(opts).await.expect("double starts")
}

/// Points `args` at the double: writes its CA and rune into `dir`, short timeouts.
pub fn use_double(args: &mut ServeArgs, double: &ClnDouble, dir: &Path) {
    let ca = dir.join("cln-ca.pem");
    let rune = dir.join("cln.rune");
    std::fs::write(&ca, double.ca_pem()).expect("write CA");
    std::fs::write(&rune, format!("{}\n", double.rune())).expect("write rune");
    args.node = NodeKind::ClnRest;
    args.cln_rest_url = Some(double.url());
    args.cln_ca_cert = Some(ca);
    args.cln_rune_file = Some(rune);
    args.node_timeout_ms = Some(1500);
    args.cln_wait_secs = 5;
}

/// Points `args` at the double over `path`: writes its CA, rune and gRPC client files into `dir`.
pub fn use_double_on(args: &mut ServeArgs, double: &ClnDouble, dir: &Path, path: NodePath) {
    use_double(args, double, dir);
    match path {
        NodePath::RestServiceBuilt => {}
        NodePath::RestNodeBuilt => {
            args.cln_build_mode = BuildModeArg::Node;
            let rune = dir.join("cln.rune");
            std::fs::write(&rune, double.rune_for(&cln_double::NODE_BUILT_METHODS))
                .expect("write rune");
        }
        NodePath::Grpc => {
            let cert = dir.join("cln-client.pem");
            let key = dir.join("cln-client-key.pem");
            std::fs::write(&cert, double.client_cert_pem()).expect("write client cert");
            std::fs::write(&key, double.client_key_pem()).expect("write client key");
            args.node = NodeKind::ClnGrpc;
            args.cln_grpc_url = Some(double.grpc_url());
            args.cln_client_cert = Some(cert);
            args.cln_client_key = Some(key);
        }
    }
}

/// The app in front of the double over `path`, after `tweak`.
pub async fn spawn_cln_app_on(
    double: &ClnDouble,
    path: NodePath,
    tweak: impl FnOnce(&mut ServeArgs),
) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args = ServeArgs::for_tests(dir.path().to_path_buf());
    use_double_on(&mut args, double, dir.path(), path);
    tweak(&mut args);
    start(args, dir).await
}

/// The settings an app on `data_dir` in front of `double` over `path` runs with.
pub fn cln_args_on(double: &ClnDouble, data_dir: &Path, path: NodePath) -> ServeArgs {
    let mut args = ServeArgs::for_tests(data_dir.to_path_buf());
    use_double_on(&mut args, double, data_dir, path);
    args
}

/// A client of the double over `path`, as the app builds it.
pub async fn node_on(double: &ClnDouble, path: NodePath, timeout: Duration) -> Arc<dyn Node> {
    init_crypto();
    match path {
        NodePath::Grpc => Arc::new(
            ClnGrpc::connect(ClnGrpcConfig {
                url: double.grpc_url(),
                ca_pem: double.ca_pem().as_bytes().to_vec(),
                client_cert_pem: double.client_cert_pem().as_bytes().to_vec(),
                client_key_pem: double.client_key_pem().as_bytes().to_vec(),
                network: invreqd::bolt12::Network::Regtest,
                timeout,
            })
            .await
            .expect("gRPC client connects"),
        ),
        _ => Arc::new(
            ClnRest::connect(ClnRestConfig {
                url: double.url(),
                rune: Rune::new(&if path.node_built() {
                    double.rune_for(&cln_double::NODE_BUILT_METHODS)
                } else {
                    double.rune()
                }),
                ca_pem: double.ca_pem().as_bytes().to_vec(),
                network: invreqd::bolt12::Network::Regtest,
                timeout,
                build_mode: if path.node_built() {
                    BuildMode::NodeBuilt
                } else {
                    BuildMode::ServiceBuilt
                },
            })
            .await
            .expect("node client connects"),
        ),
    }
}

/// A service on the store of the app on `data_dir`, reaching the double over `path`.
pub async fn service_on_path(double: &ClnDouble, data_dir: &Path, path: NodePath) -> Service {
    let args = cln_args_on(double, data_dir, path);
    let store = Store::connect(&args.store_options()).await.expect("store");
    let node = node_on(double, path, Duration::from_secs(5)).await;
    Service::new(store, node, args.service_config())
}

/// The app in front of the double.
pub async fn spawn_cln_app(double: &ClnDouble) -> TestApp {
    spawn_cln_app_with(double, |_| {}).await
}

/// The app in front of the double, after `tweak`.
pub async fn spawn_cln_app_with(double: &ClnDouble, tweak: impl FnOnce(&mut ServeArgs)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args = ServeArgs::for_tests(dir.path().to_path_buf());
    use_double(&mut args, double, dir.path());
    tweak(&mut args);
    start(args, dir).await
}

/// The settings an app on `data_dir` in front of `double` runs with.
pub fn cln_args(double: &ClnDouble, data_dir: &Path) -> ServeArgs {
    let mut args = ServeArgs::for_tests(data_dir.to_path_buf());
    use_double(&mut args, double, data_dir);
    args
}

/// A client of the double, as the app builds it.
pub async fn cln_node(double: &ClnDouble, timeout: Duration) -> ClnRest {
    init_crypto();
    ClnRest::connect(ClnRestConfig {
        url: double.url(),
        rune: Rune::new(&double.rune()),
        ca_pem: double.ca_pem().as_bytes().to_vec(),
        network: invreqd::bolt12::Network::Regtest,
        timeout,
        build_mode: invreqd::node::BuildMode::ServiceBuilt,
    })
    .await
    .expect("node client connects")
}

/// A service on the store of the app whose data directory is `data_dir` (to run the reconciler).
pub async fn service_on(double: &ClnDouble, data_dir: &Path) -> Service {
    let args = cln_args(double, data_dir);
    let store = Store::connect(&args.store_options()).await.expect("store");
    let node: Arc<dyn Node> = Arc::new(cln_node(double, Duration::from_secs(5)).await);
    Service::new(store, node, args.service_config())
}

/// An app on its own runtime, so that it can be killed mid-request like a crashed process.
pub struct KillableApp {
    pub addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl KillableApp {
    /// Builds and serves the app on a fresh two-thread runtime.
    pub fn start(args: ServeArgs) -> Self {
        init_crypto();
        let (runtime, addr) = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            let app = rt.block_on(Application::build(&args)).expect("app builds");
            let addr = app.local_addr();
            rt.spawn(app.run_until(std::future::pending()));
            (rt, addr)
        })
        .join()
        .expect("start thread");
        Self {
            addr,
            runtime: Some(runtime),
        }
    }

    /// `http://ADDR/path`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Drops every task of the app at its current await point, as a crash would.
    pub fn kill(mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

impl Drop for KillableApp {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// An API key with the invoice request scopes, made with the app's bootstrap admin key.
pub async fn invoice_request_key(base_url: &str, data_dir: &Path) -> String {
    let admin =
        std::fs::read_to_string(data_dir.join("bootstrap-admin.key")).expect("bootstrap key");
    let res: serde_json::Value = crate::helpers::client_with_key(admin.trim())
        .post(format!("{base_url}/v1/keys"))
        .json(&serde_json::json!({
            "name": "cln tests", "tenant": "default",
            "scopes": ["invoicerequests:read", "invoicerequests:write", "invoicerequests:disable"]
        }))
        .send()
        .await
        .expect("key request")
        .json()
        .await
        .expect("key json");
    res["api_key"].as_str().expect("api_key").to_string()
}
