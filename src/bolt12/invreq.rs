//! The `invoice_request` (`lnr1…`): building and signing an offer-less one; reading any one by
//! BOLT 12's reader rules.

use std::fmt;
use std::ops::Range;
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::Duration;

use lightning::bitcoin::constants::ChainHash;
use lightning::bitcoin::secp256k1::Message;
use lightning::offers::refund::RefundBuilder;
use lightning::util::ser::Writeable;
use sha2::{Digest, Sha256};

use super::bech32::{decode_with_hrp, encode_bech32_no_checksum};
use super::fields::{bip_353_name, blinded_paths, chain_hashes, requires_unknown_feature};
use super::merkle::{self, MerkleBuilder, is_signature_type};
use super::tlv::{TlvIter, read_tu64, write_record};
use super::{Bolt12Error, Keypair, Network, PublicKey, Signature, secp};

/// Human-readable prefix of an invoice_request string.
pub const INVREQ_HRP: &str = "lnr";
/// Human-readable prefix of an invoice string.
pub const INVOICE_HRP: &str = "lni";
/// TLV type of the BIP340 signature record.
pub const SIGNATURE_TYPE: u64 = 240;
/// Largest representable amount: 21 million BTC in millisatoshi.
pub const MAX_VALUE_MSAT: u64 = 21_000_000 * 100_000_000 * 1000;

/// Networks we recognise by their `invreq_chain` value.
static CHAINS: LazyLock<[(Network, [u8; 32]); 5]> = LazyLock::new(|| {
    [
        Network::Bitcoin,
        Network::Testnet,
        Network::Testnet4,
        Network::Signet,
        Network::Regtest,
    ]
    .map(|n| (n, ChainHash::using_genesis_block(n).to_bytes()))
});

/// Whether `typ` may appear in an invoice_request (0–159, signature 240–1000, experimental
/// 1000000000–2999999999).
#[inline]
pub fn invreq_type_allowed(typ: u64) -> bool {
    typ <= 159 || is_signature_type(typ) || (1_000_000_000..=2_999_999_999).contains(&typ)
}

/// Whether `typ` is covered by `invreq_id` (0–159 and 1000000000–2999999999).
#[inline]
fn in_invreq_id(typ: u64) -> bool {
    typ <= 159 || (1_000_000_000..=2_999_999_999).contains(&typ)
}

/// The fields a caller gives to build an offer-less invoice_request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvreqFields {
    /// `invreq_metadata`: must be unpredictable (random).
    pub metadata: [u8; 16],
    /// `offer_description`.
    pub description: String,
    /// `offer_issuer`.
    pub issuer: Option<String>,
    /// `offer_absolute_expiry`, seconds since the Unix epoch.
    pub absolute_expiry: Option<u64>,
    /// `invreq_amount` in millisatoshi (must be > 0).
    pub amount_msat: u64,
    /// Chain; `invreq_chain` is written only when not mainnet.
    pub network: Network,
    /// `invreq_payer_id`: the key that signs.
    pub payer_id: PublicKey,
}

/// An unsigned invoice_request: its TLV stream without signature records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsignedInvoiceRequest {
    bytes: Vec<u8>,
    /// Where a signature record goes (before any experimental record).
    sig_pos: usize,
    merkle_root: [u8; 32],
}

impl UnsignedInvoiceRequest {
    /// Builds the TLV stream with LDK's `RefundBuilder` (byte-identical to CLN's).
    pub fn build(fields: &InvreqFields) -> Result<Self, Bolt12Error> {
        if fields.amount_msat == 0 || fields.amount_msat > MAX_VALUE_MSAT {
            return Err(Bolt12Error::InvalidAmount);
        }
        let mut b = RefundBuilder::new(
            fields.metadata.to_vec(),
            fields.payer_id,
            fields.amount_msat,
        )
        .map_err(semantic)?
        .description(fields.description.clone())
        .chain(fields.network);
        if let Some(issuer) = &fields.issuer {
            b = b.issuer(issuer.clone());
        }
        if let Some(exp) = fields.absolute_expiry {
            b = b.absolute_expiry(Duration::from_secs(exp));
        }
        let refund = b.build().map_err(semantic)?;
        let bytes = refund.encode();
        let merkle_root = merkle::root(&bytes)?;
        let sig_pos = bytes.len();
        Ok(Self {
            bytes,
            sig_pos,
            merkle_root,
        })
    }

