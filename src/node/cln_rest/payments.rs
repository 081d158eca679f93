//! Following the node's payments: `listsendpays` from the last indexes, long-polling `wait
//! sendpays` when there is no news (always with a client timeout: CLN's `wait` never times out).

use std::collections::HashMap;
use std::time::Duration;

use serde_json::{Value, json};

use super::{CallError, ClnRest, flatten};
use crate::node::{NodeError, NodePayment};

/// Payments with `created_index > created` or `updated_index > updated`; when none, waits up to
/// `wait` for either index to move and lists again.
pub async fn since(
    node: &ClnRest,
    created: u64,
    updated: u64,
    wait: Duration,
) -> Result<Vec<NodePayment>, NodeError> {
    let found = list(node, created, updated).await?;
    if !found.is_empty() || wait.is_zero() {
        return Ok(found);
    }
    let woke = tokio::select! {
        r = wait_index(node, "created", created + 1, wait) => r?,
        r = wait_index(node, "updated", updated + 1, wait) => r?,
    };
    if woke {
        list(node, created, updated).await
    } else {
        Ok(Vec::new())
    }
}

/// `wait` for one index; `false` when the client timeout passed first.
async fn wait_index(
    node: &ClnRest,
    indexname: &str,
    nextvalue: u64,
    timeout: Duration,
) -> Result<bool, NodeError> {
    let params = json!({"subsystem": "sendpays", "indexname": indexname, "nextvalue": nextvalue});
    match node.transport.call("wait", &params, timeout).await {
        Ok(_) => Ok(true),
        Err(CallError::Node(NodeError::Timeout)) => Ok(false),
        Err(e) => Err(flatten("wait", e)),
    }
}

/// Lists by `created` first, then by `updated`, keeping each part's newest state (a row without
/// `updated_index` was never updated).
async fn list(node: &ClnRest, created: u64, updated: u64) -> Result<Vec<NodePayment>, NodeError> {
    // Keyed by `created_index`: one row per part.
    let mut by_hash: HashMap<u64, NodePayment> = HashMap::new();
    for (index, start) in [("created", created + 1), ("updated", updated + 1)] {
        let v = node
            .call("listsendpays", json!({"index": index, "start": start}))
            .await
            .map_err(|e| flatten("listsendpays", e))?;
        let rows = v
            .get("payments")
            .and_then(Value::as_array)
            .ok_or_else(|| NodeError::Other("listsendpays: no `payments` array".into()))?;
        for row in rows {
            let p = payment(row)?;
            let key = p.created_index;
            match by_hash.get(&key) {
                Some(old) if old.updated_index >= p.updated_index => {}
                _ => {
                    by_hash.insert(key, p);
                }
            }
        }
    }
    let mut out: Vec<NodePayment> = by_hash.into_values().collect();
    out.sort_by_key(|p| (p.created_index, p.updated_index));
    Ok(out)
}

/// The parts the node has in flight now (`listsendpays {"status": "pending"}`).
pub async fn pending(node: &ClnRest) -> Result<Vec<NodePayment>, NodeError> {
    let v = node
        .call("listsendpays", json!({"status": "pending"}))
        .await
        .map_err(|e| flatten("listsendpays", e))?;
    v.get("payments")
        .and_then(Value::as_array)
        .ok_or_else(|| NodeError::Other("listsendpays: no `payments` array".into()))?
        .iter()
        .map(payment)
        .collect()
}

/// Whether a payment's `lni1…` invoice answers the invoice request `invreq_id` (its records
/// are copied into the invoice, so the id is recomputed from them).
pub fn pays(p: &NodePayment, invreq_id: &str) -> bool {
    p.bolt12
        .as_deref()
        .and_then(|lni| crate::bolt12::invreq_id_of_invoice(lni).ok())
        .is_some_and(|id| hex::encode(id).eq_ignore_ascii_case(invreq_id))
}

pub(crate) fn payment(v: &Value) -> Result<NodePayment, NodeError> {
    let bad = |name: &str| NodeError::Other(format!("listsendpays: bad or missing `{name}`"));
    let u = |name: &str| v.get(name).and_then(Value::as_u64);
    let s = |name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(NodePayment {
        created_index: u("created_index").ok_or_else(|| bad("created_index"))?,
        updated_index: u("updated_index"),
        payment_hash: s("payment_hash").ok_or_else(|| bad("payment_hash"))?,
        groupid: u("groupid").unwrap_or(0),
        partid: u("partid").unwrap_or(0),
        status: s("status").ok_or_else(|| bad("status"))?,
        amount_msat: u("amount_msat"),
        amount_sent_msat: u("amount_sent_msat").ok_or_else(|| bad("amount_sent_msat"))?,
        preimage: s("payment_preimage"),
        bolt12: s("bolt12"),
        created_at: u("created_at").unwrap_or(0),
        completed_at: u("completed_at"),
    })
}
