//! The reconciler's passes: settling `pending` records against the node (nothing created is
//! lost, nothing twice) and checking that no `failed` record is live on the node.

use super::create::Settled;
use super::{Service, ServiceError, unix_now};

/// How far back `failed` records are checked once more against the node, seconds.
const FAILED_RECHECK_SECS: u64 = 3600;

impl Service {
    /// Settles every pending record older than `min_age_secs`; returns how many were settled
    /// (made active or failed for good). Records whose outcome is still unknown stay pending
    /// for the next pass.
    ///
    /// # Errors
    /// Store errors; node errors end the pass early (logged) and count what was done.
    pub async fn reconcile_pending(&self, min_age_secs: u64) -> Result<usize, ServiceError> {
        let cutoff = unix_now().saturating_sub(min_age_secs);
        let mut settled = 0;
        loop {
            let batch = self.store.pending(cutoff, 100).await?;
            let before = settled;
            for record in &batch {
                match self.settle(record).await {
                    Ok(Settled::Created(_)) => {
                        crate::metrics::created();
                        settled += 1;
                    }
                    Ok(Settled::Failed) | Err(ServiceError::NodeMismatch(_)) => settled += 1,
                    Ok(Settled::Unknown) => {}
                    Err(e) => {
                        tracing::warn!(invreq_id = %record.invreq_id, error = %e, "could not settle pending invoice request");
                        return Ok(settled);
                    }
                }
            }
            // A full batch that settled something: there may be more behind it. One that
            // settled nothing would only be read again (its outcomes are still unknown).
            if batch.len() < 100 || settled == before {
                return Ok(settled);
            }
        }
    }

    /// Looks for recently `failed` records that the node holds active anyway (a late create
    /// the store had given up on) and disables them there: a failed record must never be
    /// payable. Returns how many were disabled; each is logged and counted in the metric
    /// `invoice_requests_failed_but_live_total`.
    ///
    /// # Errors
    /// Store errors; node errors end the pass early (logged).
    pub async fn disable_failed_but_live(&self) -> Result<usize, ServiceError> {
        if self.node.signs_locally() {
            return Ok(0);
        }
        let since = unix_now().saturating_sub(FAILED_RECHECK_SECS);
        let mut disabled = 0;
        for record in self.store.recently_failed(since, 100).await? {
            let held = match self.node.list(Some(&record.invreq_id)).await {
                Ok(held) => held,
                Err(e) => {
                    tracing::warn!(error = %e, "could not check failed invoice requests on the node");
                    return Ok(disabled);
                }
            };
            if !held
                .iter()
                .any(|n| n.invreq_id == record.invreq_id && n.active)
            {
                continue;
            }
            tracing::warn!(invreq_id = %record.invreq_id, "a request recorded as failed is active on the node: disabling it there");
            crate::metrics::failed_but_live();
            match self.node.disable(&record.invreq_id).await {
                Ok(_) | Err(crate::node::NodeError::NotActive) => disabled += 1,
                Err(e) => {
                    tracing::warn!(invreq_id = %record.invreq_id, error = %e, "could not disable a failed request on the node")
                }
            }
        }
        Ok(disabled)
    }
}
