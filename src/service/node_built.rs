//! Node-built requests (`--node cln-grpc`, or clnrest with `--cln-build-mode node`): the node
//! builds, signs and stores the request (CLN's `invoicerequest`), adding a blinded path when it
//! is not publicly reachable.
//!
//! Crash safety when the id is known only from the answer: the record is written `pending`
//! first under a random key of our own, and that key goes to the node as the label. An answer
//! that is lost is settled by finding the label on the node (`listinvoicerequests` has no label
//! filter: we read the whole list). Nothing is created twice (one call per record, never
//! retried), nothing created is lost (the label finds it).
//!
//! What comes back is verified before it is handed out: it decodes, it is signed and the
//! signature is valid for the payer id it names (CLN may use a key other than its node id
//! here), its fields are those asked, and its `invreq_id` is recomputed.

use rand::RngCore;

use super::{
    InvoiceRequestView, Issuer, Label, NewInvoiceRequest, Service, ServiceError, unix_now,
};
use crate::bolt12::{InvoiceRequest, Network};
use crate::node::{NodeBuiltRequest, NodeError, NodeInvoiceRequest};
use crate::store::{IdempotencyBinding, InvoiceRequestRecord, SpendingPolicy, Status};

/// The node label of a record written under `pending_id`.
pub fn node_label(pending_id: &str) -> String {
    format!("invreqd-{pending_id}")
}

/// What the record asked of the node.
fn asked(record: &InvoiceRequestRecord) -> NodeBuiltRequest {
    NodeBuiltRequest {
        amount_msat: record.amount_msat,
        description: record.description.clone(),
        issuer: record.issuer.clone(),
        absolute_expiry: record.absolute_expiry,
        single_use: record.single_use,
        label: node_label(&record.invreq_id),
    }
}

/// Checks what a node built against what was asked.
///
/// # Errors
/// [`ServiceError::NodeMismatch`] naming the first difference.
pub fn verify_built(
    held: &NodeInvoiceRequest,
    asked: &NodeBuiltRequest,
    network: Network,
) -> Result<InvoiceRequest, ServiceError> {
    let mismatch = |why: &str| Err(ServiceError::NodeMismatch(why.to_owned()));
    let signed = match InvoiceRequest::decode(&held.bolt12) {
        Ok(s) => s,
        Err(e) => return mismatch(&format!("the node's request does not decode: {e}")),
    };
    if signed.answers_offer() {
        return mismatch("the node's request answers an offer");
    }
    if signed.signature().is_none() {
        return mismatch("the node's request carries no signature");
    }
    if signed.verify().is_err() {
        return mismatch("its signature is not valid for the payer id it names");
    }
    if hex::encode(signed.invreq_id()) != held.invreq_id {
        return mismatch("its invreq_id is not the one the node reported");
    }
    if held.label.as_deref().is_some_and(|l| l != asked.label) {
        return mismatch("the node labelled it with another key");
    }
    if signed.amount_msat() != Some(asked.amount_msat) {
        return mismatch("its amount differs from the one asked");
    }
    if signed.description() != Some(asked.description.as_str()) {
        return mismatch("its description differs from the one asked");
    }
    if signed.issuer() != asked.issuer.as_deref() {
        return mismatch("its issuer differs from the one asked");
    }
    if signed.absolute_expiry() != asked.absolute_expiry {
        return mismatch("its expiry differs from the one asked");
    }
    let chain_ok = match signed.network() {
        Some(n) => n == network,
        None => network == Network::Bitcoin && signed.chain().is_none(),
    };
    if !chain_ok {
        return mismatch("it is for another chain");
    }
    if held.single_use != asked.single_use {
        return mismatch("its single_use flag differs from the one asked");
    }
    Ok(signed)
}

impl Service {
    /// Creates a node-built request: pending record under our key, one `invoicerequest` with
    /// that key as the label, then the record takes the node's id.
    pub(super) async fn create_node_built(
        &self,
        tenant: &str,
        policy: &SpendingPolicy,
        req: NewInvoiceRequest,
        binding: Option<&IdempotencyBinding<'_>>,
    ) -> Result<InvoiceRequestView, ServiceError> {
        let mut key = [0u8; 32];
        rand::thread_rng().fill_bytes(&mut key);
        let pending_id = hex::encode(key);
        let now = unix_now();
        let record = InvoiceRequestRecord {
            seq: 0,
            invreq_id: pending_id.clone(),
            tenant: tenant.to_owned(),
            bolt12: String::new(),
            amount_msat: req.amount.msat(),
            description: req.description.into_inner(),
            issuer: req.issuer.map(Issuer::into_inner),
            label: req.label.map(Label::into_inner),
            absolute_expiry: req.absolute_expiry,
            single_use: req.single_use,
            active: false,
            used: false,
            status: Status::Pending,
            created_at: now,
            updated_at: now,
            submitted: None,
        };
        // The pending record (with the idempotency key bound to it) counts toward the limits.
        self.insert(&record, policy, binding).await?;
        let asked = asked(&record);
        let call = self.node.create_built(&asked);
        let answer = match tokio::time::timeout(self.config.node_timeout, call).await {
            Ok(answer) => answer,
            Err(_) => Err(NodeError::Timeout),
        };
        match answer {
            Ok(held) => self.accept_built(&record, &asked, held).await,
            // Unknown outcome: settled soon in the background (and by the reconciler), which
            // finds the label on the node or fails the record.
            Err(NodeError::Timeout) => {
                self.settle_in_background(pending_id.clone());
                Err(ServiceError::NodeTimeout {
                    invreq_id: pending_id,
                })
            }
            Err(e @ (NodeError::Unreachable(_) | NodeError::Unauthorized(_))) => {
                // Refused before running: the node holds nothing, so nothing blocks a retry.
                self.store.delete_pending(&pending_id).await?;
                Err(e.into())
            }
            Err(e) => {
                self.fail(&pending_id).await?;
                Err(e.into())
            }
        }
    }

