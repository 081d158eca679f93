//! `/v1/webhooks`: a tenant's webhook endpoints (scope `webhooks:manage`), their test, their
//! deliveries and the re-send of one event. Deliveries follow the Standard Webhooks
//! specification; the payloads are in the OpenAPI document's `webhooks` section.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::AppState;
use super::auth::CanManageWebhooks;
use super::error::ApiError;
use super::events::EventBody;
use super::extract::{ApiJson, ApiPath};
use crate::service::webhooks::{Attempt, NewWebhook, Webhook};
use crate::service::{EventId, EventType, ValidationError, WebhookId};

/// The body of `POST /v1/webhooks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"url": "https://shop.example/hooks/invreqd", "event_types": ["invoicerequest.paid", "invoicerequest.payment_failed"]}))]
pub struct CreateWebhook {
    /// Where deliveries are posted: `https://` (`http://` only with `--webhook-allow-http`),
    /// a public address (unless `--webhook-allow-private`), at most 2048 bytes.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 2048, pattern = "^[Hh][Tt][Tt][Pp][Ss]?://")]
    pub url: Option<String>,
    /// The event types to deliver; absent or empty: every type.
    pub event_types: Option<Vec<EventType>>,
    /// Whether new events are delivered (default true).
    #[schema(default = true)]
    pub enabled: Option<bool>,
}

impl TryFrom<CreateWebhook> for NewWebhook {
    type Error = ValidationError;

    /// Presence here; the URL's rules in the service (its destination policy).
    fn try_from(r: CreateWebhook) -> Result<Self, ValidationError> {
        Ok(NewWebhook {
            url: r
                .url
                .ok_or_else(|| ValidationError::new("url", "url is required"))?,
            event_types: r.event_types.unwrap_or_default(),
            enabled: r.enabled.unwrap_or(true),
        })
    }
}

/// A webhook endpoint.
#[derive(Serialize, ToSchema)]
pub struct WebhookBody {
    /// `wh_` and 32 hex digits.
    #[schema(pattern = "^wh_[0-9a-f]{32}$")]
    pub id: String,
    /// Where deliveries are posted.
    pub url: String,
    /// The event types delivered; empty: every type.
    #[schema(value_type = Vec<EventType>)]
    pub event_types: Vec<String>,
    /// Whether new events are delivered.
    pub enabled: bool,
    /// Whether a delivery ran out of attempts since the last success (a
    /// `webhook_endpoint.failing` event said so).
    pub failing: bool,
    /// Seconds since 1970 when it was registered.
    pub created_at: u64,
}

impl From<&Webhook> for WebhookBody {
    fn from(e: &Webhook) -> Self {
        Self {
            id: e.id.clone(),
            url: e.url.clone(),
            event_types: e.event_types.clone(),
            enabled: e.enabled,
            failing: e.failing,
            created_at: e.created_at,
        }
    }
}

/// A new webhook endpoint, with its signing secret: shown this once, store it now.
#[derive(Serialize, ToSchema)]
pub struct CreatedWebhookBody {
    /// `wh_` and 32 hex digits.
    #[schema(pattern = "^wh_[0-9a-f]{32}$")]
    pub id: String,
    /// Where deliveries are posted.
    pub url: String,
    /// The event types delivered; empty: every type.
    #[schema(value_type = Vec<EventType>)]
    pub event_types: Vec<String>,
    /// Whether new events are delivered.
    pub enabled: bool,
    /// Always false for a new endpoint.
    pub failing: bool,
    /// Seconds since 1970.
    pub created_at: u64,
    /// `whsec_` and base64 of 32 bytes: the Standard Webhooks signing secret. Shown once.
    pub secret: String,
}

/// A tenant's webhook endpoints.
#[derive(Serialize, ToSchema)]
pub struct WebhookList {
    /// Oldest first.
    pub webhooks: Vec<WebhookBody>,
}

