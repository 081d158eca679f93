//! The bearer scheme in the OpenAPI document, and on every protected operation its security
//! requirement and its 401, 403 and 429 answers.

use serde_json::json;
use utoipa::Modify;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{OpenApi, Response};

use super::is_public;

/// The name of the scheme in `components.securitySchemes`.
pub const SCHEME: &str = "bearer";

/// Declares the bearer scheme (utoipa `Modify`, for the document's frame).
pub struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, api: &mut OpenApi) {
        api.components.get_or_insert_with(Default::default).add_security_scheme(
            SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("ird_<key id>_<secret>")
                    .description(Some(
                        "An API key (`invreqd keys create`, `POST /v1/keys`, or the bootstrap admin key in the data directory).",
                    ))
                    .build(),
            ),
        );
    }
}

fn problem(description: &str, extra: serde_json::Value) -> Response {
    let mut v = json!({
        "description": description,
        "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    });
    if let (Some(o), Some(e)) = (v.as_object_mut(), extra.as_object()) {
        o.extend(e.clone());
    }
    serde_json::from_value(v).expect("a valid OpenAPI response")
}

/// Marks every operation of a non-public path as protected: security and 401/403/429.
/// Applied to the finished document, so no route can be left out.
pub fn protect(api: &mut OpenApi) {
    for (path, item) in api.paths.paths.iter_mut() {
        if is_public(path) {
            continue;
        }
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
            &mut item.head,
            &mut item.options,
            &mut item.trace,
        ];
        for op in ops.into_iter().flatten() {
            op.security = Some(vec![SecurityRequirement::new(SCHEME, Vec::<String>::new())]);
            let r = &mut op.responses.responses;
            r.entry("401".into()).or_insert_with(|| {
                problem(
                    "No API key, or one that is malformed, unknown, expired or revoked (`WWW-Authenticate: Bearer`).",
                    json!({"headers": {"WWW-Authenticate": {"schema": {"type": "string"}, "description": "Bearer challenge (RFC 6750)"}}}),
                )
                .into()
            });
            r.entry("403".into()).or_insert_with(|| {
                problem(
                    "The key lacks the scope this route needs (`missing_scope`), or a spending limit would be exceeded (`limit_per_request`, `limit_daily`, `limit_outstanding`, with `remaining_msat`).",
                    json!({}),
                )
                .into()
            });
            r.entry("429".into()).or_insert_with(|| {
                problem(
                    "The key's request rate is exceeded (`rate_limited`).",
                    json!({"headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait"}}}),
                )
                .into()
            });
        }
    }
}
