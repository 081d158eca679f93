//! The service layer: validates, builds the BOLT12 invoice request, has the node sign it and
//! keeps the record. Knows nothing of HTTP.

mod amount;
mod audit;
mod claim;
mod clock;
mod config;
mod create;
mod disable;
mod error;
mod events;
mod expiry;
mod ids;
mod keys;
mod new_request;
mod node_built;
mod node_signed;
mod payment_watch;
mod payments;
mod read;
mod reconcile;
mod text;
mod views;
pub mod webhooks;

use std::sync::Arc;

pub use crate::domain::lifecycle::{PaymentStatus, Status};
/// What the API shows and asks of the store, under the service's name (the API imports no store).
pub use crate::store::{ApiKeyRecord, ListQuery};
pub use amount::{Amount, MAX_MSAT, PATTERN as AMOUNT_PATTERN};
pub use claim::{
    CLAIM_TOKEN_LEN, CLAIM_WAITERS_GAUGE, ClaimView, MAX_CLAIM_WAIT, is_claim_token,
    new_claim_token,
};
pub use clock::unix_now;
pub use config::{ServiceConfig, ViewRenderer};
pub use create::{LEASE_SECS, Render};
pub use error::{ServiceError, ValidationError};
pub use events::{
    Event, EventPage, EventSettings, EventType, MAX_EVENTS_PAGE, event_id, minimal_view,
};
pub use ids::{ClaimToken, EventId, InvreqId, KeyId, WebhookId};
pub use keys::{AuthError, CreatedKey, KeyService, NewKey};
pub use new_request::{Limits, MAX_EXPIRY_SECS, MAX_EXPIRY_SETTING_SECS, NewInvoiceRequest};
pub use node_built::{node_label, verify_built};
pub use node_signed::verify_signed;
pub use payment_watch::PaymentWatch;
pub use payments::{CREATED_COUNTER, Payment, UPDATED_COUNTER, aggregate};
pub use text::{Description, Issuer, Label};
pub use views::{Created, InvoiceRequestView, Page};

use crate::node::Node;
use crate::store::Store;

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
}
