//! Settling `pending` records against the node: nothing created is lost, nothing twice.

use super::{InvoiceRequestView, Service, ServiceError, unix_now};
use crate::bolt12::InvoiceRequest;
use crate::store::{InvoiceRequestRecord, Status};

impl Service {
    /// Asks the node whether it holds a pending request; activates it if so (after checking
    /// what it holds), fails it if not. `None` when the node does not have it.
    pub(super) async fn settle(
        &self,
        record: &InvoiceRequestRecord,
    ) -> Result<Option<InvoiceRequestView>, ServiceError> {
        let held = self.node.list(Some(&record.invreq_id)).await?;
        let Some(held) = held.into_iter().find(|n| n.invreq_id == record.invreq_id) else {
            self.fail(record).await?;
            return Ok(None);
        };
        let valid = InvoiceRequest::decode(&held.bolt12).is_ok_and(|signed| {
            signed.payer_id() == self.node.info().id
                && hex::encode(signed.invreq_id()) == record.invreq_id
                && signed.signature().is_some()
        });
        if !valid {
            self.fail(record).await?;
            let _ = self.node.disable(&record.invreq_id).await;
            return Err(ServiceError::NodeMismatch(
                "the node holds a request with this id that does not verify".into(),
            ));
        }
        let mut signed = record.clone();
        signed.bolt12 = held.bolt12.clone();
        self.activate(&signed).await?;
        if !held.active || held.used {
            let to = if held.used {
                Status::Paid
            } else {
                Status::Disabled
            };
            let mut open = signed;
            open.status = Status::Open;
            open.active = true;
            self.move_request(&open, &[Status::Open], to, false, held.used, unix_now())
                .await?;
        }
        let record = self
            .store
            .get_any(&record.invreq_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(record.invreq_id.clone()))?;
        self.view(record).await.map(Some)
    }

    /// Settles every pending record older than `min_age_secs`; returns how many were settled.
    pub async fn reconcile_pending(&self, min_age_secs: u64) -> Result<usize, ServiceError> {
        let cutoff = unix_now().saturating_sub(min_age_secs);
        let mut settled = 0;
        loop {
            let batch = self.store.pending(cutoff, 100).await?;
            if batch.is_empty() {
                return Ok(settled);
            }
            let n = batch.len();
            for record in &batch {
                match self.settle(record).await {
                    Ok(Some(_)) => {
                        crate::metrics::created();
                        settled += 1;
                    }
                    Ok(None) | Err(ServiceError::NodeMismatch(_)) => settled += 1,
                    Err(e) => {
                        tracing::warn!(invreq_id = %record.invreq_id, error = %e, "could not settle pending invoice request");
                        return Ok(settled);
                    }
                }
            }
            if n < 100 {
                return Ok(settled);
            }
        }
    }
}
