//! `GET /v1/events`: a tenant's events, oldest first, for backends that pull.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::CanRead;
use super::error::{ApiError, Problem};
use super::extract::QueryPairs;
use crate::service::{Event, MAX_EVENTS_PAGE};

/// One event. Its `data` is the invoice request as `GET /v1/invoicerequests/{invreq_id}`
/// showed it right after the change (an `InvoiceRequestBody`), for the `invoicerequest.*`
/// types; for `webhook_endpoint.failing` and `webhook.test` it names the endpoint.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "id": "evt_000000000000002a",
    "type": "invoicerequest.paid",
    "created_at": 1764115260,
    "tenant": "shop",
    "data": {"invreq_id": "715484ead84bcdae5b33e3015c686fa1bdd4ae9ade3c4729b58257a98cfcd9b5", "status": "paid", "used": true}
}))]
pub struct EventBody {
    /// `evt_` and 16 hex digits: ids sort like the events; the `webhook-id` of its deliveries.
    pub id: String,
    /// `invoicerequest.created`, `invoicerequest.payment_pending`, `invoicerequest.paid`,
    /// `invoicerequest.payment_failed`, `invoicerequest.disabled`, `invoicerequest.expired`,
    /// `invoicerequest.failed`, `webhook_endpoint.failing` or `webhook.test`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Seconds since 1970 when the change was committed.
    pub created_at: u64,
    /// The tenant it belongs to.
    pub tenant: String,
    /// The payload (see above).
    #[schema(value_type = Object)]
    pub data: Box<RawValue>,
}

impl EventBody {
    /// The body of an event (its stored data is JSON; a corrupt row shows as `null`).
    pub fn from_event(e: Event) -> Self {
        let data = RawValue::from_string(e.data)
            .unwrap_or_else(|_| RawValue::from_string("null".into()).expect("null is JSON"));
        Self {
            id: e.id,
            kind: e.kind,
            created_at: e.created_at,
            tenant: e.tenant,
            data,
        }
    }
}

/// A page of events, oldest first.
#[derive(Serialize, ToSchema)]
pub struct EventList {
    /// The events.
    pub events: Vec<EventBody>,
    /// Whether more events follow now (ask again with `after=next_after`).
    pub has_more: bool,
    /// Pass as `after` for the next page: the last event's id (the `after` given, on an empty
    /// page; `null` if neither).
    pub next_after: Option<String>,
}

/// Query parameters of the event list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct EventParams {
    /// Only events after this one (an event id); from the oldest kept when absent.
    after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<u32>,
    /// Only events of this type.
    #[param(rename = "type")]
    kind: Option<String>,
}

/// List events, oldest first (scope `invoicerequests:read`). Events are kept for
/// `--event-retention-days` (default 30).
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    params(EventParams),
    responses(
        (status = 200, description = "A page of events, oldest first.", body = EventList),
        (status = 400, description = "A malformed parameter.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list_events(
    State(state): State<AppState>,
    client: CanRead,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<EventList>, ApiError> {
    let (mut after, mut limit, mut kind) = (None, 100u32, None);
    let mut seen: Vec<&str> = Vec::new();
    for (name, value) in &pairs {
        if seen.contains(&name.as_str()) {
            return Err(ApiError::invalid_parameter(
                name,
                format!("{name} is given more than once"),
            ));
        }
        seen.push(name);
        match name.as_str() {
            "after" => after = Some(value.as_str()),
            "type" => kind = Some(value.as_str()),
            "limit" => {
                limit = value
                    .parse()
                    .ok()
                    .filter(|l| (1..=MAX_EVENTS_PAGE).contains(l))
                    .ok_or_else(|| {
                        ApiError::invalid_parameter(
                            name,
                            format!("limit must be an integer from 1 to {MAX_EVENTS_PAGE}"),
                        )
                    })?
            }
            other => {
                return Err(ApiError::invalid_parameter(
                    other,
                    format!(
                        "unknown query parameter {other:?}; the parameters are after, limit, type"
                    ),
                ));
            }
        }
    }
    let page = state
        .service
        .events(&client.tenant, after, kind, limit)
        .await
        .map_err(|e| match e {
            crate::service::ServiceError::Validation(v) => {
                ApiError::invalid_parameter(v.field, v.message)
            }
            other => other.into(),
        })?;
    let next_after = page
        .events
        .last()
        .map(|e| e.id.clone())
        .or_else(|| after.map(str::to_owned));
    Ok(Json(EventList {
        events: page.events.into_iter().map(EventBody::from_event).collect(),
        has_more: page.has_more,
        next_after,
    }))
}
