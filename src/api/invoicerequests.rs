//! `/v1/invoicerequests`: create, list, get, disable.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{CanDisable, CanRead, CanWrite};
use super::error::ApiError;
use super::extract::{ApiJson, ApiPath, ApiQuery, fingerprint};
use crate::service::{
    Amount, Created, Description, InvoiceRequestView, InvreqId, Issuer, Label, ListQuery,
    MAX_EXPIRY_SECS, NewInvoiceRequest, Payment, PaymentStatus, Status, ValidationError, unix_now,
};

/// The tenant of the bootstrap key (kept here for callers of the first API).
pub use crate::auth::DEFAULT_TENANT;

/// The schema of `amount`: an integer of msat ≥ 1, or a string of the amount grammar.
fn amount_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, Type};
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(
                    utoipa::openapi::KnownFormat::Int64,
                )))
                .minimum(Some(1))
                .maximum(Some(crate::service::MAX_MSAT))
                .description(Some("Millisatoshi.")),
        )
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(crate::service::AMOUNT_PATTERN))
                .description(Some(
                    "`<n>`, `<n>msat`, `<n>sat`, `<n>.<3 digits>sat`, `<n>btc` or `<n>.<1-11 digits>btc`; positive, at most 21000000btc.",
                )),
        )
        .description(Some("A positive value in millisatoshi precision: a whole number of msat, or a string in the amount grammar."))
        .examples([serde_json::json!("10000sat")])
        .into()
}

/// Seconds since 1970, as a JSON integer. A number too large for any clock reads as the
/// latest second there is, so that the rule it breaks is named ("too far in the future").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct UnixSeconds(pub u64);