    /// The TLV stream bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `invreq_id`: SHA256 of the records in 0–159 and 1000000000–2999999999.
    pub fn invreq_id(&self) -> [u8; 32] {
        Sha256::digest(&self.bytes).into()
    }

    /// The BOLT12 Merkle root of the stream.
    pub fn merkle_root(&self) -> [u8; 32] {
        self.merkle_root
    }

    /// `H("lightninginvoice_requestsignature", merkle_root)`, the message that is signed.
    pub fn sighash(&self) -> [u8; 32] {
        merkle::sighash("invoice_request", "signature", self.merkle_root)
    }

    /// Signs with BIP340 (fresh auxiliary randomness) and appends the signature record.
    pub fn sign(&self, keypair: &Keypair) -> InvoiceRequest {
        let msg = Message::from_digest(self.sighash());
        let aux: [u8; 32] = rand::random();
        self.with_signature(secp().sign_schnorr_with_aux_rand(&msg, keypair, &aux))
    }

    /// Deterministic BIP340 signature (no auxiliary randomness); for tests.
    pub fn sign_no_aux_rand(&self, keypair: &Keypair) -> InvoiceRequest {
        let msg = Message::from_digest(self.sighash());
        self.with_signature(secp().sign_schnorr_no_aux_rand(&msg, keypair))
    }

    /// Appends `sig` as the signature record. The signature is *not* verified here; see
    /// [`InvoiceRequest::verify`].
    pub fn with_signature(&self, sig: Signature) -> InvoiceRequest {
        let mut bytes = Vec::with_capacity(self.bytes.len() + 67);
        bytes.extend_from_slice(&self.bytes[..self.sig_pos]);
        write_record(&mut bytes, SIGNATURE_TYPE, sig.as_ref());
        bytes.extend_from_slice(&self.bytes[self.sig_pos..]);
        let (mut ir, _) = InvoiceRequest::parse(bytes)
            .expect("an UnsignedInvoiceRequest plus a signature record is well-formed");
        ir.signature = Some(sig);
        ir
    }
}

/// The offer fields an invoice_request carries: all the offer's fields when it answers an offer
/// (`offer_issuer_id` or `offer_paths` present); when it does not, at most the informational
/// `offer_metadata`, `offer_currency` and `offer_amount` (BOLT 12: a reader "MAY use
/// `offer_amount` (or `offer_currency`) for informational display").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OfferFields {
    /// `offer_chains`.
    pub chains: Option<Vec<[u8; 32]>>,
    /// `offer_metadata`.
    pub metadata: Option<Vec<u8>>,
    /// `offer_currency` (ISO 4217 code).
    pub currency: Option<String>,
    /// `offer_amount`: msat, or units of `offer_currency` when set.
    pub amount: Option<u64>,
    /// `offer_features` bitmap.
    pub features: Option<Vec<u8>>,
    /// Number of blinded paths in `offer_paths`.
    pub paths: Option<usize>,
    /// `offer_quantity_max` (0: no maximum).
    pub quantity_max: Option<u64>,
    /// `offer_issuer_id`.
    pub issuer_id: Option<PublicKey>,
}

impl OfferFields {
    /// Whether these fields make the invoice_request a response to an offer.
    pub fn answered(&self) -> bool {
        self.issuer_id.is_some() || self.paths.is_some()
    }

    /// The offer reader's rules that hold without knowing the offer's issuer: a chain, no
    /// unknown required feature, a non-zero amount with a description, no currency without an
    /// amount.
    fn check_valid_offer(&self, has_description: bool) -> Result<(), Bolt12Error> {
        let rule = if self.chains.as_ref().is_some_and(Vec::is_empty) {
            "offer_chains names no chain"
        } else if self
            .features
            .as_deref()
            .is_some_and(requires_unknown_feature)
        {
            "offer_features sets an unknown required bit"
        } else if self.amount == Some(0) {
            "offer_amount is zero"
        } else if self.amount.is_some() && !has_description {
            "offer_amount is set without offer_description"
        } else if self.currency.is_some() && self.amount.is_none() {
            "offer_currency is set without offer_amount"
        } else {
            return Ok(());
        };
        Err(Bolt12Error::InvalidOffer(rule))
    }
}

