//! `GET /v1/events`: a tenant's events, oldest first, for backends that pull.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::CanRead;
use super::error::ApiError;
use super::extract::ApiQuery;
use crate::service::{Event, EventId, EventType, MAX_EVENTS_PAGE};

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
    #[schema(pattern = "^evt_[0-9a-f]{16}$")]
    pub id: String,
    /// What happened.
    #[serde(rename = "type")]
    #[schema(value_type = EventType)]
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
    #[schema(pattern = "^evt_[0-9a-f]{16}$")]
    pub next_after: Option<String>,
}

/// The query string of the event list.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventListParams {
    /// Only events after this one (an event id, as `next_after` gives it); from the oldest
    /// kept when absent.
    #[param(value_type = Option<String>, pattern = "^evt_[0-7][0-9a-f]{15}$")]
    pub after: Option<EventId>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// Only events of this type.
    #[serde(rename = "type")]
    #[param(rename = "type", value_type = Option<EventType>)]
    pub kind: Option<EventType>,
}

/// List events, oldest first (scope `invoicerequests:read`). Events are kept for
/// `--event-retention-days` (default 30).
#[utoipa::path(
    get,
    path = "/v1/events",
    tag = "events",
    params(EventListParams),
    responses(
        (status = 200, description = "A page of events, oldest first.", body = EventList),
    )
)]
pub async fn list_events(
    State(state): State<AppState>,
    client: CanRead,
    ApiQuery(params): ApiQuery<EventListParams>,
) -> Result<Json<EventList>, ApiError> {
    let limit = params.limit.unwrap_or(100);
    if !(1..=MAX_EVENTS_PAGE).contains(&limit) {
        return Err(ApiError::invalid_parameter(
            "limit",
            format!("limit must be an integer from 1 to {MAX_EVENTS_PAGE}"),
        ));
    }
    let page = state
        .service
        .events(&client.tenant, params.after, params.kind, limit)
        .await?;
    let next_after = page
        .events
        .last()
        .map(|e| e.id.clone())
        .or_else(|| params.after.map(|a| a.to_string()));
    Ok(Json(EventList {
        events: page.events.into_iter().map(EventBody::from_event).collect(),
        has_more: page.has_more,
        next_after,
    }))
}