impl<'de> Deserialize<'de> for UnixSeconds {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = UnixSeconds;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a whole number of seconds since 1970")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<UnixSeconds, E> {
                Ok(UnixSeconds(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<UnixSeconds, E> {
                u64::try_from(v)
                    .map(UnixSeconds)
                    .map_err(|_| E::custom("must lie in the future (it is negative)"))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<UnixSeconds, E> {
                if v.fract() != 0.0 || v.is_nan() {
                    Err(E::custom("must be a whole number of seconds since 1970"))
                } else if v < 0.0 {
                    Err(E::custom("must lie in the future (it is negative)"))
                } else {
                    // Whole and beyond u64 (serde_json reads larger integers as floats).
                    Ok(UnixSeconds(u64::MAX))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// The body of `POST /v1/invoicerequests`: the request of CLN's `invoicerequest`.
///
/// Its canonical form (this type serialized) is what an `Idempotency-Key` binds: the same
/// request with members reordered, other whitespace, or another spelling of the same amount
/// is the same request.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"amount": "10000sat", "description": "simple test", "issuer": "clightning test suite"}))]
pub struct CreateInvoiceRequest {
    /// A positive value in millisatoshi precision; it can be a whole number, or a whole number ending in *msat* or *sat*, or a number with three decimal places ending in *sat*, or a number with 1 to 11 decimal places ending in *btc*.
    #[schema(schema_with = amount_schema, required = true)]
    pub amount: Option<Amount>,
    /// A short description of purpose of the payment, e.g. *ATM withdrawl*. This value is encoded into the resulting `invoice_request` and is viewable by anyone you expose it to. UTF-8 without control characters, not only spaces, at most `--max-description-bytes` (default 640) bytes.
    #[schema(value_type = String, required = true, min_length = 1, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$")]
    pub description: Option<String>,
    /// Who is issuing it (i.e. you) if appropriate. The same rules as `description`.
    #[schema(value_type = Option<String>, min_length = 1, pattern = r"^[^\x00-\x1f\x7f-\x9f]*[^\x00-\x20\x7f-\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000][^\x00-\x1f\x7f-\x9f]*$")]
    pub issuer: Option<String>,
    /// An internal-use name for the offer, which can be any UTF-8 string (unique per tenant): empty, tabs and newlines included; only U+0000 is refused; at most 1024 characters.
    #[schema(value_type = Option<String>, max_length = 1024, pattern = r"^[^\x00]*$")]
    pub label: Option<String>,
    /// The time the offer is valid until, in seconds since the first day of 1970 UTC. If not set, the `invoice_request` remains valid (though it can be deactivated by the issuer of course), unless the server gives a default (`--default-expiry-secs`). This is encoded in the `invoice_request`. Must lie in the future and at most `--max-expiry-secs` from now (when set); never after 9223372036854775807.
    #[schema(value_type = Option<u64>, minimum = 1, maximum = 9223372036854775807_u64)]
    pub absolute_expiry: Option<UnixSeconds>,
    /// Indicates that the `invoice_request` is only valid once; we may attempt multiple payments, but as soon as one is successful no more invoices are accepted (i.e. only one person can take the money).
    #[schema(value_type = Option<bool>, default = true)]
    pub single_use: Option<bool>,
    /// Give it a claim page for the person being paid: the response's `claim_url` (`/claim/<token>`, a fresh random 128-bit token, never the `invreq_id`) shows the amount, the QR code and the `lnr1…` string, with the status live. Not part of CLN's `invoicerequest`.
    #[schema(value_type = Option<bool>, default = false)]
    pub claim_page: Option<bool>,
}

fn required(field: &str) -> ValidationError {
    ValidationError::new(field, format!("{field} is required"))
}

impl TryFrom<CreateInvoiceRequest> for NewInvoiceRequest {
    type Error = ValidationError;

    /// The request's own rules; the server's limits come after ([`NewInvoiceRequest::within`]).
    fn try_from(r: CreateInvoiceRequest) -> Result<Self, ValidationError> {
        let absolute_expiry = match r.absolute_expiry {
            Some(UnixSeconds(s)) if s > MAX_EXPIRY_SECS => {
                return Err(ValidationError::new(
                    "absolute_expiry",
                    format!("absolute_expiry is too far in the future (at most {MAX_EXPIRY_SECS})"),
                ));
            }
            other => other.map(|s| s.0),
        };
        Ok(Self {
            amount: r.amount.ok_or_else(|| required("amount"))?,
            description: Description::parse(
                r.description.ok_or_else(|| required("description"))?,
                usize::MAX,
            )?,
            issuer: r.issuer.map(|s| Issuer::parse(s, usize::MAX)).transpose()?,
            label: r.label.map(Label::parse).transpose()?,
            absolute_expiry,
            single_use: r.single_use.unwrap_or(true),
            claim_page: r.claim_page.unwrap_or(false),
        })
    }
}

/// An invoice request: the response of CLN's `invoicerequest`, plus what a web backend needs.
#[derive(Serialize, ToSchema)]
#[schema(example = json!({
    "invreq_id": "715484ead84bcdae5b33e3015c686fa1bdd4ae9ade3c4729b58257a98cfcd9b5",
    "active": true,
    "single_use": true,
    "bolt12": "lnr1qqgteyhfyp40c79a5y3gfe33nxfs6zstwd5k6urvv5s8getnwsfp2cmvd9nksarwd9hxwgr5v4ehggrnw45hge2syqrzymjxzydqkkw24ufxqslttwlj3s608f0rx2slc7etw0833zgs75srnztgqkppqfnwgkvdr57yzh6h92zg3qctvrm7w38djg67kzcm4yeg8vc4cq633uzq99smfawuu6pz0zh9jl6dl8v25u3kzes975x2j9tr0qp0ux0tlzcxjrgehxh9luz5vwjpk92tys9f9zlm038krcz4uqfxgelwf43tgfc",
    "used": false,
    "amount_msat": 10000000,
    "description": "simple test",
    "issuer": "clightning test suite",
    "created_at": 1764115200,
    "status": "open"
}))]
pub struct InvoiceRequestBody {
    /// The SHA256 hash of all invoice_request fields less than 160.
    pub invreq_id: String,
    /// Whether the invoice_request is currently active.
    pub active: bool,
    /// Whether the invoice_request will become inactive after we pay an invoice for it.
    pub single_use: bool,
    /// The bolt12 string starting with lnr (empty while `status` is `pending` or `failed`).
    pub bolt12: String,
    /// Whether the invoice_request has already been used.
    pub used: bool,
    /// The label provided when creating the invoice_request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The amount promised, in millisatoshi.
    pub amount_msat: u64,
    /// The description encoded in the request.
    pub description: String,
    /// The issuer encoded in the request.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Seconds since 1970 after which it is no longer valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub absolute_expiry: Option<u64>,
    /// Seconds since 1970 when it was created.
    pub created_at: u64,
    /// `pending`, `open`, `paying`, `paid`, `disabled`, `expired` or `failed`.
    pub status: Status,
    /// Delivered to payees by completed payments, in millisatoshi. Below `amount_msat` when a
    /// payee invoiced less than asked (a shortfall).
    pub amount_paid_msat: u64,
    /// Sent by the node for completed payments, in millisatoshi, fees included: the fees are
    /// `amount_sent_msat - amount_paid_msat`.
    pub amount_sent_msat: u64,
    /// Every payment the node made for it, newest first, failed attempts included.
    pub payments: Vec<PaymentBody>,
    /// The payment that says most (the newest completed, else in flight, else failed).
    /// Kept for earlier clients: `payments` has them all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<PaymentBody>,
    /// Its claim page, `/claim/<token>` relative to invreqd's origin, while it has one
    /// (created with `claim_page: true`, or `POST /v1/invoicerequests/{invreq_id}/claim`).
    /// Whoever has it can claim the money: hand it only to the person being paid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub claim_url: Option<String>,
}

/// One payment the node made for an invoice request: the parts of one `(payment_hash,
/// groupid)` of CLN's `listsendpays`, summed the way `listpays` does.
#[derive(Serialize, ToSchema)]
pub struct PaymentBody {
    /// The payment hash, hex.
    pub payment_hash: String,
    /// The node's group of this attempt (a retry of the same invoice may start another).
    pub groupid: u64,
    /// `complete` if any part completed, `pending` if any is in flight, `failed` only if all failed.
    pub status: PaymentStatusBody,
    /// Delivered to the payee by the parts that completed or are in flight, in millisatoshi
    /// (0 when every part failed: no money moved).
    pub amount_msat: u64,
    /// Sent by the node for the same parts, in millisatoshi, fees included.
    pub amount_sent_msat: u64,
    /// How many parts the node made for it, failed ones included.
    pub parts: u32,
    /// The preimage, hex, once complete.
    pub preimage: Option<String>,
    /// Seconds since 1970 when its first part started.
    pub created_at: u64,
    /// Seconds since 1970 when it completed.
    pub completed_at: Option<u64>,
}

/// Where a payment stands, as CLN spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatusBody {
    /// At least one part completed: the payee has the money.
    Complete,
    /// None completed, at least one in flight.
    Pending,
    /// Every part failed: no money moved.
    Failed,
}

impl From<PaymentStatus> for PaymentStatusBody {
    fn from(s: PaymentStatus) -> Self {
        match s {
            PaymentStatus::Complete => Self::Complete,
            PaymentStatus::Pending => Self::Pending,
            PaymentStatus::Failed => Self::Failed,
        }
    }
}

impl From<&Payment> for PaymentBody {
    fn from(p: &Payment) -> Self {
        Self {
            payment_hash: p.payment_hash.clone(),
            groupid: p.groupid,
            status: p.status.into(),
            amount_msat: p.amount_msat,
            amount_sent_msat: p.amount_sent_msat,
            parts: p.parts,
            preimage: p.preimage.clone(),
            created_at: p.created_at,
            completed_at: p.completed_at,
        }
    }
}

impl From<&InvoiceRequestView> for InvoiceRequestBody {
    fn from(v: &InvoiceRequestView) -> Self {
        let r = &v.record;
        Self {
            invreq_id: r.invreq_id.clone(),
            active: r.active,
            single_use: r.single_use,
            bolt12: r.bolt12.clone(),
            used: r.used,
            label: r.label.clone(),
            amount_msat: r.amount_msat,
            description: r.description.clone(),
            issuer: r.issuer.clone(),
            absolute_expiry: r.absolute_expiry,
            created_at: r.created_at,
            status: r.status,
            amount_paid_msat: v.amount_paid_msat(),
            amount_sent_msat: v.amount_sent_msat(),
            payments: v.payments.iter().map(PaymentBody::from).collect(),
            payment: v.main_payment().map(PaymentBody::from),
            claim_url: v.claim_token.as_ref().map(|t| format!("/claim/{t}")),
        }
    }
}

/// An invoice request as `GET /v1/invoicerequests/{id}` shows it, as JSON text: the `data` of
/// its events (start-up gives it to the service as its view renderer).
pub fn render_view(view: &InvoiceRequestView) -> String {
    serde_json::to_string(&InvoiceRequestBody::from(view)).unwrap_or_default()
}

/// A page of invoice requests, newest first.
#[derive(Serialize, ToSchema)]
pub struct InvoiceRequestList {
    /// The invoice requests on this page.
    pub invoicerequests: Vec<InvoiceRequestBody>,
    /// Pass as `cursor` for the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// The query string of the list: each parameter at most once, no others.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Only requests that are active now (default false).
    pub active_only: Option<bool>,
    /// Only the request with this label (any string but U+0000, at most 1024 characters).
    #[param(max_length = 1024, pattern = r"^[^\x00]*$")]
    pub label: Option<String>,
    /// Also list `failed` records: creates the node never made, which hold no label (default
    /// false: they are left out).
    pub include_failed: Option<bool>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<u32>,
    /// `next_cursor` of the previous page: a positive integer, in decimal.
    #[param(pattern = "^[1-9][0-9]{0,17}$")]
    pub cursor: Option<String>,
}

const MAX_LIMIT: u32 = 1000;
const DEFAULT_LIMIT: u32 = 100;

impl TryFrom<ListParams> for ListQuery {
    type Error = ApiError;

