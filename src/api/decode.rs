//! `POST /v1/decode`: read an `lnr1…` string.

use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::auth::Authenticated;
use super::error::ApiError;
use super::extract::ApiJson;
use crate::bolt12::InvoiceRequest;
use crate::error_code::ErrorCode;

/// The body of `POST /v1/decode`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecodeRequest {
    /// An `lnr1…` string (lowercase or uppercase, `+` continuations allowed).
    #[schema(value_type = String, required = true, pattern = "^([lL][nN][rR]1)")]
    pub bolt12: Option<String>,
}

/// Every field of an offer-less BOLT12 invoice_request.
#[derive(Serialize, ToSchema)]
pub struct DecodedInvoiceRequest {
    /// Always `bolt12 invoice_request`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The SHA256 hash of all invoice_request fields less than 160.
    pub invreq_id: String,
    /// `invreq_metadata`, hex.
    pub invreq_metadata: String,
    /// `offer_description`.
    pub offer_description: String,
    /// `offer_issuer`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_issuer: Option<String>,
    /// `offer_absolute_expiry`, seconds since 1970.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offer_absolute_expiry: Option<u64>,
    /// `invreq_chain`, hex (absent for bitcoin mainnet).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invreq_chain: Option<String>,
    /// The network of the chain, when known (`bitcoin`, `testnet`, `signet`, `regtest`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
    /// `invreq_amount`, msat.
    pub invreq_amount_msat: u64,
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
    /// The BIP340 signature, hex, when present.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
    /// True when a signature is present and valid for `invreq_payer_id` (a wrong one is a 400).
    pub signature_valid: bool,
}

impl From<&InvoiceRequest> for DecodedInvoiceRequest {
    fn from(r: &InvoiceRequest) -> Self {
        Self {
            kind: "bolt12 invoice_request",
            invreq_id: hex::encode(r.invreq_id()),
            invreq_metadata: hex::encode(r.metadata()),
            offer_description: r.description().to_owned(),
            offer_issuer: r.issuer().map(str::to_owned),
            offer_absolute_expiry: r.absolute_expiry(),
            invreq_chain: r.chain().map(hex::encode),
            network: r.network().map(|n| n.to_string()),
            invreq_amount_msat: r.amount_msat(),
            invreq_payer_id: r.payer_id().to_string(),
            invreq_payer_note: r.payer_note().map(str::to_owned),
            invreq_quantity: r.quantity(),
            has_invreq_paths: r.has_paths(),
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