/// One delivery attempt.
#[derive(Serialize, ToSchema)]
pub struct AttemptBody {
    /// The event (and `webhook-id` sent).
    #[schema(pattern = "^evt_[0-9a-f]{16}$")]
    pub event_id: String,
    /// The event's type.
    #[schema(value_type = EventType)]
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it started, milliseconds since 1970.
    pub started_at_ms: u64,
    /// How long it took, milliseconds.
    pub latency_ms: u64,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// `delivered` (2xx in time), `http_error` (another status), `timeout`, `refused` (the
    /// destination is not allowed) or `connect_error`.
    pub outcome: String,
    /// What went wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl From<Attempt> for AttemptBody {
    fn from(a: Attempt) -> Self {
        Self {
            event_id: a.event_id,
            event_type: a.event_type,
            attempt: a.attempt,
            started_at_ms: a.started_ms,
            latency_ms: a.latency_ms,
            status_code: a.status_code,
            outcome: a.outcome,
            error: a.error,
        }
    }
}

/// An endpoint's latest delivery attempts.
#[derive(Serialize, ToSchema)]
pub struct AttemptList {
    /// Newest first, at most 100.
    pub deliveries: Vec<AttemptBody>,
}

/// The two ids of `/v1/webhooks/{webhook_id}/events/{event_id}/…`, each parsed into its type
/// (a malformed one is a 400 `invalid_parameter` naming it).
pub struct WebhookEventPath(pub WebhookId, pub EventId);

impl<S: Send + Sync> FromRequestParts<S> for WebhookEventPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path((webhook_id, event_id)) =
            axum::extract::Path::<(String, String)>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::invalid_parameter("path", e.body_text()))?;
        let bad = |e: ValidationError| ApiError::invalid_parameter(e.field, e.message);
        Ok(Self(
            webhook_id.parse().map_err(bad)?,
            event_id.parse().map_err(bad)?,
        ))
    }
}

/// Register a webhook endpoint (scope `webhooks:manage`). The answer carries its signing
/// secret, shown this once.
#[utoipa::path(
    post,
    path = "/v1/webhooks",
    tag = "webhooks",
    request_body(content = CreateWebhook, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered; `secret` is shown this once. A URL this server refuses (not https, a private address) is a 400 `invalid_field` naming `url`.", body = CreatedWebhookBody),
    )
)]
pub async fn create_webhook(
    State(state): State<AppState>,
    client: CanManageWebhooks,
    ApiJson(body): ApiJson<CreateWebhook>,
) -> Result<(StatusCode, Json<CreatedWebhookBody>), ApiError> {
    let new = NewWebhook::try_from(body)?;
    let (e, secret) = state.service.create_webhook(&client.tenant, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedWebhookBody {
            id: e.id,
            url: e.url,
            event_types: e.event_types,
            enabled: e.enabled,
            failing: e.failing,
            created_at: e.created_at,
            secret: secret.expose().to_owned(),
        }),
    ))
}

/// List the tenant's webhook endpoints (scope `webhooks:manage`). Secrets are never shown.
#[utoipa::path(
    get,
    path = "/v1/webhooks",
    tag = "webhooks",
    responses(
        (status = 200, description = "The endpoints.", body = WebhookList),
    )
)]
pub async fn list_webhooks(
    State(state): State<AppState>,
    client: CanManageWebhooks,
) -> Result<Json<WebhookList>, ApiError> {
    let list = state.service.webhooks(&client.tenant).await?;
    Ok(Json(WebhookList {
        webhooks: list.iter().map(WebhookBody::from).collect(),
    }))
}

