//! JSON-RPC errors as clnrest renders them: `{"code", "message", "data": null}`.

use serde_json::{Value, json};

/// `JSONRPC2_INVALID_PARAMS`.
pub const INVALID_PARAMS: i64 = -32602;
/// `LIGHTNINGD`, the catch-all.
pub const LIGHTNINGD: i64 = -1;
/// `OFFER_ALREADY_DISABLED`.
pub const OFFER_ALREADY_DISABLED: i64 = 1001;
/// `PAY_INVOICE_REQUEST_INVALID`.
pub const PAY_INVOICE_REQUEST_INVALID: i64 = 212;

/// An RPC error (code `None` for clnrest's own parse errors).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    /// CLN's error code.
    pub code: Option<i64>,
    /// CLN's message text.
    pub message: String,
}

impl RpcError {
    /// An error with a code.
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code: Some(code),
            message: message.into(),
        }
    }

    /// -32602 with CLN's `param` wording: `NAME: should be WHAT: invalid token (see logs for details)`.
    pub fn bad_param(name: &str, what: &str) -> Self {
        Self::new(
            INVALID_PARAMS,
            format!("{name}: {what}: invalid token (see logs for details)"),
        )
    }

    /// The body clnrest sends.
    pub fn body(&self) -> Value {
        json!({"code": self.code, "message": self.message, "data": null})
    }
}

impl std::fmt::Display for RpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.code {
            Some(c) => write!(f, "{c}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for RpcError {}
