//! Expiry is ours to enforce: Core Lightning keeps an expired request active and pays it.

use super::{Service, ServiceError, unix_now};
use crate::domain::lifecycle;
use crate::node::NodeError;
use crate::store::{InvoiceRequestRecord, Status};

/// How many node calls the sweeper makes at once.
const CONCURRENCY: usize = 16;

impl Service {
    /// Disables on the node, and marks `expired`, every active request whose expiry has
    /// passed; returns how many it settled. A request the node reports paid ends `paid`. A
    /// request with a payment in flight is left for a later sweep (the API shows it `expired`
    /// meanwhile): disabling it now would crash Core Lightning v26.06.6 when the payment
    /// completes (notes/cln-e2e.md F1).
    pub async fn sweep_expired(&self) -> Result<usize, ServiceError> {
        use futures::StreamExt;
        let mut settled = 0;
        loop {
            let now = unix_now();
            let due = self.store.expired_active(now, 500).await?;
            if due.is_empty() {
                return Ok(settled);
            }
            let n = due.len();
            let results: Vec<Result<bool, ServiceError>> = futures::stream::iter(due)
                .map(|r| async move { self.expire_one(&r).await })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            let (mut failed, mut deferred) = (0, 0);
            for r in results {
                match r {
                    Ok(true) => settled += 1,
                    Ok(false) => deferred += 1,
                    Err(e) => {
                        failed += 1;
                        tracing::warn!(error = %e, "could not expire an invoice request; retrying later");
                    }
                }
            }
            if failed > 0 || deferred > 0 || n < 500 {
                return if failed > 0 && settled == 0 {
                    Err(ServiceError::Node(NodeError::Other(format!(
                        "{failed} expiries failed"
                    ))))
                } else {
                    Ok(settled)
                };
            }
        }
    }

    /// Settles one expired request; `false` when it must wait for a payment in flight.
    async fn expire_one(&self, r: &InvoiceRequestRecord) -> Result<bool, ServiceError> {
        if r.status == Status::Paying {
            return Ok(false);
        }
        // Already inactive on the node (paid just before, or disabled elsewhere): follow it
        // without a disable. The node layer refuses to disable with a payment in flight.
        let held = self.node.list(Some(&r.invreq_id)).await?;
        let used = match held.first() {
            None => false,
            Some(n) if !n.active => n.used,
            Some(_) => match self.node.disable(&r.invreq_id).await {
                Ok(held) => held.used,
                Err(NodeError::PaymentInFlight) => {
                    tracing::info!(invreq_id = %r.invreq_id, "expired with a payment in flight; disabling it on the node once the payment settles");
                    return Ok(false);
                }
                Err(NodeError::NotActive) => self
                    .node
                    .list(Some(&r.invreq_id))
                    .await?
                    .first()
                    .is_some_and(|n| n.used),
                Err(NodeError::UnknownInvoiceRequest(_)) => false,
                Err(e) => return Err(e.into()),
            },
        };
        let mv = lifecycle::after_expiry(r.single_use, used, r.used);
        if self.move_request(r, &mv, unix_now()).await? {
            let why = if mv.to() == Status::Paid {
                "paid before it expired"
            } else {
                "expired"
            };
            tracing::info!(invreq_id = %r.invreq_id, status = mv.to().as_str(), "invoice request {why}");
        }
        Ok(true)
    }

    /// The next instant (seconds since 1970) an active request expires.
    pub async fn next_expiry(&self) -> Result<Option<u64>, ServiceError> {
        Ok(self.store.next_expiry().await?)
    }
}
