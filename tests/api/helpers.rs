//! Spawning the real app on a random loopback port and talking HTTP to it.

use std::net::SocketAddr;

use invreqd::config::ServeArgs;
use invreqd::startup::{Application, init_crypto};
use serde_json::Value;

/// A running app with its own data directory.
pub struct TestApp {
    pub addr: SocketAddr,
    pub client: reqwest::Client,
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
    TestApp {
        addr,
        client: reqwest::Client::new(),
        data_dir,
        shutdown: Some(tx),
        handle: Some(handle),
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
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
