//! Errors raised while encoding, decoding or validating BOLT12 data.

/// Everything that can go wrong with a BOLT12 string, TLV stream or invoice_request.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum Bolt12Error {
    /// The human-readable prefix is not the one expected (e.g. `lnr`).
    #[error("wrong bech32 prefix: expected `{expected}`, found `{found}`")]
    WrongHrp {
        /// The prefix the caller asked for.
        expected: &'static str,
        /// The prefix actually present (lowercased).
        found: String,
    },
    /// The string mixes upper- and lowercase letters.
    #[error("bech32 string mixes upper and lower case")]
    MixedCase,
    /// A `+` continuation is not placed between two bech32 characters.
    #[error("invalid `+` continuation: it must sit between two bech32 characters")]
    InvalidContinuation,
    /// A character outside the bech32 alphabet (or stray whitespace) was found.
    #[error("invalid bech32 string: {0}")]
    InvalidCharacter(String),
    /// The 5-bit data has more than 4 padding bits or non-zero padding.
    #[error("invalid bech32 padding")]
    InvalidPadding,
    /// The TLV stream ends in the middle of a type, length or value.
    #[error("truncated TLV stream")]
    Truncated,
    /// A BigSize is not minimally encoded.
    #[error("non-canonical BigSize encoding")]
    NonCanonicalBigSize,
    /// TLV types are not strictly ascending (out of order or duplicated).
    #[error("TLV type {0} is not strictly greater than the previous type")]
    NotAscending(u64),
    /// An even (mandatory) TLV type that we do not understand.
    #[error("unknown even TLV type {0}")]
    UnknownEvenType(u64),
    /// A text field is not valid UTF-8.
    #[error("field `{0}` is not valid UTF-8")]
    InvalidUtf8(&'static str),
    /// A field has the wrong length or encoding (e.g. a non-minimal tu64).
    #[error("field `{0}` is malformed")]
    InvalidField(&'static str),
    /// A required field is absent.
    #[error("missing required field `{0}`")]
    MissingField(&'static str),
    /// A field a reader must reject in an invoice_request that does not answer an offer
    /// (`offer_chains`, `offer_features`, `offer_quantity_max`).
    #[error("TLV type {0} is not allowed in an invoice_request that does not answer an offer")]
    ForbiddenField(u64),
    /// The offer fields of an invoice_request that answers an offer do not form a valid offer.
    #[error("the offer it answers is invalid: {0}")]
    InvalidOffer(&'static str),
    /// `invreq_quantity` breaks the offer's `offer_quantity_max` rule.
    #[error("invalid invreq_quantity: {0}")]
    InvalidQuantity(&'static str),
    /// `invreq_amount` is below the amount the offer asks for.
    #[error("invreq_amount {got} msat is below the {expected} msat the offer asks for")]
    AmountBelowOffer {
        /// `invreq_amount`, msat.
        got: u64,
        /// `offer_amount` × `invreq_quantity` (saturating), msat.
        expected: u64,
    },
    /// An invoice_request answering an offer carries no signature (its writer MUST sign).
    #[error("missing signature: an invoice_request answering an offer must be signed")]
    MissingSignature,
    /// `invreq_chain` names a chain that is not a bitcoin network (bitcoin, testnet,
    /// testnet4, signet, regtest).
    #[error("invreq_chain {0} is not a supported chain")]
    UnsupportedChain(String),
    /// A TLV type outside the ranges allowed for this message.
    #[error("TLV type {0} is outside the allowed ranges")]
    OutOfRange(u64),
    /// A signature record is present but does not verify (or is malformed).
    #[error("invalid signature")]
    InvalidSignature,
    /// `invreq_payer_id` is not a valid compressed secp256k1 point.
    #[error("invalid payer id (not a valid secp256k1 point)")]
    InvalidPubkey,
    /// The amount is zero or exceeds the bitcoin supply.
    #[error("invalid amount")]
    InvalidAmount,
    /// `invreq_features` sets a required (even) bit we do not know.
    #[error("unknown required feature bit in invreq_features")]
    UnknownRequiredFeature,
    /// A blinded path field (`invreq_paths`, `offer_paths`) is empty, truncated or holds an
    /// invalid point.
    #[error("invalid {0}")]
    InvalidPaths(&'static str),
    /// A blinded path with `num_hops` 0.
    #[error("{0} holds a blinded path with no hops")]
    EmptyBlindedPath(&'static str),
    /// LDK's builder refused the fields.
    #[error("invoice_request fields refused: {0}")]
    Semantic(String),
}
