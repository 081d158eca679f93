//! Claim pages: the payee's side of an invoice request.
//!
//! Public, keyed by the page's secret token (no API key): `GET /claim/{token}` (HTML),
//! `GET /claim/{token}/status` (JSON, long-poll), `GET /claim/{token}/qr.svg`, and the page's
//! script and style sheet under `/claim/assets/`. Managed with an API key (write scope):
//! `POST /v1/invoicerequests/{invreq_id}/claim` (new token, the old one retired) and
//! `DELETE /v1/invoicerequests/{invreq_id}/claim` (revoke).
//!
//! Every claim response is `Cache-Control: no-store`, `X-Robots-Tag: noindex, nofollow`,
//! `Referrer-Policy: no-referrer` (the token is in the URL), framed by nobody, and the pages
//! carry a Content-Security-Policy that allows same-origin script, style, images and fetches
//! only — no inline script or style, no external asset (the page works offline behind a proxy).
//! Logs see the route template (`/claim/{token}`), never the token.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::CanWrite;
use super::claim_page::{render_notice, render_page};
use super::error::{ApiError, Problem};
use super::extract::{ApiPath, ApiQuery};
use super::invoicerequests::InvoiceRequestBody;
use super::qr::qr_response;
use crate::error_code::ErrorCode;
use crate::qr::{Qr, QrFormat};
use crate::service::Status;
use crate::service::{ClaimToken, InvreqId};
use crate::service::{ClaimView, MAX_CLAIM_WAIT, ServiceError, unix_now};

/// The page's Content-Security-Policy: same-origin script, style, images and fetches; nothing
/// inline, nothing external, no framing, no forms, no `<base>`.
pub const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";
/// The CSP of the JSON and image answers: nothing at all.
const DATA_CSP: &str = "default-src 'none'; frame-ancestors 'none'";

/// CSS pixels of the QR image on the page.
const PAGE_QR_SIZE: u32 = 320;

const JS: &str = include_str!("claim_assets/claim.js");
const CSS: &str = include_str!("claim_assets/claim.css");

/// The live status of a claim page.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({"status": "paid", "paid_at": 1764115260, "absolute_expiry": 1764118800, "now": 1764115261}))]
pub struct ClaimStatusBody {
    /// `pending`, `open`, `paying`, `paid`, `disabled`, `expired` or `failed`.
    pub status: Status,
    /// Seconds since 1970 when it was paid, once paid.
    pub paid_at: Option<u64>,
    /// Seconds since 1970 after which it can no longer be claimed.
    pub absolute_expiry: Option<u64>,
    /// The server's clock, seconds since 1970 (for a countdown on a device whose clock is off).
    pub now: u64,
}

/// Query parameters of the status long-poll: each at most once, no others.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ClaimStatusParams {
    /// The status the caller knows: the answer is held until the status differs (or `wait`
    /// passes). Without it, the answer is immediate.
    #[param(inline)]
    pub since: Option<Status>,
    /// Longest hold, seconds, 0 to 20 (default 20).
    #[param(minimum = 0, maximum = 20)]
    pub wait: Option<u64>,
}

impl ClaimStatusParams {
    /// The status to wait past and the longest hold.
    ///
    /// # Errors
    /// `invalid_parameter` naming `wait` when it exceeds [`MAX_CLAIM_WAIT`].
    fn resolve(self) -> Result<(Option<Status>, Duration), ApiError> {
        let wait = match self.wait {
            None => MAX_CLAIM_WAIT,
            Some(w) if w <= MAX_CLAIM_WAIT.as_secs() => Duration::from_secs(w),
            Some(_) => {
                return Err(ApiError::invalid_parameter(
                    "wait",
                    format!(
                        "wait must be a whole number of seconds from 0 to {}",
                        MAX_CLAIM_WAIT.as_secs()
                    ),
                ));
            }
        };
        Ok((self.since, wait))
    }
}

/// The token of a claim URL; a malformed one leads nowhere, like an unknown one (404).
fn claim_token(raw: &str) -> Result<ClaimToken, ServiceError> {
    raw.parse().map_err(|_| ServiceError::ClaimNotFound)
}

