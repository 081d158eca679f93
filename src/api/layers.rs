//! The HTTP layers every route gets: request id (taken from `x-request-id` or generated, and
//! sent back), one tracing span per request (method, route template, request id, then status
//! and latency), the HTTP metrics, and the header limits (431 as problem+json).
//!
//! Nothing here logs a path, a query, a header other than the request id, or a body: the route
//! template stands for the path, so neither ids nor `lnr1…` strings reach the logs.

use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderName, Method};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use tracing::Span;

use super::ApiOptions;
use super::error::ApiError;
use crate::error_code::ErrorCode;

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");
const UNMATCHED: &str = "unmatched";

/// Most header fields one request may carry; more is answered 431 `request_headers_too_large`.
pub const MAX_HEADERS: usize = 100;
/// Largest total size of a request's header fields, bytes (each field counts its name, its value
/// and 4 bytes of separators); more is answered 431 `request_headers_too_large`.
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Wraps the router in the request-id, trace and metrics layers (and the test-only delay).
pub fn apply(router: Router, opts: &ApiOptions) -> Router {
    let mut router = router;
    if let Some(delay) = opts.debug_request_delay.filter(|d| !d.is_zero()) {
        router = router.layer(middleware::from_fn(move |req: Request, next: Next| {
            debug_delay(delay, req, next)
        }));
    }
    router
        .layer(middleware::from_fn(limit_headers))
        .layer(middleware::from_fn(record_metrics))
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(make_span)
                .on_request(())
                .on_response(on_response)
                .on_failure(()),
        )
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

fn route_of(req: &Request) -> &str {
    req.extensions()
        .get::<MatchedPath>()
        .map(MatchedPath::as_str)
        .unwrap_or(UNMATCHED)
}

/// A method as a label: the standard ones by name, anything else as `OTHER` (bounded cardinality).
fn method_label(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The request id as it goes into the logs: a client's value only if short and printable.
fn request_id_of(req: &Request) -> &str {
    match req.headers().get(&REQUEST_ID).and_then(|v| v.to_str().ok()) {
        Some(id)
            if !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| b.is_ascii_graphic()) =>
        {
            id
        }
        Some(_) => "invalid",
        None => "",
    }
}

fn make_span(req: &Request) -> Span {
    tracing::info_span!(
        "request",
        method = method_label(req.method()),
        route = route_of(req),
        request_id = request_id_of(req),
        status = tracing::field::Empty,
        latency_ms = tracing::field::Empty,
    )
}

fn on_response(res: &Response, latency: Duration, span: &Span) {
    let status = res.status().as_u16();
    let latency_ms = latency.as_secs_f64() * 1000.0;
    span.record("status", status);
    span.record("latency_ms", latency_ms);
    // The span carries method, route, request id, status and latency.
    if res.status().is_server_error() {
        tracing::warn!("request finished");
    } else {
        tracing::info!("request finished");
    }
}

async fn record_metrics(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = route_of(&req).to_owned();
    let method = method_label(req.method());
    let res = next.run(req).await;
    crate::metrics::http_request(
        route,
        method.to_owned(),
        res.status().as_u16(),
        started.elapsed(),
    );
    res
}

/// Refuses requests with more than [`MAX_HEADERS`] header fields or more than
/// [`MAX_HEADER_BYTES`] of them: 431 (RFC 6585 §5) as problem+json. The server's own parser
/// ceilings (`crate::server::HARD_MAX_HEADERS`, `HARD_MAX_HEADER_BYTES`) lie above these.
async fn limit_headers(req: Request, next: Next) -> Response {
    let headers = req.headers();
    let count = headers.len();
    let bytes: usize = headers
        .iter()
        .map(|(name, value)| name.as_str().len() + value.len() + 4)
        .sum();
    if count > MAX_HEADERS || bytes > MAX_HEADER_BYTES {
        return ApiError::new(
            ErrorCode::RequestHeadersTooLarge,
            format!(
                "at most {MAX_HEADERS} header fields of at most {MAX_HEADER_BYTES} bytes in all \
                 (got {count} fields, {bytes} bytes)"
            ),
        )
        .into_response();
    }
    next.run(req).await
}

/// `--debug-request-delay-ms`: holds every `/v1/…` request before its handler, so that tests
/// (and drills) can have requests in flight at shutdown. Off unless set.
async fn debug_delay(delay: Duration, req: Request, next: Next) -> Response {
    if route_of(&req).starts_with("/v1/") {
        tokio::time::sleep(delay).await;
    }
    next.run(req).await
}
