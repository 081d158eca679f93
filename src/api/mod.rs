//! The HTTP API (axum): routes, DTOs, OpenAPI, and errors mapped to problems.

pub mod auth;
pub mod claim;
pub mod claim_page;
pub mod decode;
pub mod error;
pub mod errors_doc;
pub mod events;
pub mod extract;
pub mod health;
pub mod invoicerequests;
pub mod keys;
pub mod layers;
pub mod metrics;
pub mod openapi;
pub mod qr;
pub mod webhooks;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::error_code::ErrorCode;
use crate::service::Service;
use error::ApiError;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The invoice request service.
    pub service: Service,
    /// Set when shutdown has begun: `/readyz` answers 503.
    pub draining: Arc<AtomicBool>,
    /// Set while this replica runs the background jobs.
    pub is_leader: Arc<AtomicBool>,
}

/// Options of the HTTP layer.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    /// Largest request body, bytes.
    pub body_limit: usize,
    /// Test/drill hook: hold every `/v1/…` request this long before its handler.
    pub debug_request_delay: Option<std::time::Duration>,
    /// Per-API-key rate limit; `None`: none.
    pub rate_limit: Option<auth::RateLimit>,
    /// Longest a request may take before it is answered 503 `request_timeout`.
    pub request_timeout: Duration,
}

impl Default for ApiOptions {
    fn default() -> Self {
        Self {
            body_limit: 16 * 1024,
            debug_request_delay: None,
            rate_limit: None,
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// The API's routes with their OpenAPI description.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(invoicerequests::create, invoicerequests::list))
        .routes(routes!(invoicerequests::get, invoicerequests::disable))
        .routes(routes!(qr::qr))
        .routes(routes!(claim::rotate, claim::revoke))
        .routes(routes!(claim::page))
        .routes(routes!(claim::status))
        .routes(routes!(claim::qr_svg))
        .routes(routes!(claim::script))
        .routes(routes!(claim::style))
        .routes(routes!(decode::decode))
        .routes(routes!(keys::create_key, keys::list_keys))
        .routes(routes!(keys::revoke_key))
        .routes(routes!(events::list_events))
        .routes(routes!(webhooks::create_webhook, webhooks::list_webhooks))
        .routes(routes!(webhooks::get_webhook, webhooks::delete_webhook))
        .routes(routes!(webhooks::test_webhook))
        .routes(routes!(webhooks::list_deliveries))
        .routes(routes!(webhooks::resend))
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .routes(routes!(metrics::metrics))
}

/// The routes and the finished OpenAPI document (protected operations marked).
fn split() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    let (router, mut api) = api_router().split_for_parts();
    auth::openapi::protect(&mut api);
    openapi::add_webhooks(&mut api);
    errors_doc::document_errors(&mut api);
    (router, api)
}

/// The OpenAPI document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    split().1
}

/// The whole application router.
pub fn router(state: AppState, opts: &ApiOptions) -> Router {
    let (router, api) = split();
    let auth_state = auth::AuthState {
        service: state.service.clone(),
        limiter: opts
            .rate_limit
            .map(|l| Arc::new(auth::KeyRateLimiter::new(l))),
    };
    let router = router
        .merge(SwaggerUi::new("/docs").url("/openapi.json", api))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(opts.body_limit))
        // Outermost last: the timeout covers authentication too; request ids, traces and
        // metrics (layers::apply) see every answer, 401s included.
        .layer(middleware::from_fn_with_state(
            auth_state,
            auth::require_api_key,
        ))
        .layer(middleware::from_fn_with_state(
            opts.request_timeout,
            auth::request_timeout,
        ))
        // Sees every error answer, timeouts and 401s included, and logs its cause.
        .layer(middleware::from_fn(error::log_errors))
        .with_state(state);
    layers::apply(router, opts)
}

async fn not_found() -> ApiError {
    ApiError::new(ErrorCode::RouteNotFound, "no route matches this path")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        ErrorCode::MethodNotAllowed,
        "this route does not accept that HTTP method",
    )
}
