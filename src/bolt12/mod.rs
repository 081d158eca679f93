//! BOLT12 offer-less invoice_request (`lnr1…`) encoding, Merkle signatures and validation.
//!
//! LDK's `RefundBuilder` produces the unsigned TLV stream (byte-identical to Core Lightning's);
//! the no-checksum bech32, the Merkle root and the signature record are implemented here.

pub mod bech32;
pub mod error;
pub mod fields;
pub mod invreq;
pub mod merkle;
pub mod tlv;

use std::sync::LazyLock;

use lightning::bitcoin::secp256k1::{All, Secp256k1};

pub use self::bech32::{decode_bech32_no_checksum, decode_with_hrp, encode_bech32_no_checksum};
pub use self::error::Bolt12Error;
pub use self::invreq::{
    InvoiceRequest, InvreqFields, OfferFields, UnsignedInvoiceRequest, invreq_id_of_invoice,
};
pub use lightning::bitcoin::Network;
pub use lightning::bitcoin::secp256k1::{Keypair, PublicKey, SecretKey, schnorr::Signature};

static SECP: LazyLock<Secp256k1<All>> = LazyLock::new(Secp256k1::new);

/// One process-wide secp256k1 context (building one per call is expensive).
pub fn secp() -> &'static Secp256k1<All> {
    &SECP
}
