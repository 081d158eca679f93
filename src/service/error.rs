//! Errors of the service layer.

use super::keys::AuthError;
use crate::auth::Limit;
use crate::error_code::ErrorCode;
use crate::node::NodeError;
use crate::store::{LimitExceeded, StoreError};

/// A client input that breaks a rule; names the offending field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    /// The request field at fault (`amount`, `description`, …).
    pub field: String,
    /// A sentence that says what is wrong and what is accepted.
    pub message: String,
}

impl ValidationError {
    /// A rule broken by `field`.
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Everything the service can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// The request broke a rule.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// No invoice request with that id (for this client).
    #[error("no invoice request with id {0}")]
    NotFound(String),
    /// The invoice request is no longer active.
    #[error("invoice request {0} is already inactive")]
    AlreadyInactive(String),
    /// A payment for the invoice request is in flight: it cannot be disabled until it settles.
    #[error("invoice request {0} has a payment in flight; disable it once the payment has settled")]
    PaymentInFlight(String),
    /// The label is taken by another invoice request.
    #[error("label {0:?} is already used by another invoice request")]
    LabelTaken(String),
    /// The idempotency key was used with another request body.
    #[error("Idempotency-Key was already used with a different request body")]
    IdempotencyMismatch,
    /// A request with this idempotency key is still being processed.
    #[error("a request with this Idempotency-Key is still in progress")]
    IdempotencyInProgress,
    /// The node did not answer in time; the outcome is settled later.
    #[error("the node did not answer in time; invoice request {invreq_id} is pending")]
    NodeTimeout {
        /// The id the request will have if the node created it.
        invreq_id: String,
    },
    /// The node answered with something we cannot accept.
    #[error("the node returned an invoice request that does not match what was asked: {0}")]
    NodeMismatch(String),
    /// The calling key's spending ceiling would be passed.
    #[error("spending limit: {0}")]
    LimitExceeded(LimitExceeded),
    /// No claim page with that token (never issued, or malformed).
    #[error("no claim page with this token")]
    ClaimNotFound,
    /// The claim page's token was rotated away or revoked.
    #[error("this claim page's token was replaced or revoked")]
    ClaimRevoked,
    /// No API key with that id.
    #[error("no API key with id {0}")]
    KeyNotFound(String),
    /// The API key was revoked before.
    #[error("API key {0} is already revoked")]
    KeyAlreadyRevoked(String),
    /// No webhook endpoint with that id (for this client).
    #[error("no webhook endpoint with id {0}")]
    WebhookNotFound(String),
    /// No event with that id (for this client).
    #[error("no event with id {0}")]
    EventNotFound(String),
    /// Revoking this key would leave no active admin key (nobody could manage keys over HTTP).
    #[error(
        "API key {0} is the last active admin key; create another admin key before revoking it"
    )]
    LastAdminKey(String),
    /// The node failed.
    #[error(transparent)]
    Node(#[from] NodeError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl ServiceError {
    /// The code the caller sees (and the audit trail records).
    pub fn code(&self) -> ErrorCode {
        use ErrorCode as C;
        match self {
            ServiceError::Validation(_) => C::InvalidField,
            ServiceError::NotFound(_) => C::NotFound,
            ServiceError::AlreadyInactive(_) => C::AlreadyInactive,
            ServiceError::PaymentInFlight(_) => C::PaymentInFlight,
            ServiceError::LabelTaken(_) => C::LabelTaken,
            ServiceError::IdempotencyMismatch => C::IdempotencyKeyReused,
            ServiceError::IdempotencyInProgress => C::IdempotencyInProgress,
            ServiceError::NodeTimeout { .. } => C::NodeTimeout,
            ServiceError::NodeMismatch(_) => C::NodeMismatch,
            ServiceError::LimitExceeded(l) => match l.limit {
                Limit::PerRequest => C::LimitPerRequest,
                Limit::Daily => C::LimitDaily,
                Limit::Outstanding => C::LimitOutstanding,
            },
            ServiceError::KeyNotFound(_) => C::KeyNotFound,
            ServiceError::KeyAlreadyRevoked(_) => C::AlreadyRevoked,
            ServiceError::LastAdminKey(_) => C::LastAdminKey,
            ServiceError::WebhookNotFound(_) => C::WebhookNotFound,
            ServiceError::EventNotFound(_) => C::EventNotFound,
            ServiceError::ClaimNotFound => C::ClaimNotFound,
            ServiceError::ClaimRevoked => C::ClaimRevoked,
            ServiceError::Node(n) => node_code(n),
            ServiceError::Store(StoreError::Unavailable(_)) => C::StoreUnavailable,
            ServiceError::Store(_) => C::Internal,
        }
    }

    /// What the caller is told: what went wrong and what it can do. Never the node's or the
    /// database's own text (it can name hosts, parameters or SQL): that stays in [`Self::cause`].
    pub fn detail(&self) -> String {
        match self {
            ServiceError::NodeTimeout { invreq_id } => format!(
                "{self}; GET /v1/invoicerequests/{invreq_id} shows the outcome once it is settled"
            ),
            ServiceError::LimitExceeded(l) => {
                let what = match l.limit {
                    Limit::PerRequest => "per request",
                    Limit::Daily => "per rolling 24 hours",
                    Limit::Outstanding => "outstanding at once",
                };
                format!(
                    "this API key may promise at most {}msat {what}; {}msat remain",
                    l.limit_msat, l.remaining_msat
                )
            }
            ServiceError::Node(n) => match n {
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
            },
            ServiceError::Store(StoreError::Unavailable(_)) => {
                "the database cannot be reached; retry later".into()
            }
            ServiceError::Store(_) => "an internal error occurred; it has been logged".into(),
            other => other.to_string(),
        }
    }

    /// The internal cause, for the service log only (`None` when [`Self::detail`] says it all).
    pub fn cause(&self) -> Option<String> {
        match self {
            ServiceError::Node(_) | ServiceError::Store(_) | ServiceError::NodeMismatch(_) => {
                Some(self.to_string())
            }
            _ => None,
        }
    }

    /// The request field at fault, when there is one.
    pub fn field(&self) -> Option<&str> {
        match self {
            ServiceError::Validation(v) => Some(&v.field),
            ServiceError::LabelTaken(_) => Some("label"),
            ServiceError::LimitExceeded(_) => Some("amount"),
            _ => None,
        }
    }

    /// The invoice request concerned, when the caller needs its id to follow up.
    pub fn invreq_id(&self) -> Option<&str> {
        match self {
            ServiceError::AlreadyInactive(id)
            | ServiceError::PaymentInFlight(id)
            | ServiceError::NodeTimeout { invreq_id: id } => Some(id),
            _ => None,
        }
    }

    /// The spending ceiling that refused the request, when one did.
    pub fn limit(&self) -> Option<&LimitExceeded> {
        match self {
            ServiceError::LimitExceeded(l) => Some(l),
            _ => None,
        }
    }
}

