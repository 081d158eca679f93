//! `/v1/invoicerequests`: create, list, get, disable.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::{IntoParams, ToSchema};

use super::AppState;
use super::auth::{CanDisable, CanRead, CanWrite};
use super::error::{ApiError, Problem};
use super::extract::{InvreqIdPath, JsonObject, QueryPairs};
use crate::service::{Created, InvoiceRequestView, NewInvoiceRequest, Payment, unix_now};
use crate::store::{ListQuery, Status};

/// The tenant of the bootstrap key (kept here for callers of the first API).
pub use crate::auth::DEFAULT_TENANT;

/// An amount: an integer in msat, or a string such as `"10000sat"`.
#[derive(ToSchema)]
#[schema(example = json!("10000sat"))]
#[allow(dead_code)]
pub enum AmountInput {
    /// Millisatoshi.
    Msat(u64),
    /// `"<n>"`, `"<n>msat"`, `"<n>sat"`, `"<n>.<3 digits>sat"`, `"<n>btc"` or `"<n>.<1-11 digits>btc"`.
    Text(String),
}

/// The body of `POST /v1/invoicerequests`: the request of CLN's `invoicerequest`.
#[derive(ToSchema)]
#[schema(example = json!({"amount": "10000sat", "description": "simple test", "issuer": "clightning test suite"}))]
#[allow(dead_code)]
pub struct CreateInvoiceRequest {
    /// A positive value in millisatoshi precision; it can be a whole number, or a whole number ending in *msat* or *sat*, or a number with three decimal places ending in *sat*, or a number with 1 to 11 decimal places ending in *btc*.
    #[schema(inline)]
    amount: AmountInput,
    /// A short description of purpose of the payment, e.g. *ATM withdrawl*. This value is encoded into the resulting `invoice_request` and is viewable by anyone you expose it to. It must be UTF-8 (JSON escapes are accepted; control characters are not).
    description: String,
    /// Who is issuing it (i.e. you) if appropriate.
    issuer: Option<String>,
    /// An internal-use name for the offer, which can be any UTF-8 string (unique per API client).
    label: Option<String>,
    /// The time the offer is valid until, in seconds since the first day of 1970 UTC. If not set, the `invoice_request` remains valid (though it can be deactivated by the issuer of course). This is encoded in the `invoice_request`.
    absolute_expiry: Option<u64>,
    /// Indicates that the `invoice_request` is only valid once; we may attempt multiple payments, but as soon as one is successful no more invoices are accepted (i.e. only one person can take the money).
    #[schema(default = true)]
    single_use: Option<bool>,
    /// Give it a claim page for the person being paid: the response's `claim_url` (`/claim/<token>`, a fresh random 128-bit token, never the `invreq_id`) shows the amount, the QR code and the `lnr1…` string, with the status live. Not part of CLN's `invoicerequest`.
    #[schema(default = false)]
    claim_page: Option<bool>,
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
    pub status: &'static str,
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

impl From<&Payment> for PaymentBody {
    fn from(p: &Payment) -> Self {
        Self {
            payment_hash: p.payment_hash.clone(),
            groupid: p.groupid,
            status: p.status.as_str(),
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

/// Query parameters of the list.
#[derive(IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListParams {
    /// Only requests that are active now (default false).
    active_only: Option<bool>,
    /// Only the request with this label.
    label: Option<String>,
    /// Also list `failed` records: creates the node never made, which hold no label (default
    /// false: they are left out).
    include_failed: Option<bool>,
    /// Page size, 1 to 1000 (default 100).
    limit: Option<u32>,
    /// `next_cursor` of the previous page.
    cursor: Option<String>,
}

const MAX_LIMIT: u32 = 1000;
const DEFAULT_LIMIT: u32 = 100;

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
        (status = 400, description = "Invalid JSON or a field that breaks a rule.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Label taken, or Idempotency-Key reused with another body.", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body too large.", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Body is not JSON.", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The node failed or its answer did not verify.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The node or the database is unavailable.", body = Problem, content_type = "application/problem+json"),
        (status = 504, description = "The node did not answer in time; `invreq_id` names the request, whose outcome GET shows later.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    State(state): State<AppState>,
    client: CanWrite,
    headers: HeaderMap,
    body: JsonObject,
) -> Result<Response, ApiError> {
    let idempotency_key = idempotency_key(&headers)?;
    let req = NewInvoiceRequest::parse(&body.map, &state.service.config().limits, unix_now())?;
    let created = state
        .service
        .create_as(
            &client,
            idempotency_key.map(|k| (k, body.sha256.clone())),
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
        (status = 400, description = "A malformed parameter.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    State(state): State<AppState>,
    client: CanRead,
    QueryPairs(pairs): QueryPairs,
) -> Result<Json<InvoiceRequestList>, ApiError> {
    let query = list_query(&pairs)?;
    let page = state.service.list(&client.tenant, query).await?;
    Ok(Json(InvoiceRequestList {
        invoicerequests: page.items.iter().map(InvoiceRequestBody::from).collect(),
        next_cursor: page.next_cursor,
    }))
}

fn list_query(pairs: &[(String, String)]) -> Result<ListQuery, ApiError> {
    let mut q = ListQuery {
        limit: DEFAULT_LIMIT,
        ..ListQuery::default()
    };
    let mut seen = Vec::new();
    for (name, value) in pairs {
        if seen.contains(&name.as_str()) {
            return Err(ApiError::invalid_parameter(
                name,
                format!("{name} is given more than once"),
            ));
        }
        seen.push(name.as_str());
        match name.as_str() {
            "active_only" => {
                q.active_only = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(ApiError::invalid_parameter(
                            name,
                            "active_only must be true or false",
                        ));
                    }
                }
            }
            "label" => q.label = Some(value.clone()),
            "include_failed" => {
                q.include_failed = match value.as_str() {
                    "true" => true,
                    "false" => false,
                    _ => {
                        return Err(ApiError::invalid_parameter(
                            name,
                            "include_failed must be true or false",
                        ));
                    }
                }
            }
            "limit" => {
                q.limit = value
                    .parse()
                    .ok()
                    .filter(|l| (1..=MAX_LIMIT).contains(l))
                    .ok_or_else(|| {
                        ApiError::invalid_parameter(
                            name,
                            format!("limit must be an integer from 1 to {MAX_LIMIT}"),
                        )
                    })?
            }
            "cursor" => {
                q.before_seq =
                    Some(value.parse().ok().filter(|c: &i64| *c > 0).ok_or_else(|| {
                        ApiError::invalid_parameter(
                            name,
                            "cursor must be a next_cursor of this list",
                        )
                    })?)
            }
            other => {
                return Err(ApiError::invalid_parameter(
                    other,
                    format!(
                        "unknown query parameter {other:?}; the parameters are active_only, label, include_failed, limit, cursor"
                    ),
                ));
            }
        }
    }
    Ok(q)
}

/// Get one invoice request (CLN `listinvoicerequests invreq_id`).
#[utoipa::path(
    get,
    path = "/v1/invoicerequests/{invreq_id}",
    tag = "invoicerequests",
    params(("invreq_id" = String, Path, description = "64 hex digits")),
    responses(
        (status = 200, description = "The invoice request.", body = InvoiceRequestBody),
        (status = 400, description = "Malformed id.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The database is unavailable.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn get(
    State(state): State<AppState>,
    client: CanRead,
    InvreqIdPath(id): InvreqIdPath,
) -> Result<Json<InvoiceRequestBody>, ApiError> {
    let view = state.service.get(&client.tenant, &id).await?;
    Ok(Json(InvoiceRequestBody::from(&view)))
}

/// Disable an invoice request (CLN `disableinvoicerequest`).
#[utoipa::path(
    delete,
    path = "/v1/invoicerequests/{invreq_id}",
    tag = "invoicerequests",
    params(("invreq_id" = String, Path, description = "64 hex digits")),
    responses(
        (status = 200, description = "Disabled: `active` is false.", body = InvoiceRequestBody),
        (status = 400, description = "Malformed id.", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "Unknown id.", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already inactive (disabled, paid, expired or never created), or a payment for it is in flight (`payment_in_flight`: retry once it settled).", body = Problem, content_type = "application/problem+json"),
        (status = 502, description = "The node failed.", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "The node or the database is unavailable.", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn disable(
    State(state): State<AppState>,
    client: CanDisable,
    InvreqIdPath(id): InvreqIdPath,
) -> Result<Json<InvoiceRequestBody>, ApiError> {
    let view = state.service.disable_as(&client, &id).await?;
    Ok(Json(InvoiceRequestBody::from(&view)))
}
