//! The one error vocabulary: every `code` a problem (RFC 9457) or the audit trail can carry.
//!
//! Clients branch on these codes, never on `detail`. Each code has one HTTP status and one title;
//! `src/api/error.rs` is the only place that turns them into responses. The audit trail records
//! the same codes as the outcome of a refused or failed action.

use serde::Serialize;
use utoipa::ToSchema;

macro_rules! error_codes {
    ($( $(#[$doc:meta])* $variant:ident = ($code:literal, $status:literal, $title:literal), )*) => {
        /// A stable machine-readable error code (snake_case on the wire).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum ErrorCode {
            $( $(#[$doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in the order of the table.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant,)*];

            /// The code as sent: `invalid_field`, `not_found`, …
            pub fn as_str(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            /// The HTTP status the API answers with.
            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// A short summary of the problem type (the problem's `title`).
            pub fn title(self) -> &'static str {
                match self { $(ErrorCode::$variant => $title,)* }
            }
        }
    };
}

error_codes! {
    /// A body field breaks a rule; `field` names it.
    InvalidField = ("invalid_field", 400, "A field is invalid"),
    /// The body has a field the route does not define; `field` names it.
    UnknownField = ("unknown_field", 400, "A field is unknown"),
    /// The body is not JSON, not an object, or gives a field twice.
    InvalidJson = ("invalid_json", 400, "The body is not valid JSON"),
    /// The body could not be read.
    InvalidBody = ("invalid_body", 400, "The body could not be read"),
    /// A path, query or header parameter is malformed, unknown or repeated; `field` names it.
    InvalidParameter = ("invalid_parameter", 400, "A parameter is invalid"),
    /// `bolt12` is not a valid BOLT12 invoice request.
    InvalidBolt12 = ("invalid_bolt12", 400, "Not a valid invoice request"),
    /// No API key was sent.
    Unauthenticated = ("unauthenticated", 401, "Authentication required"),
    /// The API key is malformed or unknown.
    InvalidApiKey = ("invalid_api_key", 401, "Authentication required"),
    /// The API key has expired.
    ApiKeyExpired = ("api_key_expired", 401, "Authentication required"),
    /// The API key was revoked.
    ApiKeyRevoked = ("api_key_revoked", 401, "Authentication required"),
    /// The API key lacks the scope the route needs; `required_scope` names it.
    MissingScope = ("missing_scope", 403, "The API key lacks a scope"),
    /// The key's ceiling for one request would be passed.
    LimitPerRequest = ("limit_per_request", 403, "A spending limit of this API key would be exceeded"),
    /// The key's ceiling over a rolling 24 hours would be passed.
    LimitDaily = ("limit_daily", 403, "A spending limit of this API key would be exceeded"),
    /// The key's ceiling of outstanding requests would be passed.
    LimitOutstanding = ("limit_outstanding", 403, "A spending limit of this API key would be exceeded"),
    /// No invoice request with that id (for this API key's tenant).
    NotFound = ("not_found", 404, "No such invoice request"),
    /// No API key with that id.
    KeyNotFound = ("key_not_found", 404, "No such API key"),
    /// The invoice request has no `lnr1…` string yet (`pending`) or ever (`failed`).
    Bolt12Unavailable = ("bolt12_unavailable", 409, "The invoice request has no lnr1… string"),
    /// The claim page's request is disabled, expired or failed: nothing left to claim.
    ClaimUnavailable = ("claim_unavailable", 410, "This request can no longer be claimed"),
    /// No claim page with that token (never issued, or malformed).
    ClaimNotFound = ("claim_not_found", 404, "No such claim page"),
    /// The claim page's token was replaced or revoked.
    ClaimRevoked = ("claim_revoked", 410, "This claim page is no longer valid"),
    /// No webhook endpoint with that id (for this API key's tenant).
    WebhookNotFound = ("webhook_not_found", 404, "No such webhook endpoint"),
    /// No event with that id (for this API key's tenant), or it is past the retention.
    EventNotFound = ("event_not_found", 404, "No such event"),
    /// No route matches the path.
    RouteNotFound = ("route_not_found", 404, "No such route"),
    /// The route does not accept that method.
    MethodNotAllowed = ("method_not_allowed", 405, "Method not allowed"),
    /// The invoice request is no longer active (disabled, paid, expired or never created).
    AlreadyInactive = ("already_inactive", 409, "The invoice request is not active"),
    /// A payment for the invoice request is in flight: retry once it settled.
    PaymentInFlight = ("payment_in_flight", 409, "A payment for the invoice request is in flight"),
    /// Another invoice request of the tenant has this label.
    LabelTaken = ("label_taken", 409, "The label is taken"),
    /// The Idempotency-Key was used with a different request.
    IdempotencyKeyReused = ("idempotency_key_reused", 409, "Idempotency-Key reused with another request"),
    /// A request with this Idempotency-Key is still being processed.
    IdempotencyInProgress = ("idempotency_in_progress", 409, "A request with this Idempotency-Key is in progress"),
    /// The API key was revoked before.
    AlreadyRevoked = ("already_revoked", 409, "The API key is already revoked"),
    /// Revoking this key would leave no active admin key: create another admin key first.
    LastAdminKey = ("last_admin_key", 409, "The last active admin key cannot be revoked"),
    /// The body is larger than the server accepts.
    BodyTooLarge = ("body_too_large", 413, "The body is too large"),
    /// The body is not `application/json`.
    UnsupportedMediaType = ("unsupported_media_type", 415, "The body must be JSON"),
    /// The API key's request rate is exceeded; `retry_after_secs` says when to retry.
    RateLimited = ("rate_limited", 429, "Too many requests"),
    /// More header fields, or more header bytes, than the server reads.
    RequestHeadersTooLarge = ("request_headers_too_large", 431, "Request header fields too large"),
    /// An internal error; the service log has the details.
    Internal = ("internal", 500, "Internal error"),
    /// The node cannot do this.
    Unsupported = ("unsupported", 501, "Not supported by this node"),
    /// The node failed.
    NodeError = ("node_error", 502, "The node failed"),
    /// The node's answer did not verify.
    NodeMismatch = ("node_mismatch", 502, "The node's answer did not verify"),
    /// The node refused our credentials (an operator must check the rune).
    NodeCredentialsRefused = ("node_credentials_refused", 502, "The node refused our credentials"),
    /// The node is unreachable: retry later.
    NodeUnavailable = ("node_unavailable", 503, "The node is unreachable"),
    /// The database is unavailable: retry later.
    StoreUnavailable = ("store_unavailable", 503, "The database is unavailable"),
    /// The request took longer than the server allows; a create may still complete.
    RequestTimeout = ("request_timeout", 503, "The request took too long"),
    /// The node did not answer in time; `invreq_id` names the request whose outcome GET shows.
    NodeTimeout = ("node_timeout", 504, "The node did not answer in time"),
}

impl std::fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialize_as_their_names_and_are_distinct() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            assert_eq!(
                serde_json::to_value(code).unwrap(),
                serde_json::json!(code.as_str())
            );
            assert!(seen.insert(code.as_str()), "{code} twice");
            assert!((400..600).contains(&code.status()), "{code}");
        }
    }
}
