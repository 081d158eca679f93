//! Expiry is ours to enforce: Core Lightning keeps an expired request active and pays it.

use super::{Service, ServiceError, unix_now};
use crate::node::NodeError;
use crate::store::{InvoiceRequestRecord, Status};

/// How many node calls the sweeper makes at once.
const CONCURRENCY: usize = 16;

impl Service {
    /// Disables on the node, and marks `expired`, every active request whose expiry has
    /// passed; returns how many it settled. A request the node reports paid ends `paid`.
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
            let results: Vec<Result<(), ServiceError>> = futures::stream::iter(due)
                .map(|r| async move { self.expire_one(&r).await })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            let mut failed = 0;
            for r in results {
                match r {
                    Ok(()) => settled += 1,
                    Err(e) => {
                        failed += 1;
                        tracing::warn!(error = %e, "could not expire an invoice request; retrying later");
                    }
                }
            }
            if failed > 0 || n < 500 {
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

    async fn expire_one(&self, r: &InvoiceRequestRecord) -> Result<(), ServiceError> {
        let from = [Status::Open, Status::Paying];
        let used = match self.node.disable(&r.invreq_id).await {
            Ok(held) => held.used,
            // Already inactive on the node: it may have been paid just before; the node decides.
            Err(NodeError::NotActive) => self
                .node
                .list(Some(&r.invreq_id))
                .await?
                .first()
                .is_some_and(|n| n.used),
            Err(NodeError::UnknownInvoiceRequest(_)) => false,
            Err(e) => return Err(e.into()),
        };
        let (to, why) = if used {
            (Status::Paid, "paid before it expired")
        } else {
            (Status::Expired, "expired")
        };
        if self
            .store
            .transition(&r.invreq_id, &from, to, false, used, unix_now())
            .await?
        {
            tracing::info!(invreq_id = %r.invreq_id, status = to.as_str(), "invoice request {why}");
        }
        Ok(())
    }

    /// The next instant (seconds since 1970) an active request expires.
    pub async fn next_expiry(&self) -> Result<Option<u64>, ServiceError> {
        Ok(self.store.next_expiry().await?)
    }
}
