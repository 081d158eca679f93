//! Every route's error answers in the OpenAPI document, from one table: for each operation the
//! [`ErrorCode`]s it can answer with, grouped by status. Each status gets one response whose
//! schema is the shared `Problem` with `code` narrowed to that route's codes at that status, so
//! a generated client (and schemathesis) knows exactly which codes can come back.

use std::collections::BTreeMap;

use serde_json::json;
use utoipa::openapi::OpenApi;

use super::auth::is_public;
use crate::error_code::ErrorCode as C;

/// Codes every authenticated route can answer with (the auth middleware, the request timeout,
/// the store behind the key check).
const AUTHENTICATED: &[C] = &[
    C::Unauthenticated,
    C::InvalidApiKey,
    C::ApiKeyExpired,
    C::ApiKeyRevoked,
    C::MissingScope,
    C::RateLimited,
    C::RequestTimeout,
    C::StoreUnavailable,
];

/// Codes every route can answer with (the header limit, a caught panic).
const EVERY_ROUTE: &[C] = &[C::RequestHeadersTooLarge, C::Internal];

/// Codes of reading a JSON body ([`super::extract::ApiJson`]).
const JSON_BODY: &[C] = &[
    C::UnsupportedMediaType,
    C::BodyTooLarge,
    C::InvalidBody,
    C::InvalidJson,
    C::UnknownField,
    C::InvalidField,
];

/// Codes of a node call.
const NODE: &[C] = &[
    C::NodeError,
    C::NodeCredentialsRefused,
    C::NodeUnavailable,
    C::NodeTimeout,
    C::Unsupported,
];

/// The codes of one operation beyond the shared ones.
fn route_codes(method: &str, path: &str) -> Vec<C> {
    let own: &[&[C]] = match (method, path) {
        ("post", "/v1/invoicerequests") => &[
            JSON_BODY,
            &[
                C::InvalidParameter,
                C::LimitPerRequest,
                C::LimitDaily,
                C::LimitOutstanding,
                C::LabelTaken,
                C::IdempotencyKeyReused,
                C::IdempotencyInProgress,
                C::NodeMismatch,
            ],
            NODE,
        ],
        ("get", "/v1/invoicerequests") | ("get", "/v1/keys") => &[&[C::InvalidParameter]],
        ("get", "/v1/invoicerequests/{invreq_id}") => &[&[C::InvalidParameter, C::NotFound]],
        ("delete", "/v1/invoicerequests/{invreq_id}") => &[
            &[
                C::InvalidParameter,
                C::NotFound,
                C::AlreadyInactive,
                C::PaymentInFlight,
            ],
            NODE,
        ],
        ("post", "/v1/decode") => &[JSON_BODY, &[C::InvalidBolt12]],
        ("post", "/v1/keys") => &[JSON_BODY],
        ("delete", "/v1/keys/{key_id}") => &[&[
            C::InvalidParameter,
            C::KeyNotFound,
            C::AlreadyRevoked,
            C::LastAdminKey,
        ]],
        ("get", "/v1/invoicerequests/{invreq_id}/qr") => {
            &[&[C::InvalidParameter, C::NotFound, C::Bolt12Unavailable]]
        }
        ("post", "/v1/invoicerequests/{invreq_id}/claim") => {
            &[&[C::InvalidParameter, C::NotFound, C::AlreadyInactive]]
        }
        ("delete", "/v1/invoicerequests/{invreq_id}/claim") => {
            &[&[C::InvalidParameter, C::NotFound]]
        }
        ("get", "/v1/events") => &[&[C::InvalidParameter]],
        ("post", "/v1/webhooks") => &[JSON_BODY],
        ("get", "/v1/webhooks/{webhook_id}")
        | ("delete", "/v1/webhooks/{webhook_id}")
        | ("post", "/v1/webhooks/{webhook_id}/test")
        | ("get", "/v1/webhooks/{webhook_id}/deliveries") => {
            &[&[C::InvalidParameter, C::WebhookNotFound]]
        }
        ("post", "/v1/webhooks/{webhook_id}/events/{event_id}/resend") => {
            &[&[C::InvalidParameter, C::WebhookNotFound, C::EventNotFound]]
        }
        ("get", "/claim/{token}/status") => &[&[
            C::InvalidParameter,
            C::ClaimNotFound,
            C::ClaimRevoked,
            C::StoreUnavailable,
        ]],
        ("get", "/claim/{token}/qr.svg") => &[&[
            C::ClaimNotFound,
            C::ClaimRevoked,
            C::ClaimUnavailable,
            C::StoreUnavailable,
        ]],
        _ => &[],
    };
    let mut codes: Vec<C> = own.iter().flat_map(|c| c.iter().copied()).collect();
    if !is_public(path) {
        codes.extend_from_slice(AUTHENTICATED);
    }
    codes.extend_from_slice(EVERY_ROUTE);
    codes
}

