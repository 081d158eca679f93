//! Events: what a backend learns when an invoice request changes, written by the transaction
//! that makes the change (the store's `*_emitting` calls) and read back in order.
//!
//! `data` is the invoice request as `GET /v1/invoicerequests/{id}` shows it right after the
//! change, rendered by [`super::ServiceConfig::view_renderer`] (the API's own body type).

use std::time::Duration;

use super::{InvoiceRequestView, PaymentStatus, Service, ServiceError, aggregate, unix_now};
use crate::store::{EventRecord, InvoiceRequestRecord, NewEvent, Status};

/// Largest page of `GET /v1/events`.
pub const MAX_EVENTS_PAGE: u32 = 1000;

/// The kinds of event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    /// The request is open: the node holds it and it can be paid.
    Created,
    /// A payment for it is in flight.
    PaymentPending,
    /// A payment for it completed.
    Paid,
    /// Its payment in flight failed; it is open again.
    PaymentFailed,
    /// Disabled by a client.
    Disabled,
    /// Its `absolute_expiry` passed.
    Expired,
    /// The node never created it.
    Failed,
    /// A webhook endpoint ran out of delivery attempts.
    EndpointFailing,
    /// A test delivery asked for with `POST /v1/webhooks/{id}/test`.
    Test,
}

impl EventType {
    /// Every type, in the order the documentation lists them.
    pub const ALL: [EventType; 9] = [
        EventType::Created,
        EventType::PaymentPending,
        EventType::Paid,
        EventType::PaymentFailed,
        EventType::Disabled,
        EventType::Expired,
        EventType::Failed,
        EventType::EndpointFailing,
        EventType::Test,
    ];

    /// The name in events and deliveries.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Created => "invoicerequest.created",
            EventType::PaymentPending => "invoicerequest.payment_pending",
            EventType::Paid => "invoicerequest.paid",
            EventType::PaymentFailed => "invoicerequest.payment_failed",
            EventType::Disabled => "invoicerequest.disabled",
            EventType::Expired => "invoicerequest.expired",
            EventType::Failed => "invoicerequest.failed",
            EventType::EndpointFailing => "webhook_endpoint.failing",
            EventType::Test => "webhook.test",
        }
    }

    /// Reads a name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// What moving `from` to `to` (with `used` after it and the request's `payments`, newest
    /// first) tells a backend; `None` when nothing it cares about changed.
    pub fn of_change(
        from: &InvoiceRequestRecord,
        to: Status,
        used: bool,
        payments: &[super::Payment],
    ) -> Option<Self> {
        let newly_used = used && !from.used;
        Some(match (from.status, to) {
            (a, b) if a == b => return newly_used.then_some(EventType::Paid),
            (_, Status::Paid) => EventType::Paid,
            (_, Status::Disabled) => EventType::Disabled,
            (_, Status::Expired) => EventType::Expired,
            (_, Status::Failed) => EventType::Failed,
            (_, Status::Paying) => EventType::PaymentPending,
            (Status::Pending, Status::Open) => EventType::Created,
            (Status::Paying, Status::Open) => {
                let newest = payments.first().map(|p| p.status);
                if newly_used || newest == Some(PaymentStatus::Complete) {
                    EventType::Paid
                } else {
                    EventType::PaymentFailed
                }
            }
            _ => return None,
        })
    }
}

/// The public id of the event with store sequence `seq`: `evt_` and 16 hex digits, so ids sort
/// like the events.
pub fn event_id(seq: i64) -> String {
    format!("evt_{seq:016x}")
}

/// The store sequence of a public event id.
pub fn event_seq(id: &str) -> Option<i64> {
    let hex = id.strip_prefix("evt_")?;
    if hex.len() != 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    i64::from_str_radix(hex, 16).ok().filter(|s| *s > 0)
}

/// One event, as `GET /v1/events` and deliveries show it.
#[derive(Debug, Clone)]
pub struct Event {
    /// `evt_…`: sortable, the `webhook-id` of its deliveries.
    pub id: String,
    /// Its type.
    pub kind: String,
    /// Seconds since 1970.
    pub created_at: u64,
    /// Its tenant.
    pub tenant: String,
    /// The payload, JSON text.
    pub data: String,
}

impl From<EventRecord> for Event {
    fn from(r: EventRecord) -> Self {
        Self {
            id: event_id(r.seq),
            kind: r.kind,
            created_at: r.created_at,
            tenant: r.tenant,
            data: r.data,
        }
    }
}

/// A page of events, oldest first.
#[derive(Debug)]
pub struct EventPage {
    /// The events.
    pub events: Vec<Event>,
    /// Whether more follow right now.
    pub has_more: bool,
}

/// Settings of the event log.
#[derive(Debug, Clone)]
pub struct EventSettings {
    /// How long events are kept.
    pub retention: Duration,
}

