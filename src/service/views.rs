//! What the service answers: an invoice request with its payments, a create's outcome, a page
//! of a list.

use super::{Payment, PaymentStatus};
use crate::store::InvoiceRequestRecord;

/// An invoice request with its payments, as the API shows it.
#[derive(Debug, Clone)]
pub struct InvoiceRequestView {
    /// The record, with expiry applied.
    pub record: InvoiceRequestRecord,
    /// Every payment the node made for it, newest first.
    pub payments: Vec<Payment>,
    /// The live token of its claim page (`/claim/<token>`), if it has one.
    pub claim_token: Option<String>,
}

impl InvoiceRequestView {
    /// Delivered to payees by completed payments, msat (may be less than asked: a payee may
    /// invoice less).
    pub fn amount_paid_msat(&self) -> u64 {
        self.complete().map(|p| p.amount_msat).sum()
    }

    /// Sent by the node for completed payments, msat, fees included.
    pub fn amount_sent_msat(&self) -> u64 {
        self.complete().map(|p| p.amount_sent_msat).sum()
    }

    /// The payment that says most: the newest completed, else the newest in flight, else the
    /// newest failed.
    pub fn main_payment(&self) -> Option<&Payment> {
        self.payments.iter().min_by_key(|p| p.status)
    }

    fn complete(&self) -> impl Iterator<Item = &Payment> {
        self.payments
            .iter()
            .filter(|p| p.status == PaymentStatus::Complete)
    }
}

/// What a create gives: a new request, or (a retry with an idempotency key) the first response.
#[derive(Debug)]
// A return value that is moved once into the response: boxing would only add an allocation.
#[allow(clippy::large_enum_variant)]
pub enum Created {
    /// Created now.
    New {
        /// The new request.
        view: InvoiceRequestView,
        /// Its response body, rendered once.
        body: String,
    },
    /// A retry: the first response, as stored.
    Replay {
        /// HTTP status of the first response.
        status: u16,
        /// Its JSON body.
        body: String,
        /// The invoice request it created.
        invreq_id: Option<String>,
    },
}

/// A page of a list.
#[derive(Debug)]
pub struct Page {
    /// The rows, newest first.
    pub items: Vec<InvoiceRequestView>,
    /// Pass back to get the next page; `None` at the end.
    pub next_cursor: Option<String>,
}
