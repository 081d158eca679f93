//! Webhook delivery, on every replica: each claims due deliveries with a lease (PostgreSQL:
//! `FOR UPDATE SKIP LOCKED`), so replicas share the work and a delivery is posted by one of
//! them at a time. And, on the leader only, the pruning of events past their retention.

use std::time::Duration;

use super::StopSignal;
use crate::service::Service;
use crate::service::webhooks::deliver::Deliverer;

/// Time between two prunings of the event log.
const PRUNE_INTERVAL: Duration = Duration::from_secs(3600);

/// Posts due deliveries until `stop` fires (checked between rounds; a round's posts finish).
/// Wakes when this process writes an event, else every poll interval.
pub async fn run(service: Service, mut stop: StopSignal) {
    let deliverer = match Deliverer::new(service.clone()) {
        Ok(d) => d,
        Err(e) => {
            tracing::error!(error = %e, "webhook deliverer cannot start: no webhook is delivered by this replica");
            return;
        }
    };
    let notify = service.events_notify();
    let poll = service.config().webhooks.poll_interval;
    let full = service.config().webhooks.concurrency.max(1);
    while !stop.is_stopping() {
        let handled = match deliverer.run_once().await {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "webhook deliverer could not read its queue");
                0
            }
        };
        if handled >= full {
            continue; // More may be due right now.
        }
        tokio::select! {
            () = notify.notified() => {}
            () = tokio::time::sleep(poll) => {}
            () = stop.stopped() => {}
        }
    }
}

/// Prunes events past their retention now and every hour, until `stop` fires.
pub async fn prune(service: Service, mut stop: StopSignal) {
    while !stop.is_stopping() {
        match service.prune_events().await {
            Ok(0) => {}
            Ok(n) => tracing::info!(pruned = n, "events past their retention deleted"),
            Err(e) => tracing::warn!(error = %e, "could not prune events"),
        }
        tokio::select! {
            () = tokio::time::sleep(PRUNE_INTERVAL) => {}
            () = stop.stopped() => {}
        }
    }
}
