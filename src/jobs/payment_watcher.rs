//! Follows the node's payments (long-polling `wait sendpays`) onto the invoice requests.

use std::time::Duration;

use crate::service::Service;

/// Runs forever: one long-poll round after another; backs off after an error.
pub async fn run(service: Service, wait: Duration) {
    let mut backoff = Duration::from_millis(200);
    loop {
        match service.follow_payments_once(wait).await {
            Ok(_) => backoff = Duration::from_millis(200),
            Err(e) => {
                tracing::warn!(error = %e, "payment watcher: retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}