    /// Verifies what the node built for `record` and gives the record its id.
    async fn accept_built(
        &self,
        record: &InvoiceRequestRecord,
        asked: &NodeBuiltRequest,
        held: NodeInvoiceRequest,
    ) -> Result<InvoiceRequestView, ServiceError> {
        let signed = match verify_built(&held, asked, self.node.info().network) {
            Ok(s) => s,
            Err(e) => {
                self.fail(&record.invreq_id).await?;
                // Take what we cannot hand out out of service on the node.
                let _ = self.node.disable(&held.invreq_id).await;
                return Err(e);
            }
        };
        let now = unix_now();
        let bolt12 = signed.encode();
        let rekeyed = self
            .open_built(record, &held.invreq_id, &bolt12, now)
            .await?;
        let mut found = self
            .store
            .get_any(&held.invreq_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(held.invreq_id.clone()))?;
        if rekeyed && (!held.active || held.used) {
            let mv = crate::domain::lifecycle::after_node_inactive(held.used);
            if self.move_request(&found, &mv, now).await? {
                found = self
                    .store
                    .get_any(&held.invreq_id)
                    .await?
                    .ok_or_else(|| ServiceError::NotFound(held.invreq_id.clone()))?;
            }
        }
        if found.tenant != record.tenant {
            return Err(ServiceError::NodeMismatch(
                "the node's id belongs to another record".into(),
            ));
        }
        self.view(found).await
    }

    /// Settles a pending node-built record by finding its label on the node. `None` when the
    /// node holds nothing under that label.
    pub(super) async fn settle_by_label(
        &self,
        record: &InvoiceRequestRecord,
    ) -> Result<Option<InvoiceRequestView>, ServiceError> {
        let asked = asked(record);
        let mut ours: Vec<NodeInvoiceRequest> = self
            .node
            .list(None)
            .await?
            .into_iter()
            .filter(|n| n.label.as_deref() == Some(asked.label.as_str()))
            .collect();
        if ours.is_empty() {
            return Ok(None);
        }
        let held = ours.remove(0);
        for extra in ours {
            // Never expected (one call per label); if it happens, only one may be handed out.
            tracing::warn!(invreq_id = %extra.invreq_id, "a second request under one label: disabling it");
            let _ = self.node.disable(&extra.invreq_id).await;
        }
        self.accept_built(record, &asked, held).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt12::{InvreqFields, Keypair, SecretKey, UnsignedInvoiceRequest, secp};

    fn built(payer: &Keypair, asked: &NodeBuiltRequest) -> NodeInvoiceRequest {
        let fields = InvreqFields {
            metadata: [7; 16],
            description: asked.description.clone(),
            issuer: asked.issuer.clone(),
            absolute_expiry: asked.absolute_expiry,
            amount_msat: asked.amount_msat,
            network: Network::Regtest,
            payer_id: payer.public_key(),
        };
        let signed = UnsignedInvoiceRequest::build(&fields).unwrap().sign(payer);
        NodeInvoiceRequest {
            invreq_id: hex::encode(signed.invreq_id()),
            active: true,
            used: false,
            single_use: asked.single_use,
            bolt12: signed.encode(),
            label: Some(asked.label.clone()),
        }
    }

    #[test]
    fn a_node_built_request_is_checked_field_by_field() {
        let payer = Keypair::from_secret_key(secp(), &SecretKey::from_slice(&[3; 32]).unwrap());
        let asked = NodeBuiltRequest {
            amount_msat: 5000,
            description: "d".into(),
            issuer: Some("i".into()),
            absolute_expiry: Some(4_000_000_000),
            single_use: true,
            label: node_label("ab"),
        };
        let good = built(&payer, &asked);
        assert!(verify_built(&good, &asked, Network::Regtest).is_ok());
        assert!(verify_built(&good, &asked, Network::Bitcoin).is_err());
        for change in 0..6 {
            let mut other = asked.clone();
            match change {
                0 => other.amount_msat += 1,
                1 => other.description.push('x'),
                2 => other.issuer = None,
                3 => other.absolute_expiry = None,
                4 => other.single_use = false,
                _ => other.label = node_label("cd"),
            }
            assert!(
                verify_built(&good, &other, Network::Regtest).is_err(),
                "{change}"
            );
        }
        let mut wrong_id = good.clone();
        wrong_id.invreq_id = "00".repeat(32);
        assert!(verify_built(&wrong_id, &asked, Network::Regtest).is_err());
        // A signature by another key than the payer id it names.
        let other_key = Keypair::from_secret_key(secp(), &SecretKey::from_slice(&[4; 32]).unwrap());
        let signed = InvoiceRequest::decode(&good.bolt12).unwrap();
        let forged = signed.unsigned().sign(&other_key);
        let mut bad_sig = good.clone();
        bad_sig.bolt12 = forged.encode();
        assert!(verify_built(&bad_sig, &asked, Network::Regtest).is_err());
    }
}
