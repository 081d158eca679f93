//! `POST /v1/decode`: read an `lnr1…` string by BOLT 12's reader rules.

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::error::ApiError;
use super::extract::ApiJson;
use crate::bolt12::{InvoiceRequest, OfferFields};
use crate::error_code::ErrorCode;

/// The body of `POST /v1/decode`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecodeRequest {
    /// An `lnr1…` string: all lowercase or all uppercase, optionally split by `+` followed by
    /// whitespace (any Unicode `White_Space`) between two bech32 characters.
    #[schema(value_type = String, required = true, pattern = r"^[lL](\+\s*)?[nN](\+\s*)?[rR](\+\s*)?1")]
    pub bolt12: Option<String>,
}

/// The offer an invoice_request answers, or the informational offer fields of one that does
/// not (`offer_currency`, `offer_amount`, `offer_metadata`).
#[derive(Serialize, ToSchema)]
pub struct DecodedOffer {
    /// `offer_issuer_id`, hex (33-byte point).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_issuer_id: Option<String>,
    /// `offer_chains`, hex chain hashes (absent: bitcoin only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_chains: Option<Vec<String>>,
    /// `offer_metadata`, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_metadata: Option<String>,
    /// `offer_currency`, an ISO 4217 code (absent: `offer_amount` is in msat).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_currency: Option<String>,
    /// `offer_amount`, msat or units of `offer_currency` (per item).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_amount: Option<u64>,
    /// `offer_features`, hex.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_features: Option<String>,
    /// Number of blinded paths in `offer_paths`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_paths: Option<usize>,
    /// `offer_quantity_max` (0: no maximum).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_quantity_max: Option<u64>,
}

/// A BIP 353 human-readable name (`₿name@domain`).
#[derive(Serialize, ToSchema)]
pub struct Bip353Name {
    /// The part before `@`.
    pub name: String,
    /// The part after `@`.
    pub domain: String,
}

/// Every field of a BOLT12 invoice_request: one that answers an offer or one that does not
/// (an offer to send money, what this service creates).
#[derive(Serialize, ToSchema)]
pub struct DecodedInvoiceRequest {
    /// Always `bolt12 invoice_request`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// True when it answers an offer (`offer_issuer_id` or `offer_paths` present).
    pub answers_offer: bool,
    /// The SHA256 hash of all invoice_request fields less than 160.
    pub invreq_id: String,
    /// `invreq_metadata`, hex.
    pub invreq_metadata: String,
    /// `offer_description` (always set by a request that does not answer an offer; optional in
    /// an offer without an amount).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_description: Option<String>,
    /// `offer_issuer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_issuer: Option<String>,
    /// `offer_absolute_expiry`, seconds since 1970.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_absolute_expiry: Option<u64>,
    /// The other offer fields, when any is present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer: Option<DecodedOffer>,
    /// `invreq_chain`, hex (absent for bitcoin mainnet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invreq_chain: Option<String>,
    /// The network of the chain (`bitcoin`, `testnet`, `testnet4`, `signet`, `regtest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// `invreq_amount`, msat (absent only in a response to an offer that sets `offer_amount`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invreq_amount_msat: Option<u64>,
    /// `invreq_payer_id`, hex.
    pub invreq_payer_id: String,
    /// `invreq_payer_note`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invreq_payer_note: Option<String>,
    /// `invreq_quantity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invreq_quantity: Option<u64>,
    /// Whether it carries blinded paths (`invreq_paths`).
    pub has_invreq_paths: bool,
    /// `invreq_bip_353_name`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invreq_bip_353_name: Option<Bip353Name>,
    /// The BIP340 signature, hex, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// True when a signature is present and valid for `invreq_payer_id` (a wrong one is a 400).
    pub signature_valid: bool,
}

impl From<&OfferFields> for Option<DecodedOffer> {
    fn from(o: &OfferFields) -> Self {
        (*o != OfferFields::default()).then(|| DecodedOffer {
            offer_issuer_id: o.issuer_id.map(|k| k.to_string()),
            offer_chains: o
                .chains
                .as_ref()
                .map(|c| c.iter().map(hex::encode).collect()),
            offer_metadata: o.metadata.as_ref().map(hex::encode),
            offer_currency: o.currency.clone(),
            offer_amount: o.amount,
            offer_features: o.features.as_ref().map(hex::encode),
            offer_paths: o.paths,
            offer_quantity_max: o.quantity_max,
        })
    }
}

impl From<&InvoiceRequest> for DecodedInvoiceRequest {
    fn from(r: &InvoiceRequest) -> Self {
        Self {
            kind: "bolt12 invoice_request",
            answers_offer: r.answers_offer(),
            invreq_id: hex::encode(r.invreq_id()),
            invreq_metadata: hex::encode(r.metadata()),
            offer_description: r.description().map(str::to_owned),
            offer_issuer: r.issuer().map(str::to_owned),
            offer_absolute_expiry: r.absolute_expiry(),
            offer: r.offer().into(),
            invreq_chain: r.chain().map(hex::encode),
            network: r.network().map(|n| n.to_string()),
            invreq_amount_msat: r.amount_msat(),
            invreq_payer_id: r.payer_id().to_string(),
            invreq_payer_note: r.payer_note().map(str::to_owned),
            invreq_quantity: r.quantity(),
            has_invreq_paths: r.has_paths(),
            invreq_bip_353_name: r.bip_353_name().map(|(n, d)| Bip353Name {
                name: n.to_owned(),
                domain: d.to_owned(),
            }),
            signature: r.signature().map(|s| hex::encode(s.as_ref())),
            signature_valid: r.signature().is_some(),
        }
    }
}

/// Decode an `lnr1…` string (CLN `decode`).
#[utoipa::path(
    post,
    path = "/v1/decode",
    tag = "decode",
    request_body(content = DecodeRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "The decoded invoice request.", body = DecodedInvoiceRequest),
    )
)]
pub async fn decode(
    _client: Authenticated,
    ApiJson(body): ApiJson<DecodeRequest>,
) -> Result<Json<DecodedInvoiceRequest>, ApiError> {
    let text = body
        .bolt12
        .ok_or_else(|| ApiError::invalid_field("bolt12", "bolt12 is required"))?;
    let parsed = InvoiceRequest::decode(&text).map_err(|e| {
        ApiError::new(ErrorCode::InvalidBolt12, format!("bolt12: {e}")).with_field("bolt12")
    })?;
    Ok(Json(DecodedInvoiceRequest::from(&parsed)))
}
