//! Strict request extractors: typed bodies ([`ApiJson`]), query strings ([`ApiQuery`]) and path
//! ids ([`ApiPath`]) whose rejections are problems, never axum's plain-text defaults.
//!
//! What they guarantee, for every route: the body is `application/json` (or `+json`), a JSON
//! object that gives each member once (at any depth — which `amount` did a proxy in front of us
//! check?); no member or parameter the type does not define; each value of its type, the
//! problem naming the field from the `serde_path_to_error` path.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::header;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::error::ApiError;
use crate::error_code::ErrorCode;
use crate::service::ValidationError;

/// A typed JSON body, read strictly (see the module doc).
pub struct ApiJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
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
                ErrorCode::UnsupportedMediaType,
                format!("Content-Type must be application/json (got {content_type:?})"),
            ));
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rej| {
            let code = if rej.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ErrorCode::BodyTooLarge
            } else {
                ErrorCode::InvalidBody
            };
            ApiError::new(code, rej.body_text())
        })?;
        let StrictValue(value) = serde_json::from_slice(&bytes)
            .map_err(|e: serde_json::Error| ApiError::new(ErrorCode::InvalidJson, e.to_string()))?;
        let Value::Object(map) = value else {
            return Err(ApiError::new(
                ErrorCode::InvalidJson,
                "the body must be a JSON object",
            ));
        };
        let fields = fields_of::<T>();
        if let Some(unknown) = map.keys().find(|k| !fields.contains(&k.as_str())) {
            return Err(ApiError::new(
                ErrorCode::UnknownField,
                format!(
                    "unknown field {unknown:?}; the fields are {}",
                    fields.join(", ")
                ),
            )
            .with_field(unknown.clone()));
        }
        serde_path_to_error::deserialize(Value::Object(map))
            .map(Self)
            .map_err(|e| {
                let field = top_field(e.path());
                ApiError::invalid_field(field.clone(), format!("{field}: {}", e.inner()))
            })
    }
}

/// A typed query string: each parameter given once, none the type does not define.
pub struct ApiQuery<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        let q = parts.uri.query().unwrap_or("");
        let fields = fields_of::<T>();
        let mut seen: Vec<String> = Vec::new();
        for (name, _) in form_urlencoded::parse(q.as_bytes()) {
            if !fields.contains(&name.as_ref()) {
                return Err(ApiError::invalid_parameter(
                    name.clone(),
                    format!(
                        "unknown query parameter {name:?}; the parameters are {}",
                        fields.join(", ")
                    ),
                ));
            }
            if seen.iter().any(|s| *s == name) {
                return Err(ApiError::invalid_parameter(
                    name.clone(),
                    format!("{name} is given more than once"),
                ));
            }
            seen.push(name.into_owned());
        }
        let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(q.as_bytes()));
        serde_path_to_error::deserialize(de).map(Self).map_err(|e| {
            let field = top_field(e.path());
            ApiError::invalid_parameter(field.clone(), format!("{field}: {}", e.inner()))
        })
    }
}

/// A path parameter parsed into its type (an id newtype): a malformed one is a 400
/// `invalid_parameter` naming the rule.
pub struct ApiPath<T>(pub T);

impl<S: Send + Sync, T> FromRequestParts<S> for ApiPath<T>
where
    T: std::str::FromStr<Err = ValidationError>,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(raw) =
            axum::extract::Path::<String>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::invalid_parameter("path", e.body_text()))?;
        raw.parse()
            .map(Self)
            .map_err(|e: ValidationError| ApiError::invalid_parameter(e.field, e.message))
    }
}

/// Hex SHA256 of a request's canonical form: its typed value serialized (members in the type's
/// order, no whitespace, each value in one spelling), so the same request sent with members
/// reordered, other whitespace or another spelling of the same value has the same fingerprint.
pub fn fingerprint<T: Serialize>(request: &T) -> String {
    let canonical = serde_json::to_vec(request).unwrap_or_default();
    hex::encode(Sha256::digest(canonical))
}

/// The first segment of a `serde_path_to_error` path: the top-level member at fault.
fn top_field(path: &serde_path_to_error::Path) -> String {
    match path.iter().next() {
        Some(serde_path_to_error::Segment::Map { key }) => key.clone(),
        Some(serde_path_to_error::Segment::Enum { variant }) => variant.clone(),
        _ => "body".to_owned(),
    }
}

/// The member names a struct type deserializes (read from its `Deserialize` impl, which hands
/// them to `deserialize_struct`; serde has no other way to list them).
fn fields_of<T: DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{Error as _, Visitor, value::Error};
    struct Introspect<'a>(&'a mut &'static [&'static str]);
    impl<'de> serde::Deserializer<'de> for Introspect<'_> {
        type Error = Error;
        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Error> {
            Err(Error::custom("not a struct"))
        }
        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _: &'static str,
            fields: &'static [&'static str],
            _: V,
        ) -> Result<V::Value, Error> {
            *self.0 = fields;
            Err(Error::custom("introspection only"))
        }
        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }
    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Introspect(&mut fields));
    fields
}

/// A JSON value whose objects, at every depth, give each member once (serde_json would keep
/// the last of duplicates). Hand-written: serde_json has no option to refuse them.
struct StrictValue(Value);

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = StrictValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON value")
            }
            fn visit_bool<E>(self, v: bool) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::Bool(v)))
            }
            fn visit_i64<E>(self, v: i64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(v)))
            }
            fn visit_u64<E>(self, v: u64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(v)))
            }
            fn visit_f64<E>(self, v: f64) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::from(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::String(v.to_owned())))
            }
            fn visit_string<E>(self, v: String) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::String(v)))
            }
            fn visit_unit<E>(self) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::Null))
            }
            fn visit_none<E>(self) -> Result<StrictValue, E> {
                Ok(StrictValue(Value::Null))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<StrictValue, A::Error> {
                let mut items = Vec::new();
                while let Some(StrictValue(v)) = a.next_element()? {
                    items.push(v);
                }
                Ok(StrictValue(Value::Array(items)))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<StrictValue, A::Error> {
                let mut map = Map::new();
                while let Some(k) = a.next_key::<String>()? {
                    if map.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!(
                            "field {k:?} is given more than once"
                        )));
                    }
                    let StrictValue(v) = a.next_value()?;
                    map.insert(k, v);
                }
                Ok(StrictValue(Value::Object(map)))
            }
        }
        d.deserialize_any(V)
    }
}
