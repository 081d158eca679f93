//! `/v1/webhooks`: a tenant's webhook endpoints (scope `webhooks:manage`), their test, their
//! deliveries and the re-send of one event. Deliveries follow the Standard Webhooks
//! specification; the payloads are in the OpenAPI document's `webhooks` section.

use axum::Json;
use axum::extract::{FromRequestParts, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::AppState;
use super::auth::CanManageWebhooks;
use super::error::{ApiError, Problem};
use super::events::EventBody;
use super::extract::JsonObject;
use crate::service::webhooks::{Attempt, NewWebhook};
use crate::store::EndpointRecord;

/// The body of `POST /v1/webhooks`.
#[derive(ToSchema)]
#[schema(example = json!({"url": "https://shop.example/hooks/invreqd", "event_types": ["invoicerequest.paid", "invoicerequest.payment_failed"]}))]
#[allow(dead_code)]
pub struct CreateWebhook {
    /// Where deliveries are posted: `https://` (`http://` only with `--webhook-allow-http`),
    /// a public address (unless `--webhook-allow-private`), at most 2048 bytes.
    url: String,
    /// The event types to deliver; absent or empty: every type.
    event_types: Option<Vec<String>>,
    /// Whether new events are delivered (default true).
    #[schema(default = true)]
    enabled: Option<bool>,
}

/// A webhook endpoint.
#[derive(Serialize, ToSchema)]
pub struct WebhookBody {
    /// `wh_` and 32 hex digits.
    pub id: String,
    /// Where deliveries are posted.
    pub url: String,
    /// The event types delivered; empty: every type.
    pub event_types: Vec<String>,
    /// Whether new events are delivered.
    pub enabled: bool,
    /// Whether a delivery ran out of attempts since the last success (a
    /// `webhook_endpoint.failing` event said so).
    pub failing: bool,
    /// Seconds since 1970 when it was registered.
    pub created_at: u64,
}

impl From<&EndpointRecord> for WebhookBody {
    fn from(e: &EndpointRecord) -> Self {
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
    pub id: String,
    /// Where deliveries are posted.
    pub url: String,
    /// The event types delivered; empty: every type.
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
    pub event_id: String,
    /// The event's type.
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

/// A webhook id from the path (`wh_` and 32 hex digits).
pub struct WebhookIdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for WebhookIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(params) =
            axum::extract::Path::<Vec<(String, String)>>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::invalid_parameter("webhook_id", e.body_text()))?;
        let raw = params
            .into_iter()
            .find(|(k, _)| k == "webhook_id")
            .map(|(_, v)| v)
            .unwrap_or_default();
        let ok = raw
            .strip_prefix("wh_")
            .is_some_and(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()));
        if ok {
            Ok(Self(raw.to_ascii_lowercase()))
        } else {
            Err(ApiError::invalid_parameter(
                "webhook_id",
                "webhook_id must be wh_ and 32 hexadecimal digits",
            ))
        }
    }
}

/// An event id from the path (checked by the service: a malformed one is unknown).
pub struct EventIdPath(pub String);

impl<S: Send + Sync> FromRequestParts<S> for EventIdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let axum::extract::Path(params) =
            axum::extract::Path::<Vec<(String, String)>>::from_request_parts(parts, state)
                .await
                .map_err(|e| ApiError::invalid_parameter("event_id", e.body_text()))?;
        Ok(Self(
            params
                .into_iter()
                .find(|(k, _)| k == "event_id")
                .map(|(_, v)| v)
                .unwrap_or_default(),
        ))
    }
}

fn new_webhook(body: &serde_json::Map<String, Value>) -> Result<NewWebhook, ApiError> {
    for k in body.keys() {
        if !matches!(k.as_str(), "url" | "event_types" | "enabled") {
            return Err(ApiError::invalid_field(
                k,
                format!("unknown field {k:?}; the fields are url, event_types, enabled"),
            ));
        }
    }
    let url = match body.get("url") {
        Some(Value::String(u)) => u.clone(),
        Some(_) => return Err(ApiError::invalid_field("url", "url must be a string")),
        None => return Err(ApiError::invalid_field("url", "url is required")),
    };
    let event_types = match body.get("event_types") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| {
                ApiError::invalid_field("event_types", "event_types must be an array of strings")
            })?,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "event_types",
                "event_types must be an array of strings",
            ));
        }
    };
    let enabled = match body.get("enabled") {
        None | Some(Value::Null) => true,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(ApiError::invalid_field(
                "enabled",
                "enabled must be true or false",
            ));
        }
    };
    Ok(NewWebhook {
        url,
        event_types,
        enabled,
    })
}

