//! Follows the node's payments (long-polling `wait sendpays`) onto the invoice requests.

use std::time::Duration;

use super::StopSignal;
use crate::service::{PaymentWatch, Service, ServiceError};

/// The longest wait between rounds after errors: a node that comes back is followed again soon.
const MAX_BACKOFF: Duration = Duration::from_secs(3);

/// One long-poll round after another (backing off after an error) until `stop` fires; a
/// round is cut at its long-poll, before anything is recorded, so stopping loses nothing.
pub async fn run(service: Service, wait: Duration, stop: StopSignal) {
    follow(&service, wait, stop).await;
    service.set_payment_watch(PaymentWatch::Starting);
}

async fn follow(service: &Service, wait: Duration, mut stop: StopSignal) {
    let mut backoff = Duration::from_millis(200);
    while !stop.is_stopping() {
        let round = tokio::select! {
            r = service.follow_payments_once(wait) => r,
            () = stop.stopped() => return,
        };
        match round {
            Ok(_) => {
                service.set_payment_watch(PaymentWatch::Ok);
                backoff = Duration::from_millis(200);
            }
            Err(e) => {
                service.set_payment_watch(PaymentWatch::Failing(match &e {
                    ServiceError::Node(n) => n.kind(),
                    ServiceError::Store(_) => "store",
                    _ => "error",
                }));
                tracing::warn!(error = %e, "payment watcher: retrying");
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = stop.stopped() => return,
                }
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
