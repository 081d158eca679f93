//! Errors of the service layer.

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
