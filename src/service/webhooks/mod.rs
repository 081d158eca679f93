//! Webhook endpoints of a tenant and the delivery of its events to them, following the
//! Standard Webhooks specification (<https://www.standardwebhooks.com/>).
//!
//! Every event fans out, in the transaction that writes it, into one queued delivery per
//! subscribed endpoint ([`crate::store::NewEvent`]). The deliverer ([`deliver::Deliverer`],
//! run on every replica by `jobs::webhook_delivery`) claims due deliveries with a lease, posts
//! them, and records each attempt; a crash between the post and the record lets the lease run
//! out, and the delivery is posted again with the same `webhook-id`.

pub mod deliver;
pub mod destination;
pub mod sign;

use std::time::Duration;

use super::events::{Event, EventType};
use super::{EventId, Service, ServiceError, WebhookId, unix_now};
use crate::store::{AttemptRecord, EndpointRecord, NewEvent};
pub use destination::DestinationPolicy;
pub use sign::WebhookSecret;

/// Settings of webhook delivery.
#[derive(Debug, Clone)]
pub struct WebhookSettings {
    /// Which destinations are allowed.
    pub destinations: DestinationPolicy,
    /// The wait before each retry: after the first failed attempt the first entry, and so on;
    /// once every entry is used the delivery has failed and the endpoint is marked failing.
    pub retry_schedule: Vec<Duration>,
    /// How long a receiver has to answer 2xx.
    pub timeout: Duration,
    /// How often the deliverer looks for due deliveries when nothing woke it.
    pub poll_interval: Duration,
    /// Deliveries in flight at once, per replica.
    pub concurrency: usize,
}

/// The default retry schedule: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then daily twice.
pub const DEFAULT_RETRY_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,1d,1d";

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            destinations: DestinationPolicy::default(),
            retry_schedule: parse_schedule(DEFAULT_RETRY_SCHEDULE).unwrap_or_default(),
            timeout: Duration::from_secs(10),
            poll_interval: Duration::from_millis(500),
            concurrency: 16,
        }
    }
}

/// Reads a retry schedule: comma-separated durations, each digits and a unit (`ms`, `s`, `m`,
/// `h` or `d`), e.g. `5s,5m,30m`.
///
/// # Errors
/// A message naming the entry that does not read.
pub fn parse_schedule(s: &str) -> Result<Vec<Duration>, String> {
    s.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let split = p.find(|c: char| !c.is_ascii_digit()).unwrap_or(p.len());
            let (n, unit) = p.split_at(split);
            let n: u64 = n
                .parse()
                .map_err(|_| format!("{p:?} does not start with a number"))?;
            let ms = match unit {
                "ms" => 1,
                "s" => 1000,
                "m" => 60_000,
                "h" => 3_600_000,
                "d" => 86_400_000,
                _ => return Err(format!("{p:?}: the unit must be ms, s, m, h or d")),
            };
            Ok(Duration::from_millis(n.saturating_mul(ms)))
        })
        .collect()
}

/// A retry schedule as the command line gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetrySchedule(pub Vec<Duration>);

impl RetrySchedule {
    /// Reads one ([`parse_schedule`]).
    ///
    /// # Errors
    /// A message naming the entry that does not read.
    pub fn parse(s: &str) -> Result<Self, String> {
        parse_schedule(s).map(Self)
    }
}

/// An endpoint to register.
#[derive(Debug, Clone)]
pub struct NewWebhook {
    /// Where deliveries go.
    pub url: String,
    /// Types to deliver; empty: every type.
    pub event_types: Vec<EventType>,
    /// Whether new events are queued for it.
    pub enabled: bool,
}

/// A webhook endpoint as its tenant sees it (never its secret).
#[derive(Debug, Clone)]
pub struct Webhook {
    /// `wh_…`.
    pub id: String,
    /// Where deliveries go.
    pub url: String,
    /// Subscribed types; empty: every type.
    pub event_types: Vec<String>,
    /// Whether new events are queued for it.
    pub enabled: bool,
    /// Whether a delivery ran out of attempts since its last success.
    pub failing: bool,
    /// Seconds since 1970.
    pub created_at: u64,
}

impl From<EndpointRecord> for Webhook {
    fn from(e: EndpointRecord) -> Self {
        Self {
            id: e.id,
            url: e.url,
            event_types: e.event_types,
            enabled: e.enabled,
            failing: e.failing,
            created_at: e.created_at,
        }
    }
}

/// One attempt to deliver an event to an endpoint.
#[derive(Debug, Clone)]
pub struct Attempt {
    /// The event's id (the `webhook-id` sent).
    pub event_id: String,
    /// The event's type.
    pub event_type: String,
    /// 1 for the first attempt.
    pub attempt: u32,
    /// When it started, ms since 1970.
    pub started_ms: u64,
    /// How long it took, ms.
    pub latency_ms: u64,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// `delivered`, `http_error`, `timeout`, `refused` or `connect_error`.
    pub outcome: String,
    /// What went wrong.
    pub error: Option<String>,
}