/// Register a webhook endpoint (scope `webhooks:manage`). The answer carries its signing
/// secret, shown this once.
#[utoipa::path(
    post,
    path = "/v1/webhooks",
    tag = "webhooks",
    request_body(content = CreateWebhook, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered; `secret` is shown this once.", body = CreatedWebhookBody),
        (status = 400, description = "Invalid JSON, a URL this server refuses (not https, a private address) or an unknown event type.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create_webhook(
    State(state): State<AppState>,
    client: CanManageWebhooks,
    body: JsonObject,
) -> Result<(StatusCode, Json<CreatedWebhookBody>), ApiError> {
    let new = new_webhook(&body.map)?;
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
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
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
    params(("webhook_id" = String, Path, description = "wh_ and 32 hex digits")),
    responses(
        (status = 200, description = "The endpoint.", body = WebhookBody),
        (status = 400, description = "Malformed id.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get_webhook(
    State(state): State<AppState>,
    client: CanManageWebhooks,
    WebhookIdPath(id): WebhookIdPath,
) -> Result<Json<WebhookBody>, ApiError> {
    let e = state.service.webhook(&client.tenant, &id).await?;
    Ok(Json(WebhookBody::from(&e)))
}

/// Delete a webhook endpoint and what is queued for it (scope `webhooks:manage`).
#[utoipa::path(
    delete,
    path = "/v1/webhooks/{webhook_id}",
    tag = "webhooks",
    params(("webhook_id" = String, Path, description = "wh_ and 32 hex digits")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 400, description = "Malformed id.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn delete_webhook(
    State(state): State<AppState>,
    client: CanManageWebhooks,
    WebhookIdPath(id): WebhookIdPath,
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
    params(("webhook_id" = String, Path, description = "wh_ and 32 hex digits")),
    responses(
        (status = 202, description = "Queued: the test event.", body = EventBody),
        (status = 404, description = "Unknown id.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn test_webhook(
    State(state): State<AppState>,
    client: CanManageWebhooks,
    WebhookIdPath(id): WebhookIdPath,
) -> Result<(StatusCode, Json<EventBody>), ApiError> {
    let e = state.service.test_webhook(&client.tenant, &id).await?;
    Ok((StatusCode::ACCEPTED, Json(EventBody::from_event(e))))
}

/// An endpoint's latest delivery attempts, newest first (scope `webhooks:manage`).
#[utoipa::path(
    get,
    path = "/v1/webhooks/{webhook_id}/deliveries",
    tag = "webhooks",
    params(("webhook_id" = String, Path, description = "wh_ and 32 hex digits")),
    responses(
        (status = 200, description = "The latest 100 attempts.", body = AttemptList),
        (status = 404, description = "Unknown id.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_deliveries(
    State(state): State<AppState>,
    client: CanManageWebhooks,
    WebhookIdPath(id): WebhookIdPath,
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
        ("webhook_id" = String, Path, description = "wh_ and 32 hex digits"),
        ("event_id" = String, Path, description = "An event id (evt_…)"),
    ),
    responses(
        (status = 202, description = "Queued: the event.", body = EventBody),
        (status = 404, description = "Unknown endpoint or event.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn resend(
    State(state): State<AppState>,
    client: CanManageWebhooks,
    WebhookIdPath(id): WebhookIdPath,
    EventIdPath(event_id): EventIdPath,
) -> Result<(StatusCode, Json<EventBody>), ApiError> {
    let e = state.service.resend(&client.tenant, &id, &event_id).await?;
    Ok((StatusCode::ACCEPTED, Json(EventBody::from_event(e))))
}