/// Adds each operation's error responses (one per status, listing its codes); a status the
/// route's annotation already describes (readiness's 503) is left as it is.
pub fn document_errors(api: &mut OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        let ops = [
            ("get", &mut item.get),
            ("post", &mut item.post),
            ("put", &mut item.put),
            ("delete", &mut item.delete),
            ("patch", &mut item.patch),
        ];
        for (method, op) in ops {
            let Some(op) = op else { continue };
            let mut by_status: BTreeMap<u16, Vec<C>> = BTreeMap::new();
            for code in route_codes(method, path) {
                let codes = by_status.entry(code.status()).or_default();
                if !codes.contains(&code) {
                    codes.push(code);
                }
            }
            for (status, codes) in by_status {
                let key = status.to_string();
                if op.responses.responses.contains_key(&key) {
                    continue;
                }
                op.responses
                    .responses
                    .insert(key, response(status, &codes).into());
            }
        }
    }
}

fn response(status: u16, codes: &[C]) -> utoipa::openapi::Response {
    let names: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    let list = codes
        .iter()
        .map(|c| format!("`{}` ({})", c.as_str(), c.title()))
        .collect::<Vec<_>>()
        .join("; ");
    let mut v = json!({
        "description": format!("A problem (RFC 9457) with one of these codes: {list}."),
        "content": {"application/problem+json": {"schema": {
            "allOf": [
                {"$ref": "#/components/schemas/Problem"},
                {"type": "object", "properties": {
                    "code": {"type": "string", "enum": names},
                    "status": {"type": "integer", "const": status}
                }}
            ]
        }}}
    });
    let headers = match status {
        401 => Some(
            json!({"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer challenge (RFC 6750)"}}),
        ),
        429 => Some(
            json!({"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}}),
        ),
        _ => None,
    };
    if let (Some(h), Some(o)) = (headers, v.as_object_mut()) {
        o.insert("headers".into(), h);
    }
    serde_json::from_value(v).expect("a valid OpenAPI response")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_is_documented_on_some_route() {
        let routes = [
            ("post", "/v1/invoicerequests"),
            ("get", "/v1/invoicerequests"),
            ("get", "/v1/invoicerequests/{invreq_id}"),
            ("delete", "/v1/invoicerequests/{invreq_id}"),
            ("post", "/v1/decode"),
            ("post", "/v1/keys"),
            ("get", "/v1/keys"),
            ("delete", "/v1/keys/{key_id}"),
            ("get", "/v1/invoicerequests/{invreq_id}/qr"),
            ("post", "/v1/invoicerequests/{invreq_id}/claim"),
            ("get", "/claim/{token}/qr.svg"),
            ("get", "/claim/{token}/status"),
            ("get", "/v1/events"),
            ("post", "/v1/webhooks/{webhook_id}/events/{event_id}/resend"),
        ];
        let documented: Vec<C> = routes.iter().flat_map(|(m, p)| route_codes(m, p)).collect();
        for code in C::ALL {
            // Answered by the router itself for paths and methods no operation describes.
            if matches!(code, C::RouteNotFound | C::MethodNotAllowed) {
                continue;
            }
            assert!(documented.contains(code), "{code} is on no route");
        }
    }
}