fn set_common(headers: &mut HeaderMap, csp: &'static str) {
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(
        HeaderName::from_static("x-robots-tag"),
        HeaderValue::from_static("noindex, nofollow"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
    );
}

fn html(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    set_common(h, PAGE_CSP);
    res
}

/// The friendly page for a token that does not lead to a claimable request, with its status.
fn notice_for(e: &ServiceError) -> Response {
    match e {
        ServiceError::ClaimNotFound => html(
            StatusCode::NOT_FOUND,
            render_notice(
                "Payment link not found",
                "This link does not lead to a payment. Check that it was copied in full, or ask the sender for a new link.",
                None,
            ),
        ),
        ServiceError::ClaimRevoked => html(
            StatusCode::GONE,
            render_notice(
                "This payment link is no longer valid",
                "The sender replaced or withdrew this link. Ask them for a new one.",
                None,
            ),
        ),
        e => {
            tracing::warn!(error = %e, "claim page unavailable");
            let mut res = html(
                StatusCode::SERVICE_UNAVAILABLE,
                render_notice(
                    "Temporarily unavailable",
                    "This page cannot be shown right now. Please try again in a minute.",
                    None,
                ),
            );
            res.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("30"));
            res
        }
    }
}

/// The page for a request that cannot be claimed (any more), or `None` when it can be shown.
fn notice_for_status(view: &ClaimView) -> Option<Response> {
    let r = &view.record;
    let (status, title, message, retry) = match r.status {
        Status::Open | Status::Paying | Status::Paid => return None,
        Status::Disabled => (
            StatusCode::GONE,
            "This payment was withdrawn",
            "The sender cancelled this payment before it was claimed. Ask them if you expected it."
                .to_owned(),
            None,
        ),
        Status::Expired => (
            StatusCode::GONE,
            "This payment link has expired",
            match r.absolute_expiry {
                Some(e) => format!(
                    "It could be claimed until {}. Ask the sender for a new link.",
                    super::claim_page::format_utc(e)
                ),
                None => "Ask the sender for a new link.".to_owned(),
            },
            None,
        ),
        Status::Failed => (
            StatusCode::GONE,
            "This payment could not be prepared",
            "The sender's node did not create it. Ask the sender for a new link.".to_owned(),
            None,
        ),
        Status::Pending => (
            StatusCode::SERVICE_UNAVAILABLE,
            "This payment is being prepared",
            "It will be ready in a few seconds; this page reloads by itself.".to_owned(),
            Some(3),
        ),
    };
    let mut res = html(status, render_notice(title, &message, retry));
    if let Some(s) = retry {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    Some(res)
}

/// The claim page.
#[utoipa::path(
    get,
    path = "/claim/{token}",
    tag = "claim",
    params(("token" = String, Path, description = "The page's secret token (22 URL-safe base64 characters)", pattern = "^[A-Za-z0-9_-]{22}$")),
    responses(
        (status = 200, description = "The page (open, paying or paid).", content_type = "text/html"),
        (status = 404, description = "Unknown token: a friendly page.", content_type = "text/html"),
        (status = 410, description = "Token revoked or replaced, or the request disabled, expired or failed: a friendly page.", content_type = "text/html"),
        (status = 503, description = "The request is still being created (`Retry-After`), or the database is unavailable.", content_type = "text/html"),
    )
)]
pub async fn page(State(state): State<AppState>, Path(raw): Path<String>) -> Response {
    let token = match claim_token(&raw) {
        Ok(t) => t,
        Err(e) => return notice_for(&e),
    };
    let view = match state.service.claim(token.as_str()).await {
        Ok(v) => v,
        Err(e) => return notice_for(&e),
    };
    if let Some(notice) = notice_for_status(&view) {
        return notice;
    }
    let side = Qr::of_bolt12(&view.record.bolt12)
        .map(|q| q.image_side(PAGE_QR_SIZE))
        .unwrap_or(PAGE_QR_SIZE);
    html(
        StatusCode::OK,
        render_page(token.as_str(), &view, side, unix_now()),
    )
}

