//! Reading a gRPC status from cln-grpc: CLN's RPC error travels only inside the status text.
//!
//! Observed on v26.06.6 (notes/cln-live.md §8a): every RPC error is status UNKNOWN (2) with the
//! details `Error calling method DisableInvoiceRequest: RpcError { code: Some(-1), message:
//! "Unknown invoice_request", data: None }`. Anything else is the transport: a connection that
//! could not be made (the call never reached the node), a refused client certificate, or a call
//! whose outcome is unknown (deadline, reset, lost connection).

use tonic::{Code, Status};

use crate::node::NodeError;

/// CLN's error inside a status: its code (if any) and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClnError {
    /// CLN's JSON-RPC code, e.g. -32602, -1, 1001.
    pub code: Option<i64>,
    /// CLN's message text.
    pub message: String,
}

/// What a failed call means.
#[derive(Debug)]
pub enum Failure {
    /// CLN ran the method and refused it.
    Cln(ClnError),
    /// Anything else, already mapped.
    Node(NodeError),
}

/// Parses `… RpcError { code: Some(N), message: "…", data: … }` out of a status message.
pub fn cln_error(text: &str) -> Option<ClnError> {
    let rest = &text[text.find("RpcError {")? + "RpcError {".len()..];
    let code = match rest.trim_start().strip_prefix("code: ") {
        Some(c) if c.starts_with("Some(") => {
            let inner = &c["Some(".len()..];
            let end = inner.find(')')?;
            Some(inner[..end].trim().parse::<i64>().ok()?)
        }
        Some(c) if c.starts_with("None") => None,
        _ => return None,
    };
    let m = &rest[rest.find("message: \"")? + "message: \"".len()..];
    // The message is a Rust debug string: read up to the closing unescaped quote.
    let mut message = String::new();
    let mut chars = m.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next()? {
                'n' => message.push('\n'),
                't' => message.push('\t'),
                'r' => message.push('\r'),
                other => message.push(other),
            },
            '"' => return Some(ClnError { code, message }),
            c => message.push(c),
        }
    }
    None
}

fn chain(e: &(dyn std::error::Error + 'static)) -> (String, bool) {
    let mut text = e.to_string();
    let mut refused = false;
    let mut cur = e.source();
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        refused |= connect_failed(io.kind());
    }
    while let Some(s) = cur {
        text.push_str(": ");
        text.push_str(&s.to_string());
        if let Some(io) = s.downcast_ref::<std::io::Error>() {
            refused |= connect_failed(io.kind());
        }
        cur = s.source();
    }
    (text, refused)
}

fn connect_failed(kind: std::io::ErrorKind) -> bool {
    use std::io::ErrorKind::*;
    matches!(kind, ConnectionRefused | AddrNotAvailable | NotFound)
}

/// Maps a status to what the caller can do about it.
pub fn classify(status: &Status) -> Failure {
    if status.code() == Code::Unknown
        && let Some(e) = cln_error(status.message())
    {
        return Failure::Cln(e);
    }
    let (source, refused) = match std::error::Error::source(status) {
        Some(s) => chain(s),
        None => (String::new(), false),
    };
    let text = format!("{} {source}", status.message());
    let lower = text.to_ascii_lowercase();
    let node = match status.code() {
        Code::Unauthenticated | Code::PermissionDenied => NodeError::Unauthorized(text),
        _ if lower.contains("certificate")
            || lower.contains("handshake")
            || lower.contains("fatal alert") =>
        {
            // The TLS handshake failed, or the node refused our client certificate right after
            // it (a TLS 1.3 alert on the first read): no call ran.
            NodeError::Unauthorized(format!("the TLS handshake failed: {text}"))
        }
        Code::Unavailable if refused || lower.contains("tcp connect error") => {
            NodeError::Unreachable(text)
        }
        Code::Unimplemented => NodeError::Other(format!("the node lacks the method: {text}")),
        _ => NodeError::Timeout,
    };
    Failure::Node(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_observed_status_texts() {
        let e = cln_error(r#"Error calling method DisableInvoiceRequest: RpcError { code: Some(-1), message: "Unknown invoice_request", data: None }"#).unwrap();
        assert_eq!(e.code, Some(-1));
        assert_eq!(e.message, "Unknown invoice_request");
        let e = cln_error(r#"Error calling method DisableInvoiceRequest: RpcError { code: Some(1001), message: "invoice_request is not active", data: None }"#).unwrap();
        assert_eq!(e.code, Some(1001));
        let e = cln_error(r#"Error calling method InvoiceRequest: RpcError { code: Some(-32602), message: "description: should be a string (without \\u): invalid token (see logs for details)", data: None }"#).unwrap();
        assert_eq!(e.code, Some(-32602));
        assert_eq!(
            e.message,
            r"description: should be a string (without \u): invalid token (see logs for details)"
        );
        assert!(cln_error("transport error").is_none());
        assert!(cln_error("RpcError { code: Some(x), message: \"a\" }").is_none());
        assert!(cln_error("RpcError { code: Some(1), message: \"unterminated").is_none());
    }

    #[test]
    fn unknown_without_an_rpc_error_is_an_unknown_outcome() {
        let s = Status::unknown("h2 protocol error");
        assert!(matches!(classify(&s), Failure::Node(NodeError::Timeout)));
        let s = Status::from_error(Box::new(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "received fatal alert: DecryptError",
        )));
        assert!(matches!(
            classify(&s),
            Failure::Node(NodeError::Unauthorized(_))
        ));
        let s = Status::deadline_exceeded("Deadline Exceeded");
        assert!(matches!(classify(&s), Failure::Node(NodeError::Timeout)));
        let s = Status::unknown(
            r#"Error calling method X: RpcError { code: Some(-32602), message: "bad", data: None }"#,
        );
        assert!(matches!(
            classify(&s),
            Failure::Cln(ClnError {
                code: Some(-32602),
                ..
            })
        ));
    }
}
