//! Posting queued deliveries: claim (a lease), sign, post, record the attempt and what follows.
//!
//! A delivery is `POST <url>` with the JSON body `{"type", "timestamp", "data"}` and the
//! Standard Webhooks headers `webhook-id` (the event's id: the same on every attempt),
//! `webhook-timestamp` (seconds since 1970, at sending) and `webhook-signature`. A 2xx answer
//! within the timeout is delivered; anything else is retried after the next wait of the
//! schedule, with up to ±20 % jitter, and once the schedule is used up the delivery has failed,
//! the endpoint is marked failing and a `webhook_endpoint.failing` event says so.

use std::time::{Duration, Instant};

use rand::Rng;
use serde::Serialize;
use serde_json::value::RawValue;

use super::destination::{RefusedDestination, resolver};
use super::{WebhookSettings, now_ms};
use crate::service::events::{EventType, event_id};
use crate::service::{Service, ServiceError, unix_now};
use crate::store::{AttemptRecord, ClaimedDelivery, DeliveryNext, NewEvent};

/// Longest error text kept with an attempt.
const MAX_ERROR_CHARS: usize = 300;

/// The body of a delivery.
#[derive(Serialize)]
struct Payload<'a> {
    #[serde(rename = "type")]
    kind: &'a str,
    timestamp: String,
    data: &'a RawValue,
}

/// Posts deliveries for one replica.
#[derive(Clone)]
pub struct Deliverer {
    service: Service,
    client: reqwest::Client,
    settings: WebhookSettings,
}

/// How one post ended.
struct Outcome {
    status_code: Option<u16>,
    outcome: &'static str,
    error: Option<String>,
}