/// The page's live status; with `since`, a long-poll held until the status differs from it.
#[utoipa::path(
    get,
    path = "/claim/{token}/status",
    tag = "claim",
    params(("token" = String, Path, description = "The page's secret token (22 URL-safe base64 characters)", pattern = "^[A-Za-z0-9_-]{22}$"), ClaimStatusParams),
    responses(
        (status = 200, description = "The status.", body = ClaimStatusBody),
        (status = 400, description = "A malformed parameter.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown token (`claim_not_found`).", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Token revoked or replaced (`claim_revoked`).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn status(
    State(state): State<AppState>,
    Path(raw): Path<String>,
    query: Result<ApiQuery<ClaimStatusParams>, ApiError>,
) -> Response {
    let result = async {
        let token = claim_token(&raw)?;
        let (since, wait) = query?.0.resolve()?;
        let view = state
            .service
            .wait_claim(token.as_str(), since, wait)
            .await?;
        Ok::<_, ApiError>(ClaimStatusBody {
            status: view.record.status,
            paid_at: view.paid_at,
            absolute_expiry: view.record.absolute_expiry,
            now: unix_now(),
        })
    }
    .await;
    let mut res = match result {
        Ok(body) => Json(body).into_response(),
        Err(e) => e.into_response(),
    };
    set_common(res.headers_mut(), DATA_CSP);
    res
}

/// The page's QR code (SVG).
#[utoipa::path(
    get,
    path = "/claim/{token}/qr.svg",
    tag = "claim",
    params(("token" = String, Path, description = "The page's secret token (22 URL-safe base64 characters)", pattern = "^[A-Za-z0-9_-]{22}$")),
    responses(
        (status = 200, description = "The QR code of the request's `lnr1…` string.", content_type = "image/svg+xml"),
        (status = 404, description = "Unknown token.", body = Problem, content_type = "application/problem+json"),
        (status = 410, description = "Token revoked or replaced, or the request can no longer be claimed.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn qr_svg(State(state): State<AppState>, Path(raw): Path<String>) -> Response {
    let result = async {
        let view = state.service.claim(claim_token(&raw)?.as_str()).await?;
        if !matches!(
            view.record.status,
            Status::Open | Status::Paying | Status::Paid
        ) || view.record.bolt12.is_empty()
        {
            return Err(ApiError::new(
                ErrorCode::ClaimUnavailable,
                format!("the request is {}", view.record.status.as_str()),
            ));
        }
        qr_response(&view.record.bolt12, QrFormat::Svg, PAGE_QR_SIZE)
    }
    .await;
    let mut res = result.unwrap_or_else(IntoResponse::into_response);
    set_common(res.headers_mut(), DATA_CSP);
    res
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    let mut res = body.into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    // No secret inside; the page names them with the version, so a day is safe.
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=86400"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    res
}

/// The claim page's script.
#[utoipa::path(get, path = "/claim/assets/claim.js", tag = "claim",
    responses((status = 200, description = "The script.", content_type = "text/javascript")))]
pub async fn script() -> Response {
    asset("text/javascript; charset=utf-8", JS)
}

/// The claim page's style sheet.
#[utoipa::path(get, path = "/claim/assets/claim.css", tag = "claim",
    responses((status = 200, description = "The style sheet.", content_type = "text/css")))]
pub async fn style() -> Response {
    asset("text/css; charset=utf-8", CSS)
}

/// Gives the request a new claim page token; the previous one (if any) answers 410 from now on.
/// Also gives a claim page to a request created without one.
#[utoipa::path(
    post,
    path = "/v1/invoicerequests/{invreq_id}/claim",
    tag = "invoicerequests",
    params(("invreq_id" = String, Path, description = "64 hex digits (any case)", pattern = "^[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "The invoice request with its new `claim_url`.", body = InvoiceRequestBody),
        (status = 400, description = "Malformed id.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Disabled, expired or failed: nothing left to claim (`already_inactive`).", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn rotate(
    State(state): State<AppState>,
    client: CanWrite,
    ApiPath(id): ApiPath<InvreqId>,
) -> Result<Json<InvoiceRequestBody>, ApiError> {
    let view = state.service.rotate_claim_as(&client, id.as_str()).await?;
    Ok(Json(InvoiceRequestBody::from(&view)))
}

/// Revokes the request's claim page: its token answers 410 from now on and `claim_url` is gone.
/// Revoking a request without one changes nothing.
#[utoipa::path(
    delete,
    path = "/v1/invoicerequests/{invreq_id}/claim",
    tag = "invoicerequests",
    params(("invreq_id" = String, Path, description = "64 hex digits (any case)", pattern = "^[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "The invoice request, without `claim_url`.", body = InvoiceRequestBody),
        (status = 400, description = "Malformed id.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn revoke(
    State(state): State<AppState>,
    client: CanWrite,
    ApiPath(id): ApiPath<InvreqId>,
) -> Result<Json<InvoiceRequestBody>, ApiError> {
    let view = state.service.revoke_claim_as(&client, id.as_str()).await?;
    Ok(Json(InvoiceRequestBody::from(&view)))
}
