//! The payee's side of `sendinvoice`: a BOLT12 invoice (`lni1…`) for an invoice request.
//!
//! Like CLN's `invoice_for_invreq`, it copies every invreq record (types 0–159 and
//! 1000000000–2999999999) and adds the invoice records, then signs with the payee's key.

use lightning::bitcoin::secp256k1::{Keypair, Message};

use crate::codec::{
    is_signature_type, merkle_root, put_record, records, secp, signature_digest, to_bech32, tu64,
};

/// `invoice_created_at`.
const CREATED_AT: u64 = 164;
/// `invoice_relative_expiry`.
const RELATIVE_EXPIRY: u64 = 166;
/// `invoice_payment_hash`.
const PAYMENT_HASH: u64 = 168;
/// `invoice_amount`.
const AMOUNT: u64 = 170;
/// `invoice_node_id`.
const NODE_ID: u64 = 176;
/// `signature`.
const SIGNATURE: u64 = 240;

/// What the payee puts into its invoice.
#[derive(Debug, Clone)]
pub struct InvoiceTerms {
    /// Amount asked, msat (at most the invreq's amount, or the payer refuses).
    pub amount_msat: u64,
    /// SHA256 of the preimage.
    pub payment_hash: [u8; 32],
    /// Seconds since 1970.
    pub created_at: u64,
    /// Seconds the invoice stays valid (`sendinvoice`'s `timeout`, 90 by default).
    pub relative_expiry: u64,
}

/// Builds and signs the `lni1…` invoice for the invoice request whose TLV bytes are `invreq`.
pub fn invoice_for(invreq: &[u8], terms: &InvoiceTerms, payee: &Keypair) -> String {
    let mut head = Vec::new();
    let mut experimental = Vec::new();
    for rec in records(invreq).unwrap_or_default() {
        if rec.typ <= 159 {
            head.extend_from_slice(rec.raw);
        } else if (1_000_000_000..=2_999_999_999).contains(&rec.typ) {
            experimental.extend_from_slice(rec.raw);
        }
    }
    put_record(&mut head, CREATED_AT, &tu64(terms.created_at));
    put_record(&mut head, RELATIVE_EXPIRY, &tu64(terms.relative_expiry));
    put_record(&mut head, PAYMENT_HASH, &terms.payment_hash);
    put_record(&mut head, AMOUNT, &tu64(terms.amount_msat));
    put_record(&mut head, NODE_ID, &payee.public_key().serialize());
    let mut unsigned = head.clone();
    unsigned.extend_from_slice(&experimental);
    let root = merkle_root(&unsigned).expect("a well-formed stream");
    let msg = Message::from_digest(signature_digest("invoice", "signature", root));
    let sig = secp().sign_schnorr_no_aux_rand(&msg, payee);
    let mut out = head;
    put_record(&mut out, SIGNATURE, sig.as_ref());
    out.extend_from_slice(&experimental);
    debug_assert!(records(&out).is_ok_and(|rs| {
        rs.iter()
            .all(|r| !is_signature_type(r.typ) || r.typ == SIGNATURE)
    }));
    to_bech32("lni", &out)
}
