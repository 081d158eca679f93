//! Following the node's payments onto the invoice requests they pay.
//!
//! CLN does not expose which invoice request a payment was for: each payment's `bolt12`
//! invoice (`lni1…`) copies the request's records, so its `invreq_id` is recomputed from them.

use std::time::Duration;

use super::{Service, ServiceError, unix_now};
use crate::bolt12::invreq_id_of_invoice;
use crate::node::NodePayment;
use crate::store::{PaymentRecord, Status};

/// Store counter: the highest `created_index` of sendpays already recorded.
pub const CREATED_COUNTER: &str = "cln.sendpays.created";
/// Store counter: the highest `updated_index` of sendpays already recorded.
pub const UPDATED_COUNTER: &str = "cln.sendpays.updated";

impl Service {
    /// Records one payment on the invoice request it pays and moves the request: a pending
    /// payment makes it `paying`; a complete one makes it `used` (single-use: `paid`, inactive);
    /// a failed one makes a `paying` request `open` again. Returns whether it was one of ours.
    pub async fn record_payment(&self, p: &NodePayment) -> Result<bool, ServiceError> {
        let Some(lni) = p.bolt12.as_deref() else {
            return Ok(false);
        };
        let invreq_id = match invreq_id_of_invoice(lni) {
            Ok(id) => hex::encode(id),
            Err(e) => {
                tracing::debug!(payment_hash = %p.payment_hash, error = %e, "payment invoice does not decode");
                return Ok(false);
            }
        };
        let Some(record) = self.store.get_any(&invreq_id).await? else {
            return Ok(false);
        };
        let now = unix_now();
        self.store
            .upsert_payment(
                &PaymentRecord {
                    payment_hash: p.payment_hash.clone(),
                    invreq_id: invreq_id.clone(),
                    status: p.status.clone(),
                    amount_msat: p.amount_msat,
                    amount_sent_msat: p.amount_sent_msat,
                    preimage: p.preimage.clone(),
                    created_at: p.created_at,
                    completed_at: p.completed_at,
                },
                now,
            )
            .await?;
        let (from, to, active, used): (&[Status], Status, bool, bool) = match p.status.as_str() {
            "pending" => (&[Status::Open], Status::Paying, true, record.used),
            "complete" if record.single_use => (
                &[
                    Status::Open,
                    Status::Paying,
                    Status::Disabled,
                    Status::Expired,
                ],
                Status::Paid,
                false,
                true,
            ),
            "complete" => (&[Status::Open, Status::Paying], Status::Open, true, true),
            "failed" => (&[Status::Paying], Status::Open, true, record.used),
            _ => return Ok(true),
        };
        if self
            .store
            .transition(&invreq_id, from, to, active, used, now)
            .await?
        {
            tracing::info!(%invreq_id, payment_hash = %p.payment_hash, status = %p.status, "payment recorded");
        }
        Ok(true)
    }

    /// One round of the payment watcher: the node's payments after the stored indexes (waiting
    /// up to `wait` for news), recorded, then the indexes moved on. Returns how many were seen.
    pub async fn follow_payments_once(&self, wait: Duration) -> Result<usize, ServiceError> {
        let created = self.store.counter(CREATED_COUNTER).await?;
        let updated = self.store.counter(UPDATED_COUNTER).await?;
        let payments = self.node.payments_since(created, updated, wait).await?;
        let (mut max_created, mut max_updated) = (created, updated);
        for p in &payments {
            self.record_payment(p).await?;
            max_created = max_created.max(p.created_index);
            max_updated = max_updated.max(p.updated_index.unwrap_or(0));
        }
        // Only after every payment is recorded: a crash in between replays, never skips.
        if max_created != created {
            self.store.set_counter(CREATED_COUNTER, max_created).await?;
        }
        if max_updated != updated {
            self.store.set_counter(UPDATED_COUNTER, max_updated).await?;
        }
        Ok(payments.len())
    }
}
