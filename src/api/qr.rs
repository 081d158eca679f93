//! `GET /v1/invoicerequests/{invreq_id}/qr`: the request's `lnr1…` as a QR code (SVG or PNG).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::CanRead;
use super::error::{ApiError, Problem};
use super::extract::{ApiPath, ApiQuery};
use crate::error_code::ErrorCode;
use crate::qr::{DEFAULT_SIZE, MAX_SIZE, MIN_SIZE, Qr, QrFormat};
use crate::service::InvreqId;

/// A PNG image (OpenAPI: binary string).
#[derive(ToSchema)]
#[allow(dead_code)]
#[schema(value_type = String, format = Binary)]
pub struct PngImage(Vec<u8>);

/// Query parameters of the QR code: each at most once, no others.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct QrParams {
    /// `svg` (default) or `png`.
    #[param(inline)]
    pub format: Option<QrFormat>,
    /// Smallest width of the square image in pixels, 64 to 2048 (default 384). The image is the
    /// smallest one at least this wide whose modules are whole pixels, quiet zone included.
    #[param(minimum = 64, maximum = 2048)]
    pub size: Option<u32>,
}

impl QrParams {
    /// The chosen format and size (defaults filled in).
    ///
    /// # Errors
    /// `invalid_parameter` naming `size` when it is outside 64–2048.
    pub(super) fn resolve(self) -> Result<(QrFormat, u32), ApiError> {
        let size = self.size.unwrap_or(DEFAULT_SIZE);
        if !(MIN_SIZE..=MAX_SIZE).contains(&size) {
            return Err(ApiError::invalid_parameter(
                "size",
                format!("size must be an integer from {MIN_SIZE} to {MAX_SIZE}"),
            ));
        }
        Ok((self.format.unwrap_or(QrFormat::Svg), size))
    }
}

/// Renders `bolt12` as an image response (never cached: it is a claim on money).
pub(super) fn qr_response(bolt12: &str, format: QrFormat, size: u32) -> Result<Response, ApiError> {
    let internal = |e: &dyn std::fmt::Display| {
        ApiError::new(
            ErrorCode::Internal,
            "an internal error occurred; it has been logged",
        )
        .with_cause(e.to_string())
    };
    let qr = Qr::of_bolt12(bolt12).map_err(|e| internal(&e))?;
    let bytes = qr.render(format, size).map_err(|e| internal(&e))?;
    let mut res = (StatusCode::OK, bytes).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(format.content_type()),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert("x-qr-version", HeaderValue::from(qr.version()));
    Ok(res)
}

/// The `lnr1…` string as a QR code: upper case (alphanumeric mode), error correction M (L for
/// the longest requests), a 4-module quiet zone, black on white.
#[utoipa::path(
    get,
    path = "/v1/invoicerequests/{invreq_id}/qr",
    tag = "invoicerequests",
    params(("invreq_id" = String, Path, description = "64 hex digits (any case)", pattern = "^[0-9a-fA-F]{64}$"), QrParams),
    responses(
        (status = 200, description = "The QR code; `X-QR-Version` tells its version (1 to 40).",
            content(
                (String = "image/svg+xml"),
                (PngImage = "image/png"),
            ),
            headers(("X-QR-Version" = u8, description = "QR version of the code"))),
        (status = 400, description = "Malformed id, format or size.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No `lnr1…` string yet (`pending`) or ever (`failed`): `bolt12_unavailable`.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn qr(
    State(state): State<AppState>,
    client: CanRead,
    ApiPath(id): ApiPath<InvreqId>,
    ApiQuery(params): ApiQuery<QrParams>,
) -> Result<Response, ApiError> {
    let (format, size) = params.resolve()?;
    let view = state.service.get(&client.tenant, id.as_str()).await?;
    if view.record.bolt12.is_empty() {
        return Err(ApiError::new(
            ErrorCode::Bolt12Unavailable,
            format!(
                "invoice request {id} is {}: it has no lnr1… string to encode",
                view.record.status.as_str()
            ),
        )
        .with_invreq_id(id.as_str()));
    }
    qr_response(&view.record.bolt12, format, size)
}