/// A parsed invoice_request (`lnr1…`) that passed BOLT 12's reader rules: one that answers an
/// offer or one that does not (an "offer to send money"). Keeps the wire bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvoiceRequest {
    bytes: Vec<u8>,
    /// Byte range of the signature records (types 240–1000); empty if none.
    sig_range: Range<usize>,
    metadata: Range<usize>,
    description: Option<Range<usize>>,
    issuer: Option<Range<usize>>,
    payer_note: Option<Range<usize>>,
    absolute_expiry: Option<u64>,
    chain: Option<[u8; 32]>,
    amount_msat: Option<u64>,
    payer_id: PublicKey,
    quantity: Option<u64>,
    invreq_paths: usize,
    bip_353_name: Option<(String, String)>,
    offer: OfferFields,
    signature: Option<Signature>,
    merkle_root: [u8; 32],
}

fn semantic<E: fmt::Debug>(e: E) -> Bolt12Error {
    Bolt12Error::Semantic(format!("{e:?}"))
}

fn utf8(value: &[u8], field: &'static str) -> Result<(), Bolt12Error> {
    std::str::from_utf8(value)
        .map(|_| ())
        .map_err(|_| Bolt12Error::InvalidUtf8(field))
}

fn utf8_string(value: &[u8], field: &'static str) -> Result<String, Bolt12Error> {
    String::from_utf8(value.to_vec()).map_err(|_| Bolt12Error::InvalidUtf8(field))
}

fn point(value: &[u8], field: &'static str) -> Result<PublicKey, Bolt12Error> {
    if value.len() != 33 {
        return Err(Bolt12Error::InvalidField(field));
    }
    PublicKey::from_slice(value).map_err(|_| Bolt12Error::InvalidField(field))
}

impl InvoiceRequest {
    /// Decodes an `lnr1…` string (lower- or uppercase, `+` continuations allowed).
    ///
    /// # Errors
    /// Whatever [`decode_with_hrp`] or [`Self::from_bytes`] rejects.
    pub fn decode(s: &str) -> Result<Self, Bolt12Error> {
        Self::from_bytes(decode_with_hrp(s, INVREQ_HRP)?)
    }

    /// Parses a TLV stream and applies BOLT 12's invoice_request reader rules
    /// (`12-offer-encoding.md`, "Requirements for Invoice Requests", the reader):
    ///
    /// - TLV syntax: strictly ascending types, minimal BigSize, no truncation; unknown even
    ///   types rejected, unknown odd ones ignored (BOLT 1); every known field well-formed
    ///   (UTF-8 text, minimal `tu64`, valid points, whole blinded paths, chain hashes);
    /// - `invreq_payer_id` and `invreq_metadata` present; no non-signature type outside 0–159
    ///   and 1000000000–2999999999; no unknown even bit in `invreq_features`; no blinded path
    ///   with `num_hops` 0; the signature, when present, correct for `invreq_payer_id`;
    /// - answering an offer (`offer_issuer_id` or `offer_paths`): signed; the offer fields a
    ///   valid offer; the `offer_quantity_max` / `invreq_quantity` rules; `invreq_amount`
    ///   present without `offer_amount`, and not below `offer_amount` × quantity when the
    ///   offer's amount is in msat (a currency amount cannot be converted here);
    /// - not answering an offer: no `offer_chains`, `offer_features` or `offer_quantity_max`;
    ///   `invreq_amount` present; `offer_metadata`, `offer_currency`, `offer_amount`, an absent
    ///   `offer_description` and a present, correct `signature` are accepted (a writer MUST
    ///   NOT write them, but the reader has no rule to reject them);
    /// - `invreq_chain`, when present, a bitcoin network; `invreq_bip_353_name` well-formed.
    ///
    /// # Errors
    /// The first rule broken, as a [`Bolt12Error`].
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, Bolt12Error> {
        let (ir, sig) = Self::parse(bytes)?;
        match sig {
            Some(sig) => {
                let msg = Message::from_digest(ir.sighash());
                secp()
                    .verify_schnorr(&sig, &msg, &ir.payer_id.x_only_public_key().0)
                    .map_err(|_| Bolt12Error::InvalidSignature)?;
            }
            None if ir.offer.answered() => return Err(Bolt12Error::MissingSignature),
            None => {}
        }
        Ok(ir)
    }

