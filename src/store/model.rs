//! Records the store keeps.

use crate::domain::lifecycle::effective_status;
pub use crate::domain::lifecycle::{PaymentStatus, Status};

/// One invoice request as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRequestRecord {
    /// Insertion order; the list cursor.
    pub seq: i64,
    /// Lowercase hex SHA256 of the request's records below 160.
    pub invreq_id: String,
    /// The API client's tenant that owns it.
    pub tenant: String,
    /// The signed `lnr1…` string (empty while pending).
    pub bolt12: String,
    /// Amount asked, msat.
    pub amount_msat: u64,
    /// `offer_description`.
    pub description: String,
    /// `offer_issuer`.
    pub issuer: Option<String>,
    /// The client's label.
    pub label: Option<String>,
    /// `offer_absolute_expiry`, seconds since 1970.
    pub absolute_expiry: Option<u64>,
    /// Whether one payment uses it up.
    pub single_use: bool,
    /// Whether the node accepts an invoice for it (as last known).
    pub active: bool,
    /// Whether it has been paid.
    pub used: bool,
    /// Where it stands.
    pub status: Status,
    /// Seconds since 1970.
    pub created_at: u64,
    /// Seconds since 1970.
    pub updated_at: u64,
    /// The unsigned `lnr1…` sent to the node, kept so that a lost answer is settled by
    /// resubmitting the very same bytes (`None` for locally signed or older records).
    pub submitted: Option<String>,
}

impl InvoiceRequestRecord {
    /// Expiry applies from the instant it passes, even before the sweeper has run (which
    /// waits while a payment is in flight: a completed one still makes it `paid`).
    pub fn effective(mut self, now: u64) -> Self {
        let shown = effective_status(self.status, self.absolute_expiry, now);
        if shown != self.status {
            self.status = shown;
            self.active = false;
        }
        self
    }
}

/// One part of a payment the node made for an invoice request: one `listsendpays` row.
///
/// A payment is the parts of one `(payment_hash, groupid)`; a failed part and its retry share
/// the hash (notes/cln-e2e.md F2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentPart {
    /// Hex payment hash.
    pub payment_hash: String,
    /// The node's `groupid`: one attempt of the hash.
    pub groupid: u64,
    /// The node's `partid` within the group.
    pub partid: u64,
    /// Hex id of the invoice request it pays.
    pub invreq_id: String,
    /// Where this part stands.
    pub status: PaymentStatus,
    /// What this part delivers to the payee, msat.
    pub amount_msat: Option<u64>,
    /// What this part sent, msat (fees included).
    pub amount_sent_msat: u64,
    /// Hex preimage, once complete.
    pub preimage: Option<String>,
    /// Seconds since 1970.
    pub created_at: u64,
    /// Seconds since 1970, once complete.
    pub completed_at: Option<u64>,
    /// The node's `created_index` (0: carried over from before parts were kept).
    pub created_index: u64,
    /// The node's `updated_index` (0: never updated, the node gave none).
    pub updated_index: u64,
}

/// A stored idempotency key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// SHA256 hex of the first request's body.
    pub request_hash: String,
    /// The invoice request it created, once known.
    pub invreq_id: Option<String>,
    /// The first response, once complete: status and body.
    pub response: Option<(u16, String)>,
    /// Until when (seconds since 1970) the attempt that holds the key owns it; a retry takes
    /// over a key whose lease has passed and that holds no response.
    pub lease_until: u64,
}

/// What claiming an idempotency key found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// The key is new: this request owns it.
    Claimed,
    /// The key was claimed before by an attempt that died or gave up (its lease passed with no
    /// response stored): this request now owns it and must finish what that attempt began
    /// (the record holds the invoice request it had bound, if any).
    TakenOver(IdempotencyRecord),
    /// The key is held: by a live attempt (no response yet) or with a stored response.
    Existing(IdempotencyRecord),
}

/// Filters and page of a list.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// Only requests that are active now.
    pub active_only: bool,
    /// Only the request with this label.
    pub label: Option<String>,
    /// Also `failed` records (creates the node never made); left out by default.
    pub include_failed: bool,
    /// Page size.
    pub limit: u32,
    /// Continue after this `seq` (newest first: rows with a smaller seq).
    pub before_seq: Option<i64>,
}
