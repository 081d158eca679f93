//! The service layer: validates, builds the BOLT12 invoice request, has the node sign it and
//! keeps the record. Knows nothing of HTTP.

mod amount;
mod audit;
mod claim;
mod create;
mod error;
mod events;
mod expiry;
mod ids;
mod keys;
mod new_request;
mod node_built;
mod payments;
mod reconcile;
mod text;
pub mod webhooks;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use crate::domain::lifecycle::{PaymentStatus, Status};
/// What the API shows and asks of the store, under the service's name (the API imports no store).
pub use crate::store::{ApiKeyRecord, ListQuery};
pub use amount::{Amount, MAX_MSAT, PATTERN as AMOUNT_PATTERN};
pub use claim::{
    CLAIM_TOKEN_LEN, CLAIM_WAITERS_GAUGE, ClaimView, MAX_CLAIM_WAIT, is_claim_token,
    new_claim_token,
};
pub use create::{LEASE_SECS, Render};
pub use error::{ServiceError, ValidationError};
pub use events::{
    Event, EventPage, EventSettings, EventType, MAX_EVENTS_PAGE, event_id, minimal_view,
};
pub use ids::{EventId, InvreqId, KeyId, WebhookId};
pub use keys::{AuthError, CreatedKey, KeyService, NewKey};
pub use new_request::{Limits, MAX_EXPIRY_SECS, MAX_EXPIRY_SETTING_SECS, NewInvoiceRequest};
pub use node_built::{node_label, verify_built};
pub use payments::{CREATED_COUNTER, Payment, UPDATED_COUNTER, aggregate};
pub use text::{Description, Issuer, Label};

use crate::bolt12::{InvoiceRequest, UnsignedInvoiceRequest};
use crate::domain::lifecycle::{self, DisableRefused};
use crate::node::{Node, NodeError};
use crate::store::{InvoiceRequestRecord, Store};

/// Seconds since 1970, now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Settings of the service layer.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// Rules for new requests.
    pub limits: Limits,
    /// How long a create waits for the node before answering "pending".
    pub node_timeout: Duration,
    /// How long a retry waits for the first request with the same idempotency key.
    pub idempotency_wait: Duration,
    /// How long an API key read from the store is trusted before it is read again (zero: not
    /// cached). A revocation on this replica takes effect at once; on others within this time.
    pub key_cache_ttl: Duration,
    /// Renders an invoice request as the API shows it (JSON text): the `data` of its events.
    pub view_renderer: ViewRenderer,
    /// The event log.
    pub events: EventSettings,
    /// Webhook delivery.
    pub webhooks: webhooks::WebhookSettings,
}

/// Renders an invoice request as `GET /v1/invoicerequests/{id}` shows it, as JSON text.
pub type ViewRenderer = fn(&InvoiceRequestView) -> String;

impl Default for ServiceConfig {
    fn default() -> Self {
        Self {
            limits: Limits::default(),
            node_timeout: Duration::from_secs(10),
            idempotency_wait: Duration::from_secs(10),
            key_cache_ttl: Duration::from_secs(1),
            view_renderer: minimal_view,
            events: EventSettings::default(),
            webhooks: webhooks::WebhookSettings::default(),
        }
    }
}

/// An invoice request with its payments, as the API shows it.
#[derive(Debug, Clone)]
pub struct InvoiceRequestView {
    /// The record, with expiry applied.
    pub record: InvoiceRequestRecord,
    /// Every payment the node made for it, newest first.
    pub payments: Vec<Payment>,
    /// The live token of its claim page (`/claim/<token>`), if it has one.
    pub claim_token: Option<String>,
}

impl InvoiceRequestView {
    /// Delivered to payees by completed payments, msat (may be less than asked: a payee may
    /// invoice less).
    pub fn amount_paid_msat(&self) -> u64 {
        self.complete().map(|p| p.amount_msat).sum()
    }

    /// Sent by the node for completed payments, msat, fees included.
    pub fn amount_sent_msat(&self) -> u64 {
        self.complete().map(|p| p.amount_sent_msat).sum()
    }

