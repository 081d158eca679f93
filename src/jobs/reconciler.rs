//! Settles `pending` records (a create whose node answer was lost) at start-up and periodically.

use std::time::Duration;

use super::StopSignal;
use crate::service::Service;

/// One pass now, then one every `interval`, until `stop` fires (checked between passes).
pub async fn run(service: Service, interval: Duration, mut stop: StopSignal) {
    // A pending record younger than the node timeout may be a create still in flight (here or
    // on a sibling replica), so only older ones are settled.
    let min_age = service.config().node_timeout.as_secs() + 5;
    while !stop.is_stopping() {
        match service.reconcile_pending(min_age).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(settled = n, "reconciled pending invoice requests"),
            Err(e) => tracing::warn!(error = %e, "reconciler failed"),
        }
        if let Err(e) = service.disable_failed_but_live().await {
            tracing::warn!(error = %e, "reconciler: failed-record check failed");
        }
        tokio::select! {
            () = tokio::time::sleep(interval) => {}
            () = stop.stopped() => {}
        }
    }
}
