//! Following the node's payments over gRPC: `ListSendPays` from the last indexes, long-polling
//! `Wait` (subsystem SENDPAYS) when there is no news, always with a client deadline (CLN's
//! `wait` never times out). Each row is put in clnrest's JSON shape and read by the same code
//! as over REST, so payments are followed exactly alike on both transports.

use std::collections::HashMap;
use std::time::Duration;

use cln_grpc::pb;
use cln_grpc::pb::listsendpays_payments::ListsendpaysPaymentsStatus;
use cln_grpc::pb::listsendpays_request::{ListsendpaysIndex, ListsendpaysStatus};
use cln_grpc::pb::wait_request::{WaitIndexname, WaitSubsystem};
use serde_json::{Value, json};

use super::status::Failure;
use super::{ClnGrpc, flatten};
use crate::node::cln_rest::payments::payment;
use crate::node::{NodeError, NodePayment};

/// Payments with `created_index > created` or `updated_index > updated`; when none, waits up to
/// `wait` for either index to move and lists again.
pub async fn since(
    node: &ClnGrpc,
    created: u64,
    updated: u64,
    wait: Duration,
) -> Result<Vec<NodePayment>, NodeError> {
    let found = list(node, created, updated).await?;
    if !found.is_empty() || wait.is_zero() {
        return Ok(found);
    }
    let woke = tokio::select! {
        r = wait_index(node, WaitIndexname::Created, created + 1, wait) => r?,
        r = wait_index(node, WaitIndexname::Updated, updated + 1, wait) => r?,
    };
    if woke {
        list(node, created, updated).await
    } else {
        Ok(Vec::new())
    }
}

/// `Wait` for one sendpays index; `false` when the deadline passed first.
async fn wait_index(
    node: &ClnGrpc,
    index: WaitIndexname,
    nextvalue: u64,
    limit: Duration,
) -> Result<bool, NodeError> {
    let req = pb::WaitRequest {
        subsystem: WaitSubsystem::Sendpays as i32,
        indexname: index as i32,
        nextvalue,
    };
    match node
        .run(limit, |mut c| async move { c.wait(req).await })
        .await
    {
        Ok(_) => Ok(true),
        Err(Failure::Node(NodeError::Timeout)) => Ok(false),
        Err(f) => Err(flatten("Wait", f)),
    }
}

/// The parts the node has in flight now (`ListSendPays` with status PENDING).
pub async fn pending(node: &ClnGrpc) -> Result<Vec<NodePayment>, NodeError> {
    let req = pb::ListsendpaysRequest {
        status: Some(ListsendpaysStatus::Pending as i32),
        ..Default::default()
    };
    let r = node
        .run(
            node.timeout,
            |mut c| async move { c.list_send_pays(req).await },
        )
        .await
        .map_err(|f| flatten("ListSendPays", f))?;
    r.payments
        .iter()
        .map(|p| payment(&rest_shape(p)?))
        .collect()
}

/// Lists by `created` first, then by `updated`, keeping each part's newest state (keyed by
/// `created_index`: one row per part, as over clnrest).
async fn list(node: &ClnGrpc, created: u64, updated: u64) -> Result<Vec<NodePayment>, NodeError> {
    let mut by_key: HashMap<u64, NodePayment> = HashMap::new();
    for (index, start) in [
        (ListsendpaysIndex::Created, created + 1),
        (ListsendpaysIndex::Updated, updated + 1),
    ] {
        let req = pb::ListsendpaysRequest {
            index: Some(index as i32),
            start: Some(start),
            ..Default::default()
        };
        let r = node
            .run(
                node.timeout,
                |mut c| async move { c.list_send_pays(req).await },
            )
            .await
            .map_err(|f| flatten("ListSendPays", f))?;
        for row in &r.payments {
            let p = payment(&rest_shape(row)?)?;
            let key = p.created_index;
            match by_key.get(&key) {
                Some(old) if old.updated_index >= p.updated_index => {}
                _ => {
                    by_key.insert(key, p);
                }
            }
        }
    }
    let mut out: Vec<NodePayment> = by_key.into_values().collect();
    out.sort_by_key(|p| (p.created_index, p.updated_index));
    Ok(out)
}

/// One `ListSendPays` row as clnrest renders the same `listsendpays` entry.
pub(crate) fn rest_shape(p: &pb::ListsendpaysPayments) -> Result<Value, NodeError> {
    let status = match ListsendpaysPaymentsStatus::try_from(p.status) {
        Ok(ListsendpaysPaymentsStatus::Pending) => "pending",
        Ok(ListsendpaysPaymentsStatus::Complete) => "complete",
        Ok(ListsendpaysPaymentsStatus::Failed) => "failed",
        Err(_) => {
            return Err(NodeError::Other(format!(
                "ListSendPays: unknown status {}",
                p.status
            )));
        }
    };
    let mut v = json!({
        "id": p.id,
        "groupid": p.groupid,
        "payment_hash": hex::encode(&p.payment_hash),
        "status": status,
        "created_at": p.created_at,
        "created_index": p.created_index,
        "amount_sent_msat": p.amount_sent_msat.as_ref().map(|a| a.msat).unwrap_or(0),
    });
    let mut put = |k: &str, val: Option<Value>| {
        if let Some(val) = val {
            v[k] = val;
        }
    };
    put("amount_msat", p.amount_msat.as_ref().map(|a| json!(a.msat)));
    put(
        "destination",
        p.destination.as_ref().map(|d| json!(hex::encode(d))),
    );
    put("label", p.label.as_ref().map(|s| json!(s)));
    put("bolt11", p.bolt11.as_ref().map(|s| json!(s)));
    put("bolt12", p.bolt12.as_ref().map(|s| json!(s)));
    put(
        "payment_preimage",
        p.payment_preimage.as_ref().map(|b| json!(hex::encode(b))),
    );
    put("description", p.description.as_ref().map(|s| json!(s)));
    put("partid", p.partid.map(|n| json!(n)));
    put("updated_index", p.updated_index.map(|n| json!(n)));
    put("completed_at", p.completed_at.map(|n| json!(n)));
    Ok(v)
}