    /// Syntactic and field-level parse plus every reader rule but the signature's; returns the
    /// request and its (unverified) signature.
    fn parse(bytes: Vec<u8>) -> Result<(Self, Option<Signature>), Bolt12Error> {
        let base = bytes.as_ptr() as usize;
        let range_of = |v: &[u8]| {
            let start = v.as_ptr() as usize - base;
            start..start + v.len()
        };
        let mut mb = MerkleBuilder::new();
        let mut sig_range: Option<Range<usize>> = None;
        let mut after_sig: Option<usize> = None;
        let mut metadata = None;
        let mut description = None;
        let mut issuer = None;
        let mut payer_note = None;
        let mut absolute_expiry = None;
        let mut chain = None;
        let mut amount_msat = None;
        let mut payer_id = None;
        let mut quantity = None;
        let mut invreq_paths = 0;
        let mut bip353 = None;
        let mut offer = OfferFields::default();
        let mut signature = None;

        for rec in TlvIter::new(&bytes) {
            let rec = rec?;
            let t = rec.typ;
            let v = rec.value;
            if !invreq_type_allowed(t) {
                return Err(Bolt12Error::OutOfRange(t));
            }
            if is_signature_type(t) {
                let r = range_of(rec.raw);
                sig_range = Some(match sig_range {
                    Some(s) => s.start..r.end,
                    None => r,
                });
            } else {
                if t > 1000 && after_sig.is_none() {
                    after_sig = Some(range_of(rec.raw).start);
                }
                mb.push(&rec);
            }
            match t {
                0 => metadata = Some(range_of(v)),
                2 => offer.chains = Some(chain_hashes(v, "offer_chains")?),
                4 => offer.metadata = Some(v.to_vec()),
                6 => offer.currency = Some(utf8_string(v, "offer_currency")?),
                8 => offer.amount = Some(read_tu64(v, "offer_amount")?),
                10 => {
                    utf8(v, "offer_description")?;
                    description = Some(range_of(v));
                }
                12 => offer.features = Some(v.to_vec()),
                14 => absolute_expiry = Some(read_tu64(v, "offer_absolute_expiry")?),
                16 => offer.paths = Some(non_empty_paths(v, "offer_paths")?),
                18 => {
                    utf8(v, "offer_issuer")?;
                    issuer = Some(range_of(v));
                }
                20 => offer.quantity_max = Some(read_tu64(v, "offer_quantity_max")?),
                22 => offer.issuer_id = Some(point(v, "offer_issuer_id")?),
                80 => {
                    chain = Some(
                        <[u8; 32]>::try_from(v)
                            .map_err(|_| Bolt12Error::InvalidField("invreq_chain"))?,
                    )
                }
                82 => amount_msat = Some(read_tu64(v, "invreq_amount")?),
                84 if requires_unknown_feature(v) => {
                    return Err(Bolt12Error::UnknownRequiredFeature);
                }
                84 => {}
                86 => quantity = Some(read_tu64(v, "invreq_quantity")?),
                88 => {
                    payer_id =
                        Some(point(v, "invreq_payer_id").map_err(|_| Bolt12Error::InvalidPubkey)?)
                }
                89 => {
                    utf8(v, "invreq_payer_note")?;
                    payer_note = Some(range_of(v));
                }
                90 => invreq_paths = non_empty_paths(v, "invreq_paths")?,
                91 => bip353 = Some(bip_353_name(v)?),
                SIGNATURE_TYPE => {
                    signature =
                        Some(Signature::from_slice(v).map_err(|_| Bolt12Error::InvalidSignature)?)
                }
                _ if t % 2 == 0 => return Err(Bolt12Error::UnknownEvenType(t)),
                _ => {}
            }
        }

        let metadata = metadata.ok_or(Bolt12Error::MissingField("invreq_metadata"))?;
        let payer_id = payer_id.ok_or(Bolt12Error::MissingField("invreq_payer_id"))?;
        if offer.answered() {
            offer.check_valid_offer(description.is_some())?;
            check_quantity(offer.quantity_max, quantity)?;
            match (offer.amount, amount_msat) {
                (None, None) => return Err(Bolt12Error::MissingField("invreq_amount")),
                (Some(per_item), Some(got)) if offer.currency.is_none() => {
                    let expected = per_item.saturating_mul(quantity.unwrap_or(1));
                    if got < expected {
                        return Err(Bolt12Error::AmountBelowOffer { got, expected });
                    }
                }
                _ => {}
            }
        } else {
            let forbidden = [
                (2, offer.chains.is_some()),
                (12, offer.features.is_some()),
                (20, offer.quantity_max.is_some()),
            ];
            if let Some((t, _)) = forbidden.iter().find(|(_, present)| *present) {
                return Err(Bolt12Error::ForbiddenField(*t));
            }
            if amount_msat.is_none() {
                return Err(Bolt12Error::MissingField("invreq_amount"));
            }
        }
        if let Some(c) = chain
            && !CHAINS.iter().any(|(_, h)| *h == c)
        {
            return Err(Bolt12Error::UnsupportedChain(hex::encode(c)));
        }
        let merkle_root = mb
            .finish()
            .ok_or(Bolt12Error::MissingField("invreq_metadata"))?;
        // Without signature records, the (empty) range sits where one would be inserted.
        let sig_range = sig_range.unwrap_or_else(|| {
            let p = after_sig.unwrap_or(bytes.len());
            p..p
        });
        let ir = Self {
            bytes,
            sig_range,
            metadata,
            description,
            issuer,
            payer_note,
            absolute_expiry,
            chain,
            amount_msat,
            payer_id,
            quantity,
            invreq_paths,
            bip_353_name: bip353,
            offer,
            signature,
            merkle_root,
        };
        Ok((ir, signature))
    }

