//! The one place where errors become HTTP responses: RFC 9457 `application/problem+json`.
//!
//! Conversions here have no side effects. An error's internal cause (a node's or a database's
//! own text) travels in the response's extensions as an [`ErrorCause`], and one middleware
//! ([`log_errors`]) logs it — as axum's error-handling example does.

use axum::extract::Request;
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::Scope;
use crate::error_code::ErrorCode;
use crate::service::{AuthError, ServiceError, ValidationError};

/// A problem report (RFC 9457) with a stable machine-readable `code`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "urn:invreqd:problem:invalid_field",
    "title": "A field is invalid",
    "status": 400,
    "detail": "amount must be positive",
    "code": "invalid_field",
    "field": "amount"
}))]
pub struct Problem {
    /// `urn:invreqd:problem:<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    /// A short summary of the problem type (one per `code`).
    pub title: &'static str,
    /// The HTTP status.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// Stable machine-readable code; clients branch on this, never on `detail`.
    pub code: ErrorCode,
    /// The request field or parameter at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The invoice request concerned (e.g. a create whose outcome is pending).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(pattern = "^[0-9a-f]{64}$")]
    pub invreq_id: Option<String>,
    /// The scope the request needs (`missing_scope`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_scope: Option<Scope>,
    /// The spending ceiling that refused the request, msat (`limit_*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub limit_msat: Option<u64>,
    /// The largest amount that would still pass that ceiling now, msat (`limit_*`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining_msat: Option<u64>,
    /// Seconds to wait before retrying (`rate_limited`; also the `Retry-After` header).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_secs: Option<u64>,
}

/// The internal cause of an error answer, for the log only (put in the response's extensions).
#[derive(Debug, Clone)]
pub struct ErrorCause {
    /// The code answered.
    pub code: ErrorCode,
    /// What the log should say (never sent to the client).
    pub cause: String,
}

/// An error the API answers with.
#[derive(Debug)]
pub struct ApiError {
    problem: Box<Problem>,
    cause: Option<String>,
}

impl ApiError {
    /// A problem with a code (which fixes status and title) and a detail.
    pub fn new(code: ErrorCode, detail: impl Into<String>) -> Self {
        Self {
            problem: Box::new(Problem {
                kind: format!("urn:invreqd:problem:{code}"),
                title: code.title(),
                status: code.status(),
                detail: detail.into(),
                code,
                field: None,
                invreq_id: None,
                required_scope: None,
                limit_msat: None,
                remaining_msat: None,
                retry_after_secs: None,
            }),
            cause: None,
        }
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.problem.field = Some(field.into());
        self
    }

    /// Names the invoice request concerned.
    pub fn with_invreq_id(mut self, id: impl Into<String>) -> Self {
        self.problem.invreq_id = Some(id.into());
        self
    }

    /// Keeps an internal cause for the log (never sent).
    pub fn with_cause(mut self, cause: impl Into<String>) -> Self {
        self.cause = Some(cause.into());
        self
    }

    /// The problem body.
    pub fn problem(&self) -> &Problem {
        &self.problem
    }

    /// 400 for a body field that breaks a rule.
    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidField, detail).with_field(field)
    }

    /// 400 for a malformed path, query or header parameter.
    pub fn invalid_parameter(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(ErrorCode::InvalidParameter, detail).with_field(field)
    }

    /// 403: the key lacks the scope the route needs.
    pub fn missing_scope(scope: Scope) -> Self {
        let mut e = Self::new(
            ErrorCode::MissingScope,
            format!("this request needs an API key with scope {scope}"),
        );
        e.problem.required_scope = Some(scope);
        e
    }

    /// 429: the key's rate limit; retry after `secs`.
    pub fn rate_limited(secs: u64) -> Self {
        let mut e = Self::new(
            ErrorCode::RateLimited,
            format!("this API key's request rate is exceeded; retry in {secs} s"),
        );
        e.problem.retry_after_secs = Some(secs);
        e
    }

    /// 503: the request took longer than the server allows.
    pub fn request_timeout(limit: std::time::Duration) -> Self {
        Self::new(
            ErrorCode::RequestTimeout,
            format!(
                "the request did not complete within {} ms; a create may still complete: retry with the same Idempotency-Key",
                limit.as_millis()
            ),
        )
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        Self::invalid_field(e.field, e.message)
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let code = e.code();
        match e {
            AuthError::Store(_) => Self::new(code, "the database cannot be reached; retry later")
                .with_cause(e.to_string()),
            _ => Self::new(code, e.to_string()),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        let mut a = Self::new(e.code(), e.detail());
        a.problem.field = e.field().map(str::to_owned);
        a.problem.invreq_id = e.invreq_id().map(str::to_owned);
        if let Some(l) = e.limit() {
            a.problem.limit_msat = Some(l.limit_msat);
            a.problem.remaining_msat = Some(l.remaining_msat);
        }
        a.cause = e.cause();
        a
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let p = &self.problem;
        let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(p).unwrap_or_default();
        let mut res = (status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match p.code {
            // RFC 6750 §3: a missing key gets the bare challenge, a bad one `invalid_token`.
            ErrorCode::Unauthenticated => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"invreqd\""),
                );
            }
            ErrorCode::InvalidApiKey | ErrorCode::ApiKeyExpired | ErrorCode::ApiKeyRevoked => {
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"invreqd\", error=\"invalid_token\""),
                );
            }
            ErrorCode::MissingScope => {
                let scope = p.required_scope.map(|s| s.as_str()).unwrap_or("");
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "Bearer realm=\"invreqd\", error=\"insufficient_scope\", scope=\"{scope}\""
                )) {
                    headers.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            ErrorCode::RateLimited => {
                if let Some(secs) = p.retry_after_secs {
                    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
            }
            _ => {}
        }
        if status.is_server_error() || self.cause.is_some() {
            let cause = self.cause.unwrap_or_else(|| p.detail.clone());
            res.extensions_mut().insert(ErrorCause {
                code: p.code,
                cause,
            });
        }
        res
    }
}

/// Logs the cause of every error answer that carries one: a server error at `warn` (`internal`
/// and `node_mismatch` at `error`), anything else at `debug`. The one place errors are logged.
pub async fn log_errors(req: Request, next: Next) -> Response {
    let res = next.run(req).await;
    if let Some(e) = res.extensions().get::<ErrorCause>() {
        let code = e.code.as_str();
        match e.code {
            ErrorCode::Internal | ErrorCode::NodeMismatch => {
                tracing::error!(code, error = %e.cause, "request failed")
            }
            c if c.status() >= 500 => tracing::warn!(code, error = %e.cause, "request failed"),
            _ => tracing::debug!(code, error = %e.cause, "request refused"),
        }
    }
    res
}