    fn try_from(p: ListParams) -> Result<Self, ApiError> {
        let limit = p.limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(ApiError::invalid_parameter(
                "limit",
                format!("limit must be an integer from 1 to {MAX_LIMIT}"),
            ));
        }
        let before_seq = p
            .cursor
            .map(|c| {
                // The pattern exactly: 1 to 18 digits, no leading zero, no sign.
                let well_formed = (1..=18).contains(&c.len())
                    && !c.starts_with('0')
                    && c.bytes().all(|b| b.is_ascii_digit());
                well_formed
                    .then(|| c.parse::<i64>().ok())
                    .flatten()
                    .ok_or_else(|| {
                        ApiError::invalid_parameter(
                            "cursor",
                            "cursor must be a next_cursor of this list",
                        )
                    })
            })
            .transpose()?;
        let label = p
            .label
            .map(Label::parse)
            .transpose()
            .map_err(|e| ApiError::invalid_parameter(e.field, e.message))?
            .map(Label::into_inner);
        Ok(ListQuery {
            active_only: p.active_only.unwrap_or(false),
            label,
            include_failed: p.include_failed.unwrap_or(false),
            limit,
            before_seq,
        })
    }
}

fn location(id: &str) -> HeaderValue {
    HeaderValue::from_str(&format!("/v1/invoicerequests/{id}")).expect("hex is a valid header")
}

