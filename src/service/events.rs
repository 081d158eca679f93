//! Events: what a backend learns when an invoice request changes, written by the transaction
//! that makes the change (every lifecycle [`Move`] goes through [`Service::move_request`] and
//! its siblings here, which hand the event to the store's `apply_with`) and read back in
//! order.
//!
//! `data` is the invoice request as `GET /v1/invoicerequests/{id}` shows it right after the
//! change, rendered by [`super::ServiceConfig::view_renderer`] (the API's own body type).

use std::time::Duration;

use super::{
    EventId, InvoiceRequestView, PaymentStatus, Service, ServiceError, aggregate, unix_now,
};
use crate::domain::lifecycle::Move;
use crate::store::{EventRecord, InvoiceRequestRecord, MoveWrites, NewEvent, Status};

/// Largest page of `GET /v1/events`.
pub const MAX_EVENTS_PAGE: u32 = 1000;

/// The kinds of event (their names on the wire: `invoicerequest.created`, …).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize, utoipa::ToSchema,
)]
pub enum EventType {
    /// The request is open: the node holds it and it can be paid.
    #[serde(rename = "invoicerequest.created")]
    Created,
    /// A payment for it is in flight.
    #[serde(rename = "invoicerequest.payment_pending")]
    PaymentPending,
    /// A payment for it completed.
    #[serde(rename = "invoicerequest.paid")]
    Paid,
    /// Its payment in flight failed; it is open again.
    #[serde(rename = "invoicerequest.payment_failed")]
    PaymentFailed,
    /// Disabled by a client.
    #[serde(rename = "invoicerequest.disabled")]
    Disabled,
    /// Its `absolute_expiry` passed.
    #[serde(rename = "invoicerequest.expired")]
    Expired,
    /// The node never created it.
    #[serde(rename = "invoicerequest.failed")]
    Failed,
    /// A webhook endpoint ran out of delivery attempts.
    #[serde(rename = "webhook_endpoint.failing")]
    EndpointFailing,
    /// A test delivery asked for with `POST /v1/webhooks/{id}/test`.
    #[serde(rename = "webhook.test")]
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

/// The public id of the event with store sequence `seq` ([`EventId`]): `evt_` and 16 hex
/// digits, so ids sort like the events.
pub fn event_id(seq: i64) -> String {
    EventId::from_seq(seq).to_string()
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

    /// Applies the lifecycle move `mv` to `record`, with the event it means written in the
    /// same transaction ([`crate::store::Store::apply_with`]); returns whether it moved. Every
    /// status change of the service goes through here (or [`Service::open_built`]).
    ///
    /// The move is narrowed to where the request stands (status and `used`), so its event says
    /// exactly what happened; if something moved it meanwhile, it is read again and the move
    /// retried from there (a few times), as a plain compare-and-set over `mv`'s `from` would.
    pub(super) async fn move_request(
        &self,
        record: &InvoiceRequestRecord,
        mv: &Move,
        now: u64,
    ) -> Result<bool, ServiceError> {
        self.move_with(record, mv, None, now).await
    }

    /// Marks a pending record open with the node's signed string ([`Move::created`]), with
    /// its `invoicerequest.created` event; returns whether it moved.
    pub(super) async fn activate(
        &self,
        record: &InvoiceRequestRecord,
        bolt12: &str,
    ) -> Result<bool, ServiceError> {
        self.move_with(record, &Move::created(), Some(bolt12), unix_now())
            .await
    }

    /// Opens a pending node-built record (written under its pending id) under the node's
    /// `invreq_id`, with its `invoicerequest.created` event in the same transaction; returns
    /// whether it moved (`false`: settled elsewhere).
    pub(super) async fn open_built(
        &self,
        pending: &InvoiceRequestRecord,
        invreq_id: &str,
        bolt12: &str,
        now: u64,
    ) -> Result<bool, ServiceError> {
        let mut renamed = pending.clone();
        renamed.invreq_id = invreq_id.to_owned();
        let event = self
            .event_of_move(&renamed, &Move::created(), Some(bolt12), now)
            .await?;
        let moved = self
            .store
            .rekey_pending(&pending.invreq_id, invreq_id, bolt12, event.as_ref(), now)
            .await?;
        if moved && event.is_some() {
            self.events_written();
        }
        Ok(moved)
    }

    async fn move_with(
        &self,
        record: &InvoiceRequestRecord,
        mv: &Move,
        bolt12: Option<&str>,
        now: u64,
    ) -> Result<bool, ServiceError> {
        const ATTEMPTS: usize = 4;
        let mut current = record.clone();
        for _ in 0..ATTEMPTS {
            let Some(exact) = mv.only_from(current.status) else {
                return Ok(false);
            };
            let event = self.event_of_move(&current, &exact, bolt12, now).await?;
            let writes = MoveWrites {
                bolt12,
                used_before: Some(current.used),
                event: event.as_ref(),
            };
            if self
                .store
                .apply_with(&current.invreq_id, &exact, &writes, now)
                .await?
            {
                if event.is_some() {
                    self.events_written();
                }
                return Ok(true);
            }
            match self.store.get_any(&record.invreq_id).await? {
                Some(again) => current = again,
                None => return Ok(false),
            }
        }
        Ok(false)
    }

    /// The event moving `before` by `mv` means (`None`: nothing a backend cares about), its
    /// `data` the request as GET shows it right after the move.
    async fn event_of_move(
        &self,
        before: &InvoiceRequestRecord,
        mv: &Move,
        bolt12: Option<&str>,
        now: u64,
    ) -> Result<Option<NewEvent>, ServiceError> {
        let payments = aggregate(&self.store.payment_parts(&before.invreq_id).await?);
        let Some(kind) = EventType::of_change(before, mv.to(), mv.used(), &payments) else {
            return Ok(None);
        };
        let claim_token = self
            .claim_tokens_of(std::slice::from_ref(before))
            .await?
            .remove(&before.invreq_id);
        let mut after = before.clone();
        if let Some(b) = bolt12 {
            after.bolt12 = b.to_owned();
        }
        after.status = mv.to();
        after.active = mv.active();
        after.used = mv.used();
        after.updated_at = now;
        let view = InvoiceRequestView {
            record: after.effective(now),
            payments,
            claim_token,
        };
        Ok(Some(self.event_for(kind, &view)))
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

    /// A tenant's events after `after`, oldest first, optionally of one type; `limit` is
    /// clamped to 1..=[`MAX_EVENTS_PAGE`].
    ///
    /// # Errors
    /// `Store`.
    pub async fn events(
        &self,
        tenant: &str,
        after: Option<EventId>,
        kind: Option<EventType>,
        limit: u32,
    ) -> Result<EventPage, ServiceError> {
        let after_seq = after.map_or(0, EventId::seq);
        let limit = limit.clamp(1, MAX_EVENTS_PAGE);
        let mut rows = self
            .store
            .events(tenant, after_seq, kind.map(EventType::as_str), limit + 1)
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