impl Deliverer {
    /// A deliverer with its own HTTP client: no proxy, no redirects, the timeout of the
    /// settings, and the resolver that refuses private addresses (unless allowed).
    ///
    /// # Errors
    /// When the HTTP client cannot be built (TLS setup).
    pub fn new(service: Service) -> Result<Self, reqwest::Error> {
        let settings = service.config().webhooks.clone();
        let client = reqwest::Client::builder()
            .no_proxy()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout)
            .user_agent(concat!("invreqd-webhooks/", env!("CARGO_PKG_VERSION")))
            .dns_resolver(resolver(settings.destinations))
            .build()?;
        Ok(Self {
            service,
            client,
            settings,
        })
    }

    /// The lease a claim takes: long enough for one post (at most the timeout) and its record;
    /// after it, another deliverer may post the delivery again (same `webhook-id`).
    fn lease(&self) -> Duration {
        self.settings.timeout * 2 + Duration::from_secs(2)
    }

    /// Claims the due deliveries (up to the concurrency), posts them at once and records
    /// them; returns how many it handled.
    ///
    /// # Errors
    /// `Store` when the queue cannot be read.
    pub async fn run_once(&self) -> Result<usize, ServiceError> {
        use futures::StreamExt;
        let claimed = self
            .service
            .store()
            .claim_deliveries(
                now_ms(),
                self.lease().as_millis() as u64,
                self.settings.concurrency.max(1) as u32,
            )
            .await?;
        let n = claimed.len();
        futures::stream::iter(claimed)
            .for_each_concurrent(None, |d| async move {
                if let Err(e) = self.deliver(&d).await {
                    tracing::warn!(webhook_id = %d.endpoint.id, event_id = %event_id(d.event.seq), error = %e, "could not record a webhook attempt; it is retried once its lease ends");
                }
            })
            .await;
        Ok(n)
    }

    /// Posts one claimed delivery and records the attempt.
    async fn deliver(&self, d: &ClaimedDelivery) -> Result<(), ServiceError> {
        let id = event_id(d.event.seq);
        let started_ms = now_ms();
        let started = Instant::now();
        let result = self.post(d, &id).await;
        let latency_ms = started.elapsed().as_millis() as u64;
        crate::metrics::webhook_delivery(result.outcome);
        let next = if result.outcome == "delivered" {
            DeliveryNext::Delivered
        } else {
            match self.settings.retry_schedule.get(d.attempt as usize - 1) {
                Some(wait) => {
                    let jitter = rand::thread_rng().gen_range(0.8..=1.2);
                    DeliveryNext::RetryAt(now_ms() + wait.mul_f64(jitter).as_millis() as u64)
                }
                None => DeliveryNext::GiveUp,
            }
        };
        let attempt = AttemptRecord {
            endpoint_id: d.endpoint.id.clone(),
            event_seq: d.event.seq,
            attempt: d.attempt,
            started_ms,
            latency_ms,
            status_code: result.status_code,
            outcome: result.outcome.to_owned(),
            error: result.error.clone(),
        };
        let failing_event = (next == DeliveryNext::GiveUp).then(|| {
            let data = serde_json::json!({
                "webhook_id": d.endpoint.id,
                "url": d.endpoint.url,
                "event_id": id,
                "attempts": d.attempt,
                "last_outcome": result.outcome,
                "last_status_code": result.status_code,
            })
            .to_string();
            let mut e = NewEvent::new(
                &d.endpoint.tenant,
                EventType::EndpointFailing.as_str(),
                &d.endpoint.id,
                data,
            );
            e.except_endpoint = Some(d.endpoint.id.clone());
            e
        });
        let became_failing = self
            .service
            .store()
            .finish_attempt(d.seq, &attempt, next, failing_event.as_ref(), unix_now())
            .await?;
        match next {
            DeliveryNext::Delivered => {
                tracing::debug!(webhook_id = %d.endpoint.id, event_id = %id, attempt = d.attempt, latency_ms, "webhook delivered")
            }
            DeliveryNext::RetryAt(at) => {
                tracing::info!(webhook_id = %d.endpoint.id, event_id = %id, attempt = d.attempt, outcome = result.outcome, status = ?result.status_code, error = ?result.error, retry_in_ms = at.saturating_sub(now_ms()), "webhook delivery failed; retrying")
            }
            DeliveryNext::GiveUp => {
                tracing::warn!(webhook_id = %d.endpoint.id, event_id = %id, attempts = d.attempt, outcome = result.outcome, "webhook delivery failed for good; the endpoint is failing")
            }
        }
        if became_failing {
            self.service.events_notify().notify_one();
        }
        Ok(())
    }

    /// Signs and posts; never fails, says how it ended.
    async fn post(&self, d: &ClaimedDelivery, id: &str) -> Outcome {
        let fail = |outcome: &'static str, error: String| Outcome {
            status_code: None,
            outcome,
            error: Some(error.chars().take(MAX_ERROR_CHARS).collect()),
        };
        let url = match reqwest::Url::parse(&d.endpoint.url) {
            Ok(u) => u,
            Err(e) => return fail("refused", format!("invalid url: {e}")),
        };
        if let Err(e) = self.settings.destinations.check_literal(&url) {
            return fail("refused", e.to_string());
        }
        let Ok(data) = RawValue::from_string(d.event.data.clone()) else {
            return fail("refused", "the stored event is not JSON".into());
        };
        let timestamp = time::OffsetDateTime::from_unix_timestamp(d.event.created_at as i64)
            .ok()
            .and_then(|t| {
                t.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
            .unwrap_or_default();
        let body = match serde_json::to_vec(&Payload {
            kind: &d.event.kind,
            timestamp,
            data: &data,
        }) {
            Ok(b) => b,
            Err(e) => return fail("refused", format!("could not encode the body: {e}")),
        };
        let sent_at = unix_now();
        let secret = super::WebhookSecret::from_stored(d.endpoint.secret.clone());
        let Some(signature) = secret.sign(id, sent_at, &body) else {
            return fail(
                "refused",
                "the endpoint's secret is not whsec_ base64".into(),
            );
        };
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", id)
            .header("webhook-timestamp", sent_at.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        match sent {
            Ok(res) => {
                let status = res.status();
                // Read (a little of) the body so the connection can be reused; its content
                // does not matter.
                let _ = tokio::time::timeout(Duration::from_secs(1), res.bytes()).await;
                if status.is_success() {
                    Outcome {
                        status_code: Some(status.as_u16()),
                        outcome: "delivered",
                        error: None,
                    }
                } else {
                    Outcome {
                        status_code: Some(status.as_u16()),
                        outcome: "http_error",
                        error: Some(format!("the receiver answered {status}")),
                    }
                }
            }
            Err(e) if refused(&e) => fail("refused", describe(&e)),
            Err(e) if e.is_timeout() => fail(
                "timeout",
                format!("no answer within {} ms", self.settings.timeout.as_millis()),
            ),
            Err(e) => fail("connect_error", describe(&e)),
        }
    }
}

/// Whether the error chain holds a destination the resolver refused.
fn refused(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<RefusedDestination>() {
            return true;
        }
        source = s.source();
    }
    false
}

/// The error and its causes on one line.
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
