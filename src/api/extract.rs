//! Request extractors whose rejections are problems, never axum's plain-text defaults.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::error::ApiError;

/// A JSON object body, with the SHA256 of its raw bytes (for idempotency).
pub struct JsonObject {
    /// The parsed object.
    pub map: Map<String, Value>,
    /// Hex SHA256 of the body as sent.
    pub sha256: String,
}

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let content_type = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        if mime != "application/json"
            && !(mime.starts_with("application/") && mime.ends_with("+json"))
        {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "The body must be JSON",
                format!("Content-Type must be application/json (got {content_type:?})"),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    "The body is too large",
                    rej.body_text(),
                )
            } else {
                ApiError::new(
                    rej.status(),
                    "invalid_body",
                    "The body could not be read",
                    rej.body_text(),
                )
            }
        })?;
        let invalid = |detail: String| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "The body is not valid JSON",
                detail,
            )
        };
        // One parse: a JSON object whose fields are each given once (a field given twice is
        // ambiguous — which amount did a proxy in front of us check?).
        let UniqueKeys(map) = serde_json::from_slice(&bytes)
            .map_err(|e: serde_json::Error| invalid(e.to_string()))?;
        Ok(Self {
            map,
            sha256: hex::encode(Sha256::digest(&bytes)),
        })
    }
}

/// An invoice request id from the path: 64 hex digits (any case), kept lowercase.
pub struct InvreqIdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for InvreqIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::invalid_parameter("invreq_id", e.body_text()))?;
        parse_invreq_id(&raw).map(Self)
    }
}

/// Checks an invoice request id: 64 hex digits; returns it lowercase.
pub fn parse_invreq_id(raw: &str) -> Result<String, ApiError> {
    if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(raw.to_ascii_lowercase())
    } else {
        Err(ApiError::invalid_parameter(
            "invreq_id",
            "invreq_id must be 64 hexadecimal digits (a SHA256)",
        ))
    }
}

/// The raw query string's pairs, for handlers that check each parameter themselves.
pub struct QueryPairs(pub Vec<(String, String)>);

impl<S: Send + Sync> FromRequestParts<S> for QueryPairs {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        Ok(Self(
            form_urlencoded::parse(q.as_bytes()).into_owned().collect(),
        ))
    }
}

/// A JSON object whose top-level keys are all distinct (serde_json keeps the last of duplicates).
///
/// Hand-written: serde_json has no option to refuse duplicate keys.
struct UniqueKeys(Map<String, Value>);

impl<'de> serde::Deserialize<'de> for UniqueKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = UniqueKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object (the body must be an object)")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<UniqueKeys, A::Error> {
                let mut map = Map::new();
                while let Some((k, v)) = a.next_entry::<String, Value>()? {
                    if map.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!(
                            "field {k:?} is given more than once"
                        )));
                    }
                    map.insert(k, v);
                }
                Ok(UniqueKeys(map))
            }
        }
        d.deserialize_map(Visitor)
    }
}