fn json_response(status: StatusCode, body: String, id: Option<&str>) -> Response {
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(id) = id {
        res.headers_mut().insert(header::LOCATION, location(id));
    }
    res
}

/// Create an invoice request (CLN `invoicerequest`).
#[utoipa::path(
    post,
    path = "/v1/invoicerequests",
    tag = "invoicerequests",
    request_body(content = CreateInvoiceRequest, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes retries safe: the same key and body return the first response; the same key with another body is 409. At most 255 visible ASCII characters.")),
    responses(
        (status = 201, description = "Created; `Location` names it.", body = InvoiceRequestBody, headers(("Location" = String, description = "Path of the new invoice request"))),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    client: CanWrite,
    headers: HeaderMap,
    ApiJson(body): ApiJson<CreateInvoiceRequest>,
) -> Result<Response, ApiError> {
    let idempotency_key = idempotency_key(&headers)?;
    let print = fingerprint(&body);
    let req =
        NewInvoiceRequest::try_from(body)?.within(&state.service.config().limits, unix_now())?;
    let created = state
        .service
        .create_as(
            &client,
            idempotency_key.map(|k| (k, print)),
            req,
            std::sync::Arc::new(render_view),
        )
        .await?;
    Ok(match created {
        Created::New { view, body } => {
            json_response(StatusCode::CREATED, body, Some(&view.record.invreq_id))
        }
        Created::Replay {
            status,
            body,
            invreq_id: id,
        } => {
            let mut res = json_response(
                StatusCode::from_u16(status).unwrap_or(StatusCode::CREATED),
                body,
                id.as_deref(),
            );
            res.headers_mut()
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
            res
        }
    })
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(v) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    match v.to_str() {
        Ok(k) if !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()) => {
            Ok(Some(k.to_owned()))
        }
        _ => Err(ApiError::invalid_parameter(
            "Idempotency-Key",
            "Idempotency-Key must be 1 to 255 visible ASCII characters",
        )),
    }
}