    /// The payment that says most: the newest completed, else the newest in flight, else the
    /// newest failed.
    pub fn main_payment(&self) -> Option<&Payment> {
        self.payments.iter().min_by_key(|p| p.status)
    }

    fn complete(&self) -> impl Iterator<Item = &Payment> {
        self.payments
            .iter()
            .filter(|p| p.status == PaymentStatus::Complete)
    }
}

/// What a create gives: a new request, or (a retry with an idempotency key) the first response.
#[derive(Debug)]
// A return value that is moved once into the response: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Created {
    /// Created now.
    New {
        /// The new request.
        view: InvoiceRequestView,
        /// Its response body, rendered once.
        body: String,
    },
    /// A retry: the first response, as stored.
    Replay {
        /// HTTP status of the first response.
        status: u16,
        /// Its JSON body.
        body: String,
        /// The invoice request it created.
        invreq_id: Option<String>,
    },
}

/// A page of a list.
#[derive(Debug)]
pub struct Page {
    /// The rows, newest first.
    pub items: Vec<InvoiceRequestView>,
    /// Pass back to get the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// The invoice request service.
#[derive(Clone)]
pub struct Service {
    store: Store,
    node: Arc<dyn Node>,
    config: Arc<ServiceConfig>,
    expiry_notify: Arc<tokio::sync::Notify>,
    key_cache: Arc<keys::KeyCache>,
    payment_watch: Arc<std::sync::Mutex<PaymentWatch>>,
    events_notify: Arc<tokio::sync::Notify>,
}

/// How the payment watcher fares, for `/readyz`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentWatch {
    /// No round has ended yet.
    Starting,
    /// The last round read the node's payments.
    Ok,
    /// The last round failed, of this kind ([`NodeError::kind`], or `store`).
    Failing(&'static str),
}

impl Service {
    /// Puts the layers together.
    pub fn new(store: Store, node: Arc<dyn Node>, config: ServiceConfig) -> Self {
        Self {
            store,
            node,
            key_cache: Arc::new(keys::KeyCache::new(config.key_cache_ttl)),
            config: Arc::new(config),
            expiry_notify: Arc::new(tokio::sync::Notify::new()),
            payment_watch: Arc::new(std::sync::Mutex::new(PaymentWatch::Starting)),
            events_notify: Arc::new(tokio::sync::Notify::new()),
        }
    }

    /// How the payment watcher's last round ended.
    pub fn payment_watch(&self) -> PaymentWatch {
        *self.payment_watch.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records how a payment watcher round ended (`Starting` when the watcher stops).
    pub fn set_payment_watch(&self, state: PaymentWatch) {
        *self.payment_watch.lock().unwrap_or_else(|e| e.into_inner()) = state;
    }

    /// Signalled when a request with an expiry is created, so the sweeper can wake earlier.
    pub fn expiry_notify(&self) -> Arc<tokio::sync::Notify> {
        self.expiry_notify.clone()
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The node.
    pub fn node(&self) -> &Arc<dyn Node> {
        &self.node
    }

    /// The settings.
    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    /// One invoice request of a tenant.
    pub async fn get(
        &self,
        tenant: &str,
        invreq_id: &str,
    ) -> Result<InvoiceRequestView, ServiceError> {
        let record = self.record_of(tenant, invreq_id).await?;
        self.view(record).await
    }

    /// A tenant's record, or `NotFound` (another tenant's id is as unknown as a missing one).
    async fn record_of(
        &self,
        tenant: &str,
        invreq_id: &str,
    ) -> Result<InvoiceRequestRecord, ServiceError> {
        self.store
            .get(tenant, invreq_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(invreq_id.to_owned()))
    }

    async fn view(&self, record: InvoiceRequestRecord) -> Result<InvoiceRequestView, ServiceError> {
        let claim_token = self
            .claim_tokens_of(std::slice::from_ref(&record))
            .await?
            .remove(&record.invreq_id);
        let payments = aggregate(&self.store.payment_parts(&record.invreq_id).await?);
        Ok(InvoiceRequestView {
            record: record.effective(unix_now()),
            payments,
            claim_token,
        })
    }

    /// A page of a tenant's invoice requests, newest first.
    pub async fn list(&self, tenant: &str, query: ListQuery) -> Result<Page, ServiceError> {
        let now = unix_now();
        let limit = query.limit as usize;
        let mut rows = self
            .store
            .list(
                tenant,
                &ListQuery {
                    limit: query.limit + 1,
                    ..query
                },
                now,
            )
            .await?;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| r.seq.to_string())
        } else {
            None
        };
        let mut tokens = self.claim_tokens_of(&rows).await?;
        // One query for the payments of the whole page.
        let ids: Vec<String> = rows.iter().map(|r| r.invreq_id.clone()).collect();
        let mut parts: std::collections::HashMap<String, Vec<_>> = Default::default();
        for p in self.store.payment_parts_of(&ids).await? {
            parts.entry(p.invreq_id.clone()).or_default().push(p);
        }
        let items = rows
            .into_iter()
            .map(|r| InvoiceRequestView {
                payments: aggregate(parts.get(&r.invreq_id).map_or(&[][..], Vec::as_slice)),
                claim_token: tokens.remove(&r.invreq_id),
                record: r.effective(now),
            })
            .collect();
        Ok(Page { items, next_cursor })
    }

