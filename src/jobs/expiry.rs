//! The expiry sweeper: wakes when the next request expires (or when a create signals an
//! earlier one), disables what has expired, and catches up at start-up.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::StopSignal;
use crate::service::Service;

/// The longest sleep: bounds the delay for requests created on another replica.
const MAX_SLEEP: Duration = Duration::from_secs(1);

/// Runs until `stop` fires (checked between sweeps).
pub async fn run(service: Service, mut stop: StopSignal) {
    let wake = service.expiry_notify();
    while !stop.is_stopping() {
        let swept_at = crate::service::unix_now();
        if let Err(e) = service.sweep_expired().await {
            tracing::warn!(error = %e, "expiry sweep incomplete");
        }
        let sleep = match service.next_expiry().await {
            // Still due after a sweep: held back by a payment in flight (a settled payment wakes
            // us) or a node error: try again within the longest sleep, not in a busy loop.
            Ok(Some(at)) if at <= swept_at => MAX_SLEEP,
            Ok(Some(at)) => until(at).min(MAX_SLEEP),
            Ok(None) => MAX_SLEEP,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the next expiry");
                MAX_SLEEP
            }
        };
        tokio::select! {
            () = tokio::time::sleep(sleep) => {},
            () = wake.notified() => {},
            () = stop.stopped() => {},
        }
    }
}

/// Time from now until `at` seconds since 1970 (zero if passed).
fn until(at: u64) -> Duration {
    let target = UNIX_EPOCH + Duration::from_secs(at);
    target
        .duration_since(SystemTime::now())
        .unwrap_or(Duration::ZERO)
}
