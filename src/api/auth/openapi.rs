//! The bearer scheme in the OpenAPI document, and on every protected operation its security
//! requirement and its 401, 403 and 429 answers.

use utoipa::Modify;
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};

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

/// Marks every operation of a non-public path as protected (its error answers come from
/// [`crate::api::errors_doc`]).
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
        }
    }
}