    fn unsigned_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.bytes.len() - self.sig_range.len());
        out.extend_from_slice(&self.bytes[..self.sig_range.start]);
        out.extend_from_slice(&self.bytes[self.sig_range.end..]);
        out
    }

    fn str_at(&self, r: &Range<usize>) -> &str {
        // Checked as UTF-8 while parsing.
        std::str::from_utf8(&self.bytes[r.clone()]).unwrap_or_default()
    }

    /// Checks the signature record, if any, against `invreq_payer_id`.
    pub fn verify(&self) -> Result<(), Bolt12Error> {
        match &self.signature {
            None => Ok(()),
            Some(sig) => {
                let msg = Message::from_digest(self.sighash());
                secp()
                    .verify_schnorr(sig, &msg, &self.payer_id.x_only_public_key().0)
                    .map_err(|_| Bolt12Error::InvalidSignature)
            }
        }
    }

    /// The `lnr1…` string (lowercase) of the stored bytes.
    pub fn encode(&self) -> String {
        encode_bech32_no_checksum(INVREQ_HRP, &self.bytes)
    }

    /// The wire bytes, as received or built.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// `invreq_id`: SHA256 of the raw records in 0–159 and 1000000000–2999999999.
    pub fn invreq_id(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(&self.bytes[..self.sig_range.start]);
        h.update(&self.bytes[self.sig_range.end..]);
        h.finalize().into()
    }

    /// The BOLT12 Merkle root (signature records excluded).
    pub fn merkle_root(&self) -> [u8; 32] {
        self.merkle_root
    }

    /// `H("lightninginvoice_requestsignature", merkle_root)`.
    pub fn sighash(&self) -> [u8; 32] {
        merkle::sighash("invoice_request", "signature", self.merkle_root)
    }

    /// The same records without the signature range (240–1000).
    pub fn unsigned(&self) -> UnsignedInvoiceRequest {
        UnsignedInvoiceRequest {
            bytes: self.unsigned_bytes(),
            sig_pos: self.sig_range.start,
            merkle_root: self.merkle_root,
        }
    }

    /// The BIP340 signature (TLV 240), if present.
    pub fn signature(&self) -> Option<Signature> {
        self.signature
    }

    /// `invreq_metadata`.
    pub fn metadata(&self) -> &[u8] {
        &self.bytes[self.metadata.clone()]
    }

    /// `offer_description` (always present in what this service builds).
    pub fn description(&self) -> Option<&str> {
        self.description.as_ref().map(|r| self.str_at(r))
    }

    /// `offer_issuer`.
    pub fn issuer(&self) -> Option<&str> {
        self.issuer.as_ref().map(|r| self.str_at(r))
    }

    /// `offer_absolute_expiry` (seconds since the Unix epoch).
    pub fn absolute_expiry(&self) -> Option<u64> {
        self.absolute_expiry
    }

    /// Raw `invreq_chain` (`None` means bitcoin mainnet).
    pub fn chain(&self) -> Option<[u8; 32]> {
        self.chain
    }

    /// The network of `invreq_chain` (bitcoin when absent); a decoded request always has one
    /// (an unknown chain is refused).
    pub fn network(&self) -> Option<Network> {
        match self.chain {
            None => Some(Network::Bitcoin),
            Some(c) => CHAINS.iter().find(|(_, h)| *h == c).map(|(n, _)| *n),
        }
    }

    /// `invreq_amount` in millisatoshi (always present unless it answers an offer that sets
    /// `offer_amount`).
    pub fn amount_msat(&self) -> Option<u64> {
        self.amount_msat
    }

    /// `invreq_payer_id`.
    pub fn payer_id(&self) -> PublicKey {
        self.payer_id
    }

    /// `invreq_payer_note`.
    pub fn payer_note(&self) -> Option<&str> {
        self.payer_note.as_ref().map(|r| self.str_at(r))
    }

    /// `invreq_quantity`.
    pub fn quantity(&self) -> Option<u64> {
        self.quantity
    }

    /// Number of blinded paths in `invreq_paths` (0 when absent).
    pub fn paths(&self) -> usize {
        self.invreq_paths
    }

    /// Whether `invreq_paths` is present.
    pub fn has_paths(&self) -> bool {
        self.invreq_paths > 0
    }

    /// `invreq_bip_353_name`: the name and the domain.
    pub fn bip_353_name(&self) -> Option<(&str, &str)> {
        self.bip_353_name
            .as_ref()
            .map(|(n, d)| (n.as_str(), d.as_str()))
    }

    /// The offer fields it carries.
    pub fn offer(&self) -> &OfferFields {
        &self.offer
    }

    /// Whether it answers an offer (`offer_issuer_id` or `offer_paths` present) rather than
    /// being an offer to send money.
    pub fn answers_offer(&self) -> bool {
        self.offer.answered()
    }

    /// Whether all records outside the signature range equal those of `unsigned`.
    pub fn same_records_as(&self, unsigned: &UnsignedInvoiceRequest) -> bool {
        let (head, tail) = (
            &self.bytes[..self.sig_range.start],
            &self.bytes[self.sig_range.end..],
        );
        let u = unsigned.bytes();
        u.len() == head.len() + tail.len() && u.starts_with(head) && u.ends_with(tail)
    }
}