/// Get one webhook endpoint (scope `webhooks:manage`).
#[utoipa::path(
    get,
    path = "/v1/webhooks/{webhook_id}",
    tag = "webhooks",
    params(("webhook_id" = String, Path, description = "wh_ and 32 hex digits", pattern = "^wh_[0-9a-fA-F]{32}$")),
    responses(
        (status = 200, description = "The endpoint.", body = WebhookBody),
    )
)]
pub async fn get_webhook(
    State(state): State<AppState>,
    client: CanManageWebhooks,
    ApiPath(id): ApiPath<WebhookId>,
) -> Result<Json<WebhookBody>, ApiError> {
    let e = state.service.webhook(&client.tenant, &id).await?;
    Ok(Json(WebhookBody::from(&e)))
}

/// Delete a webhook endpoint and what is queued for it (scope `webhooks:manage`).
#[utoipa::path(
    delete,
    path = "/v1/webhooks/{webhook_id}",
    tag = "webhooks",
    params(("webhook_id" = String, Path, description = "wh_ and 32 hex digits", pattern = "^wh_[0-9a-fA-F]{32}$")),
    responses(
        (status = 204, description = "Deleted."),
    )
)]
pub async fn delete_webhook(
    State(state): State<AppState>,
    client: CanManageWebhooks,
    ApiPath(id): ApiPath<WebhookId>,
) -> Result<StatusCode, ApiError> {
    state.service.delete_webhook(&client.tenant, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Send a `webhook.test` event to one endpoint (scope `webhooks:manage`); its delivery shows in
/// `GET /v1/webhooks/{webhook_id}/deliveries`.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{webhook_id}/test",
    tag = "webhooks",
    params(("webhook_id" = String, Path, description = "wh_ and 32 hex digits", pattern = "^wh_[0-9a-fA-F]{32}$")),
    responses(
        (status = 202, description = "Queued: the test event.", body = EventBody),
    )
)]
pub async fn test_webhook(
    State(state): State<AppState>,
    client: CanManageWebhooks,
    ApiPath(id): ApiPath<WebhookId>,
) -> Result<(StatusCode, Json<EventBody>), ApiError> {
    let e = state.service.test_webhook(&client.tenant, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(EventBody::from_event(e))))
}

/// An endpoint's latest delivery attempts, newest first (scope `webhooks:manage`).
#[utoipa::path(
    get,
    path = "/v1/webhooks/{webhook_id}/deliveries",
    tag = "webhooks",
    params(("webhook_id" = String, Path, description = "wh_ and 32 hex digits", pattern = "^wh_[0-9a-fA-F]{32}$")),
    responses(
        (status = 200, description = "The latest 100 attempts.", body = AttemptList),
    )
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    client: CanManageWebhooks,
    ApiPath(id): ApiPath<WebhookId>,
) -> Result<Json<AttemptList>, ApiError> {
    let attempts = state
        .service
        .webhook_attempts(&client.tenant, &id, 100)
        .await?;
    Ok(Json(AttemptList {
        deliveries: attempts.into_iter().map(AttemptBody::from).collect(),
    }))
}

/// Deliver one event to an endpoint again, with a fresh set of attempts (scope
/// `webhooks:manage`). The `webhook-id` is the event's id, as before.
#[utoipa::path(
    post,
    path = "/v1/webhooks/{webhook_id}/events/{event_id}/resend",
    tag = "webhooks",
    params(
        ("webhook_id" = String, Path, description = "wh_ and 32 hex digits", pattern = "^wh_[0-9a-fA-F]{32}$"),
        ("event_id" = String, Path, description = "An event id: evt_ and 16 lowercase hex digits", pattern = "^evt_[0-7][0-9a-f]{15}$"),
    ),
    responses(
        (status = 202, description = "Queued: the event.", body = EventBody),
    )
)]
pub async fn resend(
    State(state): State<AppState>,
    client: CanManageWebhooks,
    WebhookEventPath(id, event_id): WebhookEventPath,
) -> Result<(StatusCode, Json<EventBody>), ApiError> {
    let e = state.service.resend(&client.tenant, &id, event_id).await?;
    Ok((StatusCode::ACCEPTED, Json(EventBody::from_event(e))))
}