/// What a node failure means to the caller.
fn node_code(e: &NodeError) -> ErrorCode {
    use ErrorCode as C;
    match e {
        NodeError::UnknownInvoiceRequest(_) => C::NotFound,
        NodeError::NotActive => C::AlreadyInactive,
        NodeError::PaymentInFlight => C::PaymentInFlight,
        NodeError::Unauthorized(_) => C::NodeCredentialsRefused,
        NodeError::Unreachable(_) => C::NodeUnavailable,
        NodeError::Timeout => C::NodeTimeout,
        NodeError::Unsupported(_) => C::Unsupported,
        NodeError::CouldNotCreate(_) | NodeError::BadParams(_) | NodeError::Other(_) => {
            C::NodeError
        }
    }
}

impl AuthError {
    /// The code the caller sees: every refusal is a 401; a store failure is the store's.
    pub fn code(&self) -> ErrorCode {
        match self {
            AuthError::Malformed | AuthError::Unknown => ErrorCode::InvalidApiKey,
            AuthError::Expired => ErrorCode::ApiKeyExpired,
            AuthError::Revoked => ErrorCode::ApiKeyRevoked,
            AuthError::Store(s) => match s {
                StoreError::Unavailable(_) => ErrorCode::StoreUnavailable,
                _ => ErrorCode::Internal,
            },
        }
    }
}