    /// Disables an active invoice request on the node and in the store.
    pub async fn disable(
        &self,
        tenant: &str,
        invreq_id: &str,
    ) -> Result<InvoiceRequestView, ServiceError> {
        let record = self
            .record_of(tenant, invreq_id)
            .await?
            .effective(unix_now());
        // Never disable with a payment in flight (CLN v26.06.6 then crash-loops): as recorded
        // here, and (checked by the node layer right before its disable) as the node says now.
        match lifecycle::check_disable(record.status) {
            Ok(()) => {}
            Err(DisableRefused::Inactive) => {
                return Err(ServiceError::AlreadyInactive(invreq_id.to_owned()));
            }
            Err(DisableRefused::PaymentInFlight) => {
                return Err(ServiceError::PaymentInFlight(invreq_id.to_owned()));
            }
        }
        match self.node.disable(invreq_id).await {
            Ok(node_view) => {
                // One 200 for one disable, however many ask at once: a node with its own state
                // answers "not active" to all but one; with the dev signer (no node state) the
                // store's conditional transition is the only arbiter.
                let moved = self
                    .move_request(&record, &lifecycle::disabled(node_view.used), unix_now())
                    .await?;
                if !moved && self.node.signs_locally() {
                    return Err(ServiceError::AlreadyInactive(invreq_id.to_owned()));
                }
                crate::metrics::disabled();
            }
            Err(NodeError::NotActive) => {
                // Inactive on the node already (paid, or disabled elsewhere): follow the node.
                let used = self
                    .node
                    .list(Some(invreq_id))
                    .await?
                    .first()
                    .is_some_and(|n| n.used);
                let mv = lifecycle::after_node_inactive(used);
                self.move_request(&record, &mv, unix_now()).await?;
                return Err(ServiceError::AlreadyInactive(invreq_id.to_owned()));
            }
            Err(NodeError::PaymentInFlight) => {
                return Err(ServiceError::PaymentInFlight(invreq_id.to_owned()));
            }
            Err(e) => return Err(e.into()),
        }
        self.get(tenant, invreq_id).await
    }
}

/// Checks what a node signed: same records as asked, signed by the node, same id.
pub fn verify_signed(
    signed: &InvoiceRequest,
    unsigned: &UnsignedInvoiceRequest,
    node_id: crate::bolt12::PublicKey,
) -> Result<(), ServiceError> {
    if signed.signature().is_none() {
        return Err(ServiceError::NodeMismatch(
            "the request carries no signature".into(),
        ));
    }
    if signed.payer_id() != node_id {
        return Err(ServiceError::NodeMismatch(
            "signed by another key than the node's".into(),
        ));
    }
    if !signed.same_records_as(unsigned) {
        return Err(ServiceError::NodeMismatch(
            "its records differ from those sent".into(),
        ));
    }
    if signed.invreq_id() != unsigned.invreq_id() {
        return Err(ServiceError::NodeMismatch("its invreq_id differs".into()));
    }
    Ok(())
}