impl Service {
    /// Registers an endpoint; returns it with its signing secret (shown this once).
    ///
    /// # Errors
    /// `Validation` for a URL the policy refuses or an unknown event type; `Store`.
    pub async fn create_webhook(
        &self,
        tenant: &str,
        new: NewWebhook,
    ) -> Result<(Webhook, WebhookSecret), ServiceError> {
        let url = self
            .config
            .webhooks
            .destinations
            .check_url(&new.url)?
            .to_string();
        let mut types: Vec<String> = Vec::new();
        for t in new.event_types {
            let name = t.as_str().to_owned();
            if !types.contains(&name) {
                types.push(name);
            }
        }
        let secret = WebhookSecret::generate();
        let record = EndpointRecord {
            id: WebhookId::generate().as_str().to_owned(),
            tenant: tenant.to_owned(),
            url,
            event_types: types,
            enabled: new.enabled,
            secret: secret.expose().to_owned(),
            failing: false,
            created_at: unix_now(),
        };
        self.store.insert_endpoint(&record).await?;
        tracing::info!(tenant, webhook_id = %record.id, "webhook endpoint registered");
        Ok((Webhook::from(record), secret))
    }

    /// A tenant's endpoints.
    pub async fn webhooks(&self, tenant: &str) -> Result<Vec<Webhook>, ServiceError> {
        let list = self.store.endpoints(tenant).await?;
        Ok(list.into_iter().map(Webhook::from).collect())
    }

    /// One endpoint of a tenant.
    ///
    /// # Errors
    /// `WebhookNotFound`; `Store`.
    pub async fn webhook(&self, tenant: &str, id: &WebhookId) -> Result<Webhook, ServiceError> {
        self.endpoint(tenant, id).await.map(Webhook::from)
    }

    async fn endpoint(&self, tenant: &str, id: &WebhookId) -> Result<EndpointRecord, ServiceError> {
        self.store
            .endpoint(tenant, id.as_str())
            .await?
            .ok_or_else(|| ServiceError::WebhookNotFound(id.as_str().to_owned()))
    }

    /// Deletes an endpoint and drops what is queued for it.
    ///
    /// # Errors
    /// `WebhookNotFound`; `Store`.
    pub async fn delete_webhook(&self, tenant: &str, id: &WebhookId) -> Result<(), ServiceError> {
        if self.store.delete_endpoint(tenant, id.as_str()).await? {
            tracing::info!(tenant, webhook_id = %id.as_str(), "webhook endpoint deleted");
            Ok(())
        } else {
            Err(ServiceError::WebhookNotFound(id.as_str().to_owned()))
        }
    }

    /// Queues a `webhook.test` event for one endpoint; returns the event.
    ///
    /// # Errors
    /// `WebhookNotFound`; `Store`.
    pub async fn test_webhook(&self, tenant: &str, id: &WebhookId) -> Result<Event, ServiceError> {
        let endpoint = self.endpoint(tenant, id).await?;
        let now = unix_now();
        let data = serde_json::json!({"webhook_id": endpoint.id, "url": endpoint.url}).to_string();
        let mut event = NewEvent::new(tenant, EventType::Test.as_str(), &endpoint.id, data);
        event.only_endpoint = Some(endpoint.id.clone());
        let seq = self.store.insert_event(&event, now).await?;
        // A disabled endpoint gets no new events: queue the test explicitly.
        let stored = self
            .store
            .event(tenant, seq)
            .await?
            .ok_or_else(|| ServiceError::EventNotFound(super::events::event_id(seq)))?;
        if !endpoint.enabled {
            self.store
                .requeue_delivery(&endpoint.id, &stored, now_ms())
                .await?;
        }
        self.events_written();
        Ok(Event::from(stored))
    }

    /// Queues one event again for one endpoint, with a fresh set of attempts.
    ///
    /// # Errors
    /// `WebhookNotFound`, `EventNotFound`; `Store`.
    pub async fn resend(
        &self,
        tenant: &str,
        id: &WebhookId,
        event_id: EventId,
    ) -> Result<Event, ServiceError> {
        let endpoint = self.endpoint(tenant, id).await?;
        let stored = self
            .store
            .event(tenant, event_id.seq())
            .await?
            .ok_or_else(|| ServiceError::EventNotFound(event_id.to_string()))?;
        self.store
            .requeue_delivery(&endpoint.id, &stored, now_ms())
            .await?;
        self.events_written();
        Ok(Event::from(stored))
    }

    /// An endpoint's latest attempts, newest first.
    ///
    /// # Errors
    /// `WebhookNotFound`; `Store`.
    pub async fn webhook_attempts(
        &self,
        tenant: &str,
        id: &WebhookId,
        limit: u32,
    ) -> Result<Vec<Attempt>, ServiceError> {
        let endpoint = self.endpoint(tenant, id).await?;
        let rows = self.store.attempts(&endpoint.id, limit).await?;
        Ok(rows
            .into_iter()
            .map(|(a, kind): (AttemptRecord, String)| Attempt {
                event_id: super::events::event_id(a.event_seq),
                event_type: kind,
                attempt: a.attempt,
                started_ms: a.started_ms,
                latency_ms: a.latency_ms,
                status_code: a.status_code,
                outcome: a.outcome,
                error: a.error,
            })
            .collect())
    }
}

/// Milliseconds since 1970, now.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules_read() {
        assert_eq!(
            parse_schedule("5s, 5m,100ms,1d").unwrap(),
            vec![
                Duration::from_secs(5),
                Duration::from_secs(300),
                Duration::from_millis(100),
                Duration::from_secs(86_400)
            ]
        );
        assert!(parse_schedule("5x").is_err());
        assert!(parse_schedule("s").is_err());
        assert_eq!(parse_schedule(DEFAULT_RETRY_SCHEDULE).unwrap().len(), 8);
    }
}