impl fmt::Display for InvoiceRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl FromStr for InvoiceRequest {
    type Err = Bolt12Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::decode(s)
    }
}

/// A blinded-path field: at least one path, each whole (an empty list names no route).
fn non_empty_paths(value: &[u8], field: &'static str) -> Result<usize, Bolt12Error> {
    match blinded_paths(value, field)? {
        0 => Err(Bolt12Error::InvalidPaths(field)),
        n => Ok(n),
    }
}

/// The `offer_quantity_max` / `invreq_quantity` rules of a response to an offer.
fn check_quantity(max: Option<u64>, quantity: Option<u64>) -> Result<(), Bolt12Error> {
    match (max, quantity) {
        (Some(_), None) => Err(Bolt12Error::InvalidQuantity(
            "the offer sets offer_quantity_max, so invreq_quantity is required",
        )),
        (Some(max), Some(q)) if max != 0 && (q == 0 || q > max) => Err(
            Bolt12Error::InvalidQuantity("it must be from 1 to offer_quantity_max"),
        ),
        (None, Some(_)) => Err(Bolt12Error::InvalidQuantity(
            "the offer sets no offer_quantity_max, so invreq_quantity must be absent",
        )),
        _ => Ok(()),
    }
}

/// `invreq_id` of the invoice_request that a BOLT12 invoice (`lni1…`) answers: SHA256 of the
/// invoice's raw records in 0–159 and 1000000000–2999999999 (the copied invreq records).
pub fn invreq_id_of_invoice(lni: &str) -> Result<[u8; 32], Bolt12Error> {
    let bytes = decode_with_hrp(lni, INVOICE_HRP)?;
    let mut h = Sha256::new();
    for rec in TlvIter::new(&bytes) {
        let rec = rec?;
        if in_invreq_id(rec.typ) {
            h.update(rec.raw);
        }
    }
    Ok(h.finalize().into())
}
