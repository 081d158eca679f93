//! The one place where errors become HTTP responses: RFC 9457 `application/problem+json`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::auth::{Limit, LimitExceeded, Scope};
use crate::node::NodeError;
use crate::service::{AuthError, ServiceError, ValidationError};
use crate::store::StoreError;

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
    /// A short summary of the problem type.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time.
    pub detail: String,
    /// Stable machine-readable code; clients branch on this, never on `detail`.
    pub code: &'static str,
    /// The request field at fault, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// The invoice request concerned (e.g. a create whose outcome is pending).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invreq_id: Option<String>,
    /// The scope the request needs (`missing_scope`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required_scope: Option<String>,
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

/// An error the API answers with.
#[derive(Debug)]
pub struct ApiError(Box<Problem>);

impl ApiError {
    /// A problem with a status, a code, a title and a detail.
    pub fn new(
        status: StatusCode,
        code: &'static str,
        title: &'static str,
        detail: impl Into<String>,
    ) -> Self {
        Self(Box::new(Problem {
            kind: format!("urn:invreqd:problem:{code}"),
            title,
            status: status.as_u16(),
            detail: detail.into(),
            code,
            field: None,
            invreq_id: None,
            required_scope: None,
            limit_msat: None,
            remaining_msat: None,
            retry_after_secs: None,
        }))
    }

    /// Names the field at fault.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.0.field = Some(field.into());
        self
    }

    /// Names the invoice request concerned.
    pub fn with_invreq_id(mut self, id: impl Into<String>) -> Self {
        self.0.invreq_id = Some(id.into());
        self
    }

    /// The problem body.
    pub fn problem(&self) -> &Problem {
        &self.0
    }

    /// 400 for a field that breaks a rule.
    pub fn invalid_field(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            "A field is invalid",
            detail,
        )
        .with_field(field)
    }

    /// 400 for a malformed path or query parameter.
    pub fn invalid_parameter(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "invalid_parameter",
            "A parameter is invalid",
            detail,
        )
        .with_field(field)
    }

    /// 401: no usable API key; the response carries `WWW-Authenticate: Bearer`.
    pub fn unauthenticated(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            code,
            "Authentication required",
            detail,
        )
    }

    /// 403: the key lacks the scope the route needs.
    pub fn missing_scope(scope: Scope) -> Self {
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            "missing_scope",
            "The API key lacks a scope",
            format!("this request needs an API key with scope {scope}"),
        );
        e.0.required_scope = Some(scope.as_str().to_owned());
        e
    }

    /// 429: the key's rate limit; retry after `secs`.
    pub fn rate_limited(secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            "Too many requests",
            format!("this API key's request rate is exceeded; retry in {secs} s"),
        );
        e.0.retry_after_secs = Some(secs);
        e
    }

    /// 503: the request took longer than the server allows.
    pub fn request_timeout(limit: std::time::Duration) -> Self {
        Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "request_timeout",
            "The request took too long",
            format!(
                "the request did not complete within {} ms; a create may still complete: retry with the same Idempotency-Key",
                limit.as_millis()
            ),
        )
    }

    /// 404 for an unknown invoice request.
    pub fn not_found(invreq_id: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "No such invoice request",
            format!("no invoice request with id {invreq_id}"),
        )
    }
}

impl From<ValidationError> for ApiError {
    fn from(e: ValidationError) -> Self {
        let code = if e.message.starts_with("unknown field") {
            "unknown_field"
        } else {
            "invalid_field"
        };
        Self::new(
            StatusCode::BAD_REQUEST,
            code,
            "A field is invalid",
            e.message,
        )
        .with_field(e.field)
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let detail = e.to_string();
        let code = match e {
            AuthError::Malformed | AuthError::Unknown => "invalid_api_key",
            AuthError::Expired => "api_key_expired",
            AuthError::Revoked => "api_key_revoked",
            AuthError::Store(s) => return s.into(),
        };
        Self::unauthenticated(code, detail)
    }
}

