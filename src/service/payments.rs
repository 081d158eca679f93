//! Following the node's payments onto the invoice requests they pay, part by part.
//!
//! CLN does not expose which invoice request a payment was for: each payment's `bolt12`
//! invoice (`lni1…`) copies the request's records, so its `invreq_id` is recomputed from them.
//! `listsendpays` has one row per part; a payment is the parts of one `(payment_hash, groupid)`
//! and is summed the way CLN's `listpays` does ([`aggregate`]).

use std::collections::BTreeMap;
use std::time::Duration;

use super::{Service, ServiceError, unix_now};
use crate::bolt12::invreq_id_of_invoice;
use crate::domain::lifecycle::{self, PaymentStatus};
use crate::node::NodePayment;
use crate::store::{PaymentPart, Status};

/// Store counter: the highest `created_index` of sendpays already recorded.
pub const CREATED_COUNTER: &str = "cln.sendpays.created";
/// Store counter: the highest `updated_index` of sendpays already recorded.
pub const UPDATED_COUNTER: &str = "cln.sendpays.updated";

/// One payment: the parts of one `(payment_hash, groupid)`, summed like CLN's `listpays`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    /// Hex payment hash.
    pub payment_hash: String,
    /// The node's `groupid` of this attempt.
    pub groupid: u64,
    /// Complete if any part completed, pending if any is in flight, failed only if all failed.
    pub status: PaymentStatus,
    /// Delivered to the payee, msat: the sum over the parts that completed or are in flight
    /// (0 when every part failed).
    pub amount_msat: u64,
    /// Sent by the node, msat, fees included: the same parts' sum.
    pub amount_sent_msat: u64,
    /// Every part the node made for it, failed ones included.
    pub parts: u32,
    /// Hex preimage, once a part completed.
    pub preimage: Option<String>,
    /// Seconds since 1970 when its first part started.
    pub created_at: u64,
    /// Seconds since 1970 when its last completed part completed.
    pub completed_at: Option<u64>,
    /// The node's `created_index` of its first part (orders payments).
    pub first_index: u64,
}