/// List invoice requests, newest first (CLN `listinvoicerequests`).
#[utoipa::path(
    get,
    path = "/v1/invoicerequests",
    tag = "invoicerequests",
    params(ListParams),
    responses(
        (status = 200, description = "A page of invoice requests.", body = InvoiceRequestList),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    client: CanRead,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<InvoiceRequestList>, ApiError> {
    let query = ListQuery::try_from(params)?;
    let page = state.service.list(&client.tenant, query).await?;
    Ok(Json(InvoiceRequestList {
        invoicerequests: page.items.iter().map(InvoiceRequestBody::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

/// Get one invoice request (CLN `listinvoicerequests invreq_id`).
#[utoipa::path(
    get,
    path = "/v1/invoicerequests/{invreq_id}",
    tag = "invoicerequests",
    params(("invreq_id" = String, Path, description = "64 hex digits (any case)", pattern = "^[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "The invoice request.", body = InvoiceRequestBody),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    client: CanRead,
    ApiPath(id): ApiPath<InvreqId>,
) -> Result<Json<InvoiceRequestBody>, ApiError> {
    let view = state.service.get(&client.tenant, id.as_str()).await?;
    Ok(Json(InvoiceRequestBody::from(&view)))
}

/// Disable an invoice request (CLN `disableinvoicerequest`).
#[utoipa::path(
    delete,
    path = "/v1/invoicerequests/{invreq_id}",
    tag = "invoicerequests",
    params(("invreq_id" = String, Path, description = "64 hex digits (any case)", pattern = "^[0-9a-fA-F]{64}$")),
    responses(
        (status = 200, description = "Disabled: `active` is false.", body = InvoiceRequestBody),
    )
)]
pub async fn disable(
    State(state): State<AppState>,
    client: CanDisable,
    ApiPath(id): ApiPath<InvreqId>,
) -> Result<Json<InvoiceRequestBody>, ApiError> {
    let view = state.service.disable_as(&client, id.as_str()).await?;
    Ok(Json(InvoiceRequestBody::from(&view)))
}
