//! Settles `pending` records (a create whose node answer was lost) at start-up and periodically.

use std::time::Duration;

use crate::service::Service;

/// Runs forever: one pass now, then one every `interval`.
pub async fn run(service: Service, interval: Duration) {
    // A pending record younger than the node timeout may be a create still in flight (here or
    // on a sibling replica), so only older ones are settled.
    let min_age = service.config().node_timeout.as_secs() + 5;
    loop {
        match service.reconcile_pending(min_age).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(settled = n, "reconciled pending invoice requests"),
            Err(e) => tracing::warn!(error = %e, "reconciler failed"),
        }
        tokio::time::sleep(interval).await;
    }
}