/// Sums parts into payments, newest first (by the node's index of their first part).
pub fn aggregate(parts: &[PaymentPart]) -> Vec<Payment> {
    let mut groups: BTreeMap<(&str, u64), Vec<&PaymentPart>> = BTreeMap::new();
    for p in parts {
        groups
            .entry((p.payment_hash.as_str(), p.groupid))
            .or_default()
            .push(p);
    }
    let mut out: Vec<Payment> = groups
        .into_iter()
        .map(|((hash, groupid), parts)| {
            let counted = parts.iter().filter(|p| p.status != PaymentStatus::Failed);
            let status = parts
                .iter()
                .map(|p| p.status)
                .min()
                .unwrap_or(PaymentStatus::Failed);
            Payment {
                payment_hash: hash.to_owned(),
                groupid,
                status,
                amount_msat: counted.clone().map(|p| p.amount_msat.unwrap_or(0)).sum(),
                amount_sent_msat: counted.map(|p| p.amount_sent_msat).sum(),
                parts: parts.len() as u32,
                preimage: parts.iter().find_map(|p| p.preimage.clone()),
                created_at: parts.iter().map(|p| p.created_at).min().unwrap_or(0),
                completed_at: parts
                    .iter()
                    .filter(|p| p.status == PaymentStatus::Complete)
                    .filter_map(|p| p.completed_at)
                    .max(),
                first_index: parts.iter().map(|p| p.created_index).min().unwrap_or(0),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (b.first_index, b.created_at, &b.payment_hash).cmp(&(
            a.first_index,
            a.created_at,
            &a.payment_hash,
        ))
    });
    out
}

impl Service {
    /// Records one payment part on the invoice request it pays, then moves the request by its
    /// payments as a whole: a completed payment makes it `used` (single-use: `paid`, inactive,
    /// whatever its status); else one in flight makes an open request `paying`; else a
    /// `paying` one is `open` again. Returns whether it was one of ours.
    pub async fn record_payment(&self, p: &NodePayment) -> Result<bool, ServiceError> {
        let Some(invreq_id) = self.record_part(p).await? else {
            return Ok(false);
        };
        self.follow_payments_of(&invreq_id).await?;
        Ok(true)
    }

    /// Records one payment part; returns the invoice request it pays, if one of ours.
    async fn record_part(&self, p: &NodePayment) -> Result<Option<String>, ServiceError> {
        let Some(lni) = p.bolt12.as_deref() else {
            return Ok(None);
        };
        let invreq_id = match invreq_id_of_invoice(lni) {
            Ok(id) => hex::encode(id),
            Err(e) => {
                tracing::debug!(payment_hash = %p.payment_hash, error = %e, "payment invoice does not decode");
                return Ok(None);
            }
        };
        if self.store.get_any(&invreq_id).await?.is_none() {
            return Ok(None);
        }
        let Some(status) = PaymentStatus::parse(&p.status) else {
            tracing::warn!(%invreq_id, payment_hash = %p.payment_hash, status = %p.status, "payment part with a status CLN does not use; not recorded");
            return Ok(None);
        };
        self.store
            .upsert_payment_part(
                &PaymentPart {
                    payment_hash: p.payment_hash.clone(),
                    groupid: p.groupid,
                    partid: p.partid,
                    invreq_id: invreq_id.clone(),
                    status,
                    amount_msat: p.amount_msat,
                    amount_sent_msat: p.amount_sent_msat,
                    preimage: p.preimage.clone(),
                    created_at: p.created_at,
                    completed_at: p.completed_at,
                    created_index: p.created_index,
                    updated_index: p.updated_index.unwrap_or(0),
                },
                unix_now(),
            )
            .await?;
        tracing::debug!(%invreq_id, payment_hash = %p.payment_hash, groupid = p.groupid, partid = p.partid, status = %p.status, "payment part recorded");
        Ok(Some(invreq_id))
    }

    /// Moves a request to what its recorded payments say (compare-and-set on its status,
    /// retried if something else moved it meanwhile).
    async fn follow_payments_of(&self, invreq_id: &str) -> Result<(), ServiceError> {
        for _ in 0..5 {
            let Some(record) = self.store.get_any(invreq_id).await? else {
                return Ok(());
            };
            let payments = aggregate(&self.store.payment_parts(invreq_id).await?);
            let complete = payments.iter().any(|p| p.status == PaymentStatus::Complete);
            let pending = payments.iter().any(|p| p.status == PaymentStatus::Pending);
            let Some(mv) = lifecycle::after_payments(
                record.status,
                record.active,
                record.used,
                record.single_use,
                complete,
                pending,
            ) else {
                return Ok(());
            };
            let now = unix_now();
            if self.move_request(&record, &mv, now).await? {
                let (to, used) = (mv.to(), mv.used());
                tracing::info!(%invreq_id, from = record.status.as_str(), status = to.as_str(), used, "payment recorded");
                if to != Status::Paying && record.absolute_expiry.is_some_and(|e| e <= now) {
                    // A payment that held back an expiry has settled: let the sweeper run.
                    self.expiry_notify.notify_one();
                }
                return Ok(());
            }
        }
        Ok(())
    }

    /// One round of the payment watcher: the node's payments after the stored indexes (waiting
    /// up to `wait` for news), recorded, then the indexes moved on. Returns how many were seen.
    pub async fn follow_payments_once(&self, wait: Duration) -> Result<usize, ServiceError> {
        let created = self.store.counter(CREATED_COUNTER).await?;
        let updated = self.store.counter(UPDATED_COUNTER).await?;
        let payments = self.node.payments_since(created, updated, wait).await?;
        let (mut max_created, mut max_updated) = (created, updated);
        // Every part of the round first, then each request it touched moves once: a payment
        // whose parts arrive together shows (and emits) its final state, not each part's.
        let mut touched: Vec<String> = Vec::new();
        for p in &payments {
            if let Some(id) = self.record_part(p).await?
                && !touched.contains(&id)
            {
                touched.push(id);
            }
            max_created = max_created.max(p.created_index);
            max_updated = max_updated.max(p.updated_index.unwrap_or(0));
        }
        for id in &touched {
            self.follow_payments_of(id).await?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn part(hash: &str, group: u64, id: u64, status: &str, amount: u64, sent: u64) -> PaymentPart {
        let status = PaymentStatus::parse(status).unwrap();
        PaymentPart {
            payment_hash: hash.into(),
            groupid: group,
            partid: id,
            invreq_id: "r".into(),
            status,
            amount_msat: Some(amount),
            amount_sent_msat: sent,
            preimage: (status == PaymentStatus::Complete).then(|| "pre".into()),
            created_at: 100 + id,
            completed_at: (status == PaymentStatus::Complete).then_some(200 + id),
            created_index: 10 * group + id,
            updated_index: 0,
        }
    }

    #[test]
    fn parts_sum_like_listpays() {
        // F2: 2 500 000 sat in two parts, both complete.
        let p = aggregate(&[
            part("h", 1, 1, "complete", 1_515_000_000, 1_515_000_000),
            part("h", 1, 2, "complete", 985_000_000, 985_000_000),
        ]);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].status, PaymentStatus::Complete);
        assert_eq!(
            (p[0].amount_msat, p[0].amount_sent_msat, p[0].parts),
            (2_500_000_000, 2_500_000_000, 2)
        );
        assert_eq!(p[0].completed_at, Some(202));
        // A failed attempt and its retry under one hash: one complete payment, the failed part
        // not counted; a late failed part does not undo it.
        let p = aggregate(&[
            part("h", 1, 1, "failed", 7_000_000, 7_000_000),
            part("h", 1, 2, "complete", 7_000_000, 7_000_100),
        ]);
        assert_eq!(p[0].status, PaymentStatus::Complete);
        assert_eq!(
            (p[0].amount_msat, p[0].amount_sent_msat),
            (7_000_000, 7_000_100)
        );
        // In flight: pending parts count; all failed: nothing moved.
        let p = aggregate(&[
            part("a", 1, 1, "pending", 5_310_000, 5_310_000),
            part("a", 1, 2, "failed", 690_000, 690_000),
            part("b", 1, 1, "failed", 1, 1),
            part("b", 2, 1, "failed", 1, 1),
        ]);
        assert_eq!(p.len(), 3, "hash + group is one payment");
        let a = p.iter().find(|p| p.payment_hash == "a").unwrap();
        assert_eq!(
            (a.status, a.amount_msat),
            (PaymentStatus::Pending, 5_310_000)
        );
        assert!(
            p.iter()
                .filter(|p| p.payment_hash == "b")
                .all(|p| p.status == PaymentStatus::Failed && p.amount_sent_msat == 0)
        );
        // Newest first.
        assert_eq!((p[0].payment_hash.as_str(), p[0].groupid), ("b", 2));
    }
}
