//! Between cln-grpc's messages and the JSON-RPC params and results the node state speaks, as
//! cln-grpc's own server converts them (bytes for ids and hashes, `Amount {msat}`, enums).

use cln_grpc::pb;
use cln_grpc::pb::listsendpays_payments::ListsendpaysPaymentsStatus;
use cln_grpc::pb::listsendpays_request::{ListsendpaysIndex, ListsendpaysStatus};
use cln_grpc::pb::wait_request::{WaitIndexname, WaitSubsystem};
use serde_json::{Map, Value, json};
use tonic::Status;

fn internal(what: &str) -> Status {
    Status::internal(format!("the double could not convert {what}"))
}

fn hex_bytes(v: &Value, name: &str) -> Result<Vec<u8>, Status> {
    v.get(name)
        .and_then(Value::as_str)
        .and_then(|s| hex::decode(s).ok())
        .ok_or_else(|| internal(name))
}

/// `getinfo` as `GetinfoResponse`.
pub fn getinfo(v: &Value) -> Result<pb::GetinfoResponse, Status> {
    let u32_of = |n: &str| v.get(n).and_then(Value::as_u64).unwrap_or(0) as u32;
    let s = |n: &str| {
        v.get(n)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Ok(pb::GetinfoResponse {
        id: hex_bytes(v, "id")?,
        alias: s("alias"),
        color: hex_bytes(v, "color")?,
        num_peers: u32_of("num_peers"),
        num_pending_channels: u32_of("num_pending_channels"),
        num_active_channels: u32_of("num_active_channels"),
        num_inactive_channels: u32_of("num_inactive_channels"),
        version: s("version"),
        lightning_dir: s("lightning-dir"),
        our_features: None,
        blockheight: u32_of("blockheight"),
        network: s("network"),
        fees_collected_msat: Some(pb::Amount { msat: 0 }),
        address: Vec::new(),
        binding: Vec::new(),
        warning_bitcoind_sync: None,
        warning_lightningd_sync: None,
    })
}

/// An invoice request row, with `invreq_id` as raw bytes.
pub struct Invreq {
    pub invreq_id: Vec<u8>,
    pub active: bool,
    pub single_use: bool,
    pub bolt12: String,
    pub used: bool,
    pub label: Option<String>,
}

/// One `invoicerequests` row (or `invoicerequest`/`disableinvoicerequest` result).
pub fn invoice_request(v: &Value) -> Result<Invreq, Status> {
    let b = |n: &str| v.get(n).and_then(Value::as_bool).ok_or_else(|| internal(n));
    Ok(Invreq {
        invreq_id: hex_bytes(v, "invreq_id")?,
        active: b("active")?,
        single_use: b("single_use")?,
        bolt12: v
            .get("bolt12")
            .and_then(Value::as_str)
            .ok_or_else(|| internal("bolt12"))?
            .to_owned(),
        used: b("used")?,
        label: v.get("label").and_then(Value::as_str).map(str::to_owned),
    })
}

/// `InvoicerequestRequest` as `invoicerequest` params (an unset description is `""`).
pub fn invoicerequest_params(r: pb::InvoicerequestRequest) -> Map<String, Value> {
    let mut p = Map::new();
    p.insert(
        "amount".into(),
        json!(r.amount.map(|a| a.msat).unwrap_or(0)),
    );
    p.insert("description".into(), json!(r.description));
    if let Some(i) = r.issuer {
        p.insert("issuer".into(), json!(i));
    }
    if let Some(l) = r.label {
        p.insert("label".into(), json!(l));
    }
    if let Some(e) = r.absolute_expiry {
        p.insert("absolute_expiry".into(), json!(e));
    }
    if let Some(s) = r.single_use {
        p.insert("single_use".into(), json!(s));
    }
    p
}

/// `ListsendpaysRequest` as `listsendpays` params.
pub fn listsendpays_params(r: pb::ListsendpaysRequest) -> Map<String, Value> {
    let mut p = Map::new();
    if let Some(b) = r.bolt11 {
        p.insert("bolt11".into(), json!(b));
    }
    if let Some(h) = r.payment_hash {
        p.insert("payment_hash".into(), json!(hex::encode(h)));
    }
    if let Some(s) = r.status.and_then(|s| ListsendpaysStatus::try_from(s).ok()) {
        let name = match s {
            ListsendpaysStatus::Pending => "pending",
            ListsendpaysStatus::Complete => "complete",
            ListsendpaysStatus::Failed => "failed",
        };
        p.insert("status".into(), json!(name));
    }
    if let Some(i) = r.index.and_then(|i| ListsendpaysIndex::try_from(i).ok()) {
        let name = match i {
            ListsendpaysIndex::Created => "created",
            ListsendpaysIndex::Updated => "updated",
        };
        p.insert("index".into(), json!(name));
    }
    if let Some(s) = r.start {
        p.insert("start".into(), json!(s));
    }
    if let Some(l) = r.limit {
        p.insert("limit".into(), json!(l));
    }
    p
}

/// One `listsendpays` row as `ListsendpaysPayments`.
pub fn sendpay(v: &Value) -> Result<pb::ListsendpaysPayments, Status> {
    let u = |n: &str| v.get(n).and_then(Value::as_u64);
    let s = |n: &str| v.get(n).and_then(Value::as_str).map(str::to_owned);
    let status = match v.get("status").and_then(Value::as_str) {
        Some("pending") => ListsendpaysPaymentsStatus::Pending,
        Some("complete") => ListsendpaysPaymentsStatus::Complete,
        Some("failed") => ListsendpaysPaymentsStatus::Failed,
        _ => return Err(internal("status")),
    };
    Ok(pb::ListsendpaysPayments {
        id: u("id").unwrap_or(0),
        groupid: u("groupid").unwrap_or(0),
        payment_hash: hex_bytes(v, "payment_hash")?,
        status: status as i32,
        amount_msat: u("amount_msat").map(|msat| pb::Amount { msat }),
        destination: s("destination").and_then(|d| hex::decode(d).ok()),
        created_at: u("created_at").unwrap_or(0),
        amount_sent_msat: Some(pb::Amount {
            msat: u("amount_sent_msat").unwrap_or(0),
        }),
        label: s("label"),
        bolt11: s("bolt11"),
        bolt12: s("bolt12"),
        payment_preimage: s("payment_preimage").and_then(|p| hex::decode(p).ok()),
        erroronion: None,
        description: s("description"),
        partid: u("partid"),
        created_index: u("created_index").unwrap_or(0),
        updated_index: u("updated_index"),
        completed_at: u("completed_at"),
    })
}

/// `WaitRequest` as `wait` params.
pub fn wait_params(r: pb::WaitRequest) -> Map<String, Value> {
    let subsystem = match WaitSubsystem::try_from(r.subsystem) {
        Ok(WaitSubsystem::Sendpays) => "sendpays",
        Ok(WaitSubsystem::Invoices) => "invoices",
        Ok(WaitSubsystem::Forwards) => "forwards",
        _ => "other",
    };
    let indexname = match WaitIndexname::try_from(r.indexname) {
        Ok(WaitIndexname::Created) => "created",
        Ok(WaitIndexname::Updated) => "updated",
        Ok(WaitIndexname::Deleted) => "deleted",
        Err(_) => "unknown",
    };
    let mut p = Map::new();
    p.insert("subsystem".into(), json!(subsystem));
    p.insert("indexname".into(), json!(indexname));
    p.insert("nextvalue".into(), json!(r.nextvalue));
    p
}

/// A `wait` result as `WaitResponse`.
pub fn wait(v: &Value) -> pb::WaitResponse {
    let u = |n: &str| v.get(n).and_then(Value::as_u64);
    pb::WaitResponse {
        subsystem: pb::wait_response::WaitSubsystem::Sendpays as i32,
        created: u("created"),
        updated: u("updated"),
        deleted: u("deleted"),
        ..Default::default()
    }
}