impl From<LimitExceeded> for ApiError {
    fn from(l: LimitExceeded) -> Self {
        let (code, what) = match l.limit {
            Limit::PerRequest => ("limit_per_request", "per request"),
            Limit::Daily => ("limit_daily", "per rolling 24 hours"),
            Limit::Outstanding => ("limit_outstanding", "outstanding at once"),
        };
        let mut e = Self::new(
            StatusCode::FORBIDDEN,
            code,
            "A spending limit of this API key would be exceeded",
            format!(
                "this API key may promise at most {}msat {what}; {}msat remain",
                l.limit_msat, l.remaining_msat
            ),
        )
        .with_field("amount");
        e.0.limit_msat = Some(l.limit_msat);
        e.0.remaining_msat = Some(l.remaining_msat);
        e
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(_) => {
                tracing::warn!(error = %e, "store unavailable");
                Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "store_unavailable",
                    "The database is unavailable",
                    "the database cannot be reached; retry later",
                )
            }
            other => internal(&other),
        }
    }
}

impl From<NodeError> for ApiError {
    fn from(e: NodeError) -> Self {
        use StatusCode as S;
        let (status, code, title) = match &e {
            NodeError::UnknownInvoiceRequest(_) => {
                (S::NOT_FOUND, "not_found", "No such invoice request")
            }
            NodeError::NotActive => (
                S::CONFLICT,
                "already_inactive",
                "The invoice request is not active",
            ),
            NodeError::PaymentInFlight => (
                S::CONFLICT,
                "payment_in_flight",
                "A payment for the invoice request is in flight",
            ),
            NodeError::Unauthorized(_) => (
                S::BAD_GATEWAY,
                "node_credentials_refused",
                "The node refused our credentials",
            ),
            NodeError::Unreachable(_) => (
                S::SERVICE_UNAVAILABLE,
                "node_unavailable",
                "The node is unreachable",
            ),
            NodeError::Timeout => (
                S::GATEWAY_TIMEOUT,
                "node_timeout",
                "The node did not answer in time",
            ),
            NodeError::Unsupported(_) => (
                S::NOT_IMPLEMENTED,
                "unsupported",
                "Not supported by this node",
            ),
            NodeError::CouldNotCreate(_) | NodeError::BadParams(_) | NodeError::Other(_) => {
                (S::BAD_GATEWAY, "node_error", "The node failed")
            }
        };
        // The node's own text can name its URL, host or parameters: it goes to the log only.
        let detail = match &e {
            NodeError::UnknownInvoiceRequest(id) => {
                format!("the node does not know invoice request {id}")
            }
            NodeError::NotActive => "the invoice request is not active on the node".into(),
            NodeError::PaymentInFlight => {
                "a payment for the invoice request is in flight; retry once it settled".into()
            }
            NodeError::Unauthorized(_) => {
                "the node refused our credentials; the operator must check the rune".into()
            }
            NodeError::Unreachable(_) => "the node is unreachable; retry later".into(),
            NodeError::Timeout => "the node did not answer in time".into(),
            NodeError::Unsupported(what) => format!("this node cannot {what}"),
            NodeError::CouldNotCreate(_) | NodeError::BadParams(_) | NodeError::Other(_) => {
                "the node failed; the service log has the details".into()
            }
        };
        if status.is_server_error() {
            tracing::warn!(error = %e, code, "node error");
        }
        Self::new(status, code, title, detail)
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        use StatusCode as S;
        match e {
            ServiceError::Validation(v) => v.into(),
            ServiceError::NotFound(id) => Self::not_found(&id),
            ServiceError::AlreadyInactive(ref id) => {
                let id = id.clone();
                Self::new(
                    S::CONFLICT,
                    "already_inactive",
                    "The invoice request is not active",
                    e.to_string(),
                )
                .with_invreq_id(id)
            }
            ServiceError::PaymentInFlight(ref id) => {
                let id = id.clone();
                Self::new(
                    S::CONFLICT,
                    "payment_in_flight",
                    "A payment for the invoice request is in flight",
                    e.to_string(),
                )
                .with_invreq_id(id)
            }
            ServiceError::LabelTaken(_) => Self::new(
                S::CONFLICT,
                "label_taken",
                "The label is taken",
                e.to_string(),
            )
            .with_field("label"),
            ServiceError::IdempotencyMismatch => Self::new(
                S::CONFLICT,
                "idempotency_key_reused",
                "Idempotency-Key reused with another body",
                e.to_string(),
            ),
            ServiceError::IdempotencyInProgress => Self::new(
                S::CONFLICT,
                "idempotency_in_progress",
                "A request with this Idempotency-Key is in progress",
                e.to_string(),
            ),
            ServiceError::NodeTimeout { ref invreq_id } => {
                let id = invreq_id.clone();
                Self::new(
                    S::GATEWAY_TIMEOUT,
                    "node_timeout",
                    "The node did not answer in time",
                    format!(
                        "{e}; GET /v1/invoicerequests/{id} shows the outcome once it is settled"
                    ),
                )
                .with_invreq_id(id)
            }
            ServiceError::NodeMismatch(_) => {
                tracing::error!(error = %e, "node answer rejected");
                Self::new(
                    S::BAD_GATEWAY,
                    "node_mismatch",
                    "The node's answer did not verify",
                    e.to_string(),
                )
            }
            ServiceError::LimitExceeded(l) => l.into(),
            ServiceError::ClaimNotFound => Self::new(
                S::NOT_FOUND,
                "claim_not_found",
                "No such claim page",
                e.to_string(),
            ),
            ServiceError::ClaimRevoked => Self::new(
                S::GONE,
                "claim_revoked",
                "This claim page is no longer valid",
                e.to_string(),
            ),
            ServiceError::KeyNotFound(_) => Self::new(
                S::NOT_FOUND,
                "key_not_found",
                "No such API key",
                e.to_string(),
            ),
            ServiceError::KeyAlreadyRevoked(_) => Self::new(
                S::CONFLICT,
                "already_revoked",
                "The API key is already revoked",
                e.to_string(),
            ),
            ServiceError::WebhookNotFound(_) => Self::new(
                S::NOT_FOUND,
                "webhook_not_found",
                "No such webhook endpoint",
                e.to_string(),
            ),
            ServiceError::EventNotFound(_) => Self::new(
                S::NOT_FOUND,
                "event_not_found",
                "No such event",
                e.to_string(),
            ),
            ServiceError::LastAdminKey(_) => Self::new(
                S::CONFLICT,
                "last_admin_key",
                "The last active admin key cannot be revoked",
                e.to_string(),
            ),
            ServiceError::Node(n) => n.into(),
            ServiceError::Store(s) => s.into(),
        }
    }
}

/// A 500 whose detail stays in the logs.
pub fn internal(e: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(error = %e, "internal error");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "Internal error",
        "an internal error occurred; it has been logged",
    )
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_vec(&*self.0).unwrap_or_default();
        let mut res = (status, body).into_response();
        let headers = res.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        match status {
            // RFC 6750 §3: a missing key gets the bare challenge, a bad one `invalid_token`.
            StatusCode::UNAUTHORIZED => {
                let challenge = if self.0.code == "unauthenticated" {
                    "Bearer realm=\"invreqd\""
                } else {
                    "Bearer realm=\"invreqd\", error=\"invalid_token\""
                };
                headers.insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
            }
            StatusCode::FORBIDDEN if self.0.code == "missing_scope" => {
                let scope = self.0.required_scope.as_deref().unwrap_or("");
                if let Ok(v) = HeaderValue::from_str(&format!(
                    "Bearer realm=\"invreqd\", error=\"insufficient_scope\", scope=\"{scope}\""
                )) {
                    headers.insert(header::WWW_AUTHENTICATE, v);
                }
            }
            StatusCode::TOO_MANY_REQUESTS => {
                if let Some(secs) = self.0.retry_after_secs {
                    headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
                }
            }
            _ => {}
        }
        res
    }
}
