//! clnrest's transport: `POST {url}/v1/<method>` with the `Rune` header, TLS trusting only the
//! node's CA, and its answers turned into results (errors by CLN `code`, not HTTP status).

use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::Value;

use crate::node::NodeError;

/// An RPC error as clnrest sends it (HTTP 500, `{code, message, data}`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// CLN's error code (`None` for clnrest's own parse errors).
    pub code: Option<i64>,
    /// CLN's text.
    pub message: String,
}

/// What a call can end with.
#[derive(Debug)]
pub enum CallError {
    /// The node ran the command and refused it.
    Rpc(RpcError),
    /// Anything else (transport, credentials, unknown method), already classified.
    Node(NodeError),
}

impl From<NodeError> for CallError {
    fn from(e: NodeError) -> Self {
        CallError::Node(e)
    }
}

/// A rune, which never shows in `Debug` output or logs.
#[derive(Clone)]
pub struct Rune(String);

impl Rune {
    /// Wraps the rune text (trimmed).
    pub fn new(text: &str) -> Self {
        Self(text.trim().to_owned())
    }
}

impl std::fmt::Debug for Rune {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Rune(***)")
    }
}

/// The HTTPS client of one node.
#[derive(Clone)]
pub struct Transport {
    client: reqwest::Client,
    base: String,
}

impl Transport {
    /// A client that trusts only `ca_pem` and sends `rune` with every call.
    ///
    /// Calls through the `rustls` ring provider: [`crate::startup::init_crypto`] must have run.
    pub fn new(
        url: &str,
        ca_pem: &[u8],
        rune: &Rune,
        connect_timeout: Duration,
    ) -> Result<Self, String> {
        let ca = reqwest::Certificate::from_pem(ca_pem)
            .map_err(|e| format!("the node CA certificate is not valid PEM: {e}"))?;
        let mut rune_value = HeaderValue::from_str(&rune.0)
            .map_err(|_| "the rune file holds characters that cannot go in a header".to_string())?;
        rune_value.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert("Rune", rune_value);
        let client = reqwest::Client::builder()
            .tls_certs_only([ca])
            .default_headers(headers)
            .connect_timeout(connect_timeout)
            .no_proxy()
            .build()
            .map_err(|e| format!("cannot build the HTTPS client: {e}"))?;
        let base = url.trim_end_matches('/').to_owned();
        if !base.starts_with("https://") {
            return Err(format!("the node URL must be https:// (got {base})"));
        }
        Ok(Self { client, base })
    }

    /// Calls `method` with `params`, waiting at most `timeout` for the answer.
    pub async fn call(
        &self,
        method: &'static str,
        params: &Value,
        timeout: Duration,
    ) -> Result<Value, CallError> {
        let res = self
            .client
            .post(format!("{}/v1/{method}", self.base))
            .json(params)
            .timeout(timeout)
            .send()
            .await
            .map_err(transport_error)?;
        let status = res.status().as_u16();
        let body = res.bytes().await.map_err(transport_error)?;
        let json: Option<Value> = serde_json::from_slice(&body).ok();
        match status {
            201 | 200 => json.ok_or_else(|| {
                CallError::Node(NodeError::Other(format!(
                    "{method}: the node's answer is not JSON"
                )))
            }),
            401 | 403 => Err(CallError::Node(NodeError::Unauthorized(format!(
                "{method}: {}",
                error_text(json.as_ref(), status)
            )))),
            404 => Err(CallError::Node(NodeError::Unsupported(method))),
            _ => match json.as_ref().and_then(rpc_error) {
                Some(e) if status == 500 => Err(CallError::Rpc(e)),
                _ => Err(CallError::Node(NodeError::Other(format!(
                    "{method}: HTTP {status}: {}",
                    error_text(json.as_ref(), status)
                )))),
            },
        }
    }
}

fn rpc_error(v: &Value) -> Option<RpcError> {
    Some(RpcError {
        code: v.get("code").and_then(Value::as_i64),
        message: v.get("message")?.as_str()?.to_owned(),
    })
}

fn error_text(v: Option<&Value>, status: u16) -> String {
    v.and_then(rpc_error)
        .map(|e| match e.code {
            Some(c) => format!("{} (code {c})", e.message),
            None => e.message,
        })
        .unwrap_or_else(|| format!("HTTP {status}"))
}

/// A transport failure: `Unreachable` only when the request provably never reached the node
/// (no connection); any other failure leaves the outcome unknown and counts as `Timeout`.
fn transport_error(e: reqwest::Error) -> CallError {
    let e = if e.is_connect() {
        NodeError::Unreachable(source_chain(&e))
    } else {
        NodeError::Timeout
    };
    CallError::Node(e)
}

fn source_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        text.push_str(": ");
        text.push_str(&s.to_string());
        cur = s.source();
    }
    text
}
