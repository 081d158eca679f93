//! Spawning the real app on a random loopback port and talking HTTP to it.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Mutex, OnceLock};

use invreqd::config::ServeArgs;
use invreqd::startup::{Application, init_crypto};
use serde_json::{Value, json};

/// Everything every test app logged (one global subscriber for the test binary), so a test can
/// check that no key or `lnr1…` string ever reaches the logs.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogBuffer;

impl Write for LogBuffer {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the capturing subscriber once (debug level, as an operator chasing a bug would).
pub fn capture_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,hyper=info,hyper_util=info,h2=info,rustls=info",
            ))
            .with_writer(|| LogBuffer)
            .with_ansi(false)
            .try_init();
    });
}

/// What has been logged so far.
pub fn logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

/// A running app with its own data directory.
pub struct TestApp {
    pub addr: SocketAddr,
    /// Sends the `default` tenant's key with every request (read, write, disable; no limits).
    pub client: reqwest::Client,
    /// Sends no key.
    pub anon: reqwest::Client,
    /// The bootstrap admin key (scope `admin`).
    pub admin_key: String,
    /// The key `client` sends.
    pub key: String,
    pub data_dir: tempfile::TempDir,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

/// Starts the app with default settings (dev signer, SQLite in a temp dir).
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the app after `tweak` adjusts the settings.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut ServeArgs)) -> TestApp {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut args = ServeArgs::for_tests(dir.path().to_path_buf());
    tweak(&mut args);
    start(args, dir).await
}

/// Starts the app on the given settings and data directory.
pub async fn start(args: ServeArgs, data_dir: tempfile::TempDir) -> TestApp {
    capture_logs();
    init_crypto();
    let app = Application::build(&args).await.expect("app builds");
    let addr = app.local_addr();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        app.run_until(async {
            let _ = rx.await;
        })
        .await
        .expect("app runs");
    });
    let admin_key = std::fs::read_to_string(data_dir.path().join("bootstrap-admin.key"))
        .expect("the bootstrap admin key is written to the data directory")
        .trim()
        .to_string();
    let mut app = TestApp {
        addr,
        client: reqwest::Client::new(),
        anon: reqwest::Client::new(),
        admin_key,
        key: String::new(),
        data_dir,
        shutdown: Some(tx),
        handle: Some(handle),
    };
    let (key, _) = app
        .create_key(&json!({
            "name": "tests", "tenant": "default",
            "scopes": ["invoicerequests:read", "invoicerequests:write", "invoicerequests:disable"]
        }))
        .await;
    app.client = client_with_key(&key);
    app.key = key;
    app
}

/// A client that sends `key` as its bearer token with every request.
pub fn client_with_key(key: &str) -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {key}").parse().expect("header value"),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .expect("client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Creates an API key with the admin key; returns the key and the 201 body.
    pub async fn create_key(&self, body: &Value) -> (String, Value) {
        let res = self
            .anon
            .post(self.url("/v1/keys"))
            .bearer_auth(&self.admin_key)
            .json(body)
            .send()
            .await
            .expect("request sent");
        assert_eq!(res.status(), 201, "create key {body}");
        let created: Value = res.json().await.expect("json");
        let key = created["api_key"].as_str().expect("api_key").to_string();
        (key, created)
    }

    /// A client for a new key of `tenant` with the invoicerequests scopes and these limits
    /// (`{"max_daily_msat": …}` etc.).
    pub async fn tenant_client(&self, tenant: &str, limits: Value) -> reqwest::Client {
        let mut body = json!({
            "name": format!("{tenant} key"), "tenant": tenant,
            "scopes": ["invoicerequests:read", "invoicerequests:write", "invoicerequests:disable"]
        });
        body.as_object_mut()
            .unwrap()
            .extend(limits.as_object().cloned().unwrap_or_default());
        client_with_key(&self.create_key(&body).await.0)
    }

    /// Stops serving and hands back the data directory (to restart on the same store).
    pub async fn stop(mut self) -> tempfile::TempDir {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(h) = self.handle.take() {
            let _ = h.await;
        }
        let dir = tempfile::tempdir().expect("temp dir");
        std::mem::replace(&mut self.data_dir, dir)
    }

    pub async fn post_json(&self, path: &str, body: &Value) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .json(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn post_raw(
        &self,
        path: &str,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        self.client
            .post(self.url(path))
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .expect("request sent")
    }

    pub async fn create(&self, body: &Value) -> reqwest::Response {
        self.post_json("/v1/invoicerequests", body).await
    }

    /// Creates and returns the 201 body.
    pub async fn create_ok(&self, body: &Value) -> Value {
        let res = self.create(body).await;
        assert_eq!(res.status(), 201, "create {body}");
        res.json().await.expect("json")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.client
            .delete(self.url(path))
            .send()
            .await
            .expect("request sent")
    }

    /// Every record, walking the list's pages.
    pub async fn list_all(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(c) => format!("/v1/invoicerequests?limit=1000&cursor={c}"),
                None => "/v1/invoicerequests?limit=1000".to_string(),
            };
            let page: Value = self.get(&path).await.json().await.expect("json");
            out.extend(
                page["invoicerequests"]
                    .as_array()
                    .expect("array")
                    .iter()
                    .cloned(),
            );
            match page["next_cursor"].as_str() {
                Some(c) => cursor = Some(c.to_string()),
                None => return out,
            }
        }
    }
}

/// Asserts a problem+json answer with a status and code; returns its body.
pub async fn assert_problem(res: reqwest::Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let body: Value = res.json().await.expect("problem json");
    assert_eq!(ct, "application/problem+json", "content type of {body}");
    assert_eq!(body["code"], code, "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

/// The seed's request.
pub fn seed_request() -> Value {
    serde_json::json!({"amount": "10000sat", "description": "simple test", "issuer": "clightning test suite"})
}