impl Default for EventSettings {
    fn default() -> Self {
        Self {
            retention: Duration::from_secs(30 * 86_400),
        }
    }
}

/// The view renderer used when none is configured: the record's main fields only. Start-up
/// configures the API's own (see `ServeArgs::service_config`).
pub fn minimal_view(v: &InvoiceRequestView) -> String {
    serde_json::json!({
        "invreq_id": v.record.invreq_id,
        "status": v.record.status,
        "active": v.record.active,
        "used": v.record.used,
        "amount_msat": v.record.amount_msat,
    })
    .to_string()
}

impl Service {
    /// The event for a request as `view` shows it.
    pub(super) fn event_for(&self, kind: EventType, view: &InvoiceRequestView) -> NewEvent {
        NewEvent::new(
            &view.record.tenant,
            kind.as_str(),
            &view.record.invreq_id,
            (self.config.view_renderer)(view),
        )
    }

    /// Moves `record` from one of `from` to `to` (compare-and-set), with the event the change
    /// means in the same transaction; returns whether it moved.
    pub(super) async fn move_request(
        &self,
        record: &InvoiceRequestRecord,
        from: &[Status],
        to: Status,
        active: bool,
        used: bool,
        now: u64,
    ) -> Result<bool, ServiceError> {
        let payments = aggregate(&self.store.payment_parts(&record.invreq_id).await?);
        let claim_token = self
            .claim_tokens_of(std::slice::from_ref(record))
            .await?
            .remove(&record.invreq_id);
        let event = EventType::of_change(record, to, used, &payments).map(|kind| {
            let mut after = record.clone();
            after.status = to;
            after.active = active;
            after.used = used;
            after.updated_at = now;
            let view = InvoiceRequestView {
                record: after.effective(now),
                payments,
                claim_token,
            };
            self.event_for(kind, &view)
        });
        let moved = self
            .store
            .transition_emitting(
                &record.invreq_id,
                from,
                to,
                active,
                used,
                now,
                event.as_ref(),
            )
            .await?;
        if moved && event.is_some() {
            self.events_written();
        }
        Ok(moved)
    }

    /// Marks a pending record open with the node's signed string, with its
    /// `invoicerequest.created` event; returns whether it moved.
    pub(super) async fn activate(
        &self,
        record: &InvoiceRequestRecord,
        bolt12: &str,
    ) -> Result<bool, ServiceError> {
        let now = unix_now();
        let mut open = record.clone();
        open.bolt12 = bolt12.to_owned();
        open.status = Status::Open;
        open.active = true;
        open.updated_at = now;
        let view = InvoiceRequestView {
            record: open.effective(now),
            payments: Vec::new(),
            claim_token: None,
        };
        let event = self.event_for(EventType::Created, &view);
        let moved = self
            .store
            .activate_emitting(&record.invreq_id, bolt12, now, Some(&event))
            .await?;
        if moved {
            self.events_written();
        }
        Ok(moved)
    }

    /// Wakes the webhook deliverer: an event was just written.
    pub(super) fn events_written(&self) {
        self.events_notify.notify_one();
    }

    /// Signalled when this process writes an event (the deliverer also polls, for the events
    /// other replicas write).
    pub fn events_notify(&self) -> std::sync::Arc<tokio::sync::Notify> {
        self.events_notify.clone()
    }

    /// A tenant's events after `after` (an event id), oldest first, optionally of one type.
    ///
    /// # Errors
    /// `Validation` for an `after` that is no event id or an unknown type; `Store`.
    pub async fn events(
        &self,
        tenant: &str,
        after: Option<&str>,
        kind: Option<&str>,
        limit: u32,
    ) -> Result<EventPage, ServiceError> {
        let after_seq = match after {
            None => 0,
            Some(id) => event_seq(id).ok_or_else(|| {
                super::ValidationError::new("after", "after must be the id of an event (evt_…)")
            })?,
        };
        if let Some(k) = kind
            && EventType::parse(k).is_none()
        {
            return Err(super::ValidationError::new(
                "type",
                format!("unknown event type {k:?}; the types are {}", type_list()),
            )
            .into());
        }
        let limit = limit.clamp(1, MAX_EVENTS_PAGE);
        let mut rows = self
            .store
            .events(tenant, after_seq, kind, limit + 1)
            .await?;
        let has_more = rows.len() > limit as usize;
        rows.truncate(limit as usize);
        Ok(EventPage {
            events: rows.into_iter().map(Event::from).collect(),
            has_more,
        })
    }

    /// Deletes events older than the retention; returns how many went.
    pub async fn prune_events(&self) -> Result<u64, ServiceError> {
        let before = unix_now().saturating_sub(self.config.events.retention.as_secs());
        Ok(self.store.prune_events(before).await?)
    }
}

/// Every event type, comma-separated (for messages).
pub fn type_list() -> String {
    EventType::ALL
        .iter()
        .map(|t| t.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
