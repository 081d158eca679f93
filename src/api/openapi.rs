//! The OpenAPI document's frame (paths come from the route annotations).

use utoipa::OpenApi;

use super::auth::openapi::BearerScheme;

/// Title, version, description and tags.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "invreqd",
        description = "BOLT12 invoice requests (`lnr1…`) over HTTP, on top of Core Lightning. The contract is CLN's `invoicerequest` command. Errors are RFC 9457 problems (`application/problem+json`) with a stable `code`.",
        license(name = "MIT"),
    ),
    tags(
        (name = "invoicerequests", description = "Create, list, get and disable invoice requests"),
        (name = "claim", description = "Claim pages for the person being paid (public: the secret token in the path is the credential)"),
        (name = "decode", description = "Read an lnr1… string"),
        (name = "keys", description = "API keys: create, list, revoke (scope `admin`)"),
        (name = "operations", description = "Health, readiness and Prometheus metrics"),
    ),
    components(schemas(super::error::Problem, crate::error_code::ErrorCode)),
    modifiers(&BearerScheme)
)]
pub struct ApiDoc;

/// The document before routes are added.
pub fn base() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}
