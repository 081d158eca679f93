//! The service layer's settings.

use std::time::Duration;

use super::events::{EventSettings, minimal_view};
use super::{InvoiceRequestView, Limits, webhooks};

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
