//! The create path: idempotency leases, the record written before anything leaves the process,
//! the node's answer made final before a record is failed, and a lost answer settled in seconds.
//!
//! An `Idempotency-Key` is claimed as a lease ([`LEASE_SECS`], renewed while the attempt runs).
//! An attempt that dies (kill -9), is cut off, or gives up (node timeout) leaves a key without a
//! response whose lease passes; the next retry takes it over and finishes what was begun: it
//! settles the request the key is bound to (same id), or, if nothing was written, runs afresh.
//! The key is bound to the new `invreq_id` in the same transaction that writes the record, so a
//! request that exists anywhere is always reachable by its key.

use std::sync::Arc;
use std::time::Duration;

use rand::RngCore;

use super::{
    Created, EventType, InvoiceRequestView, Issuer, Label, NewInvoiceRequest, Service,
    ServiceError, unix_now, verify_signed,
};
use crate::bolt12::{InvoiceRequest, InvreqFields, UnsignedInvoiceRequest};
use crate::domain::lifecycle::{self, Move};
use crate::node::NodeError;
use crate::store::{
    IdempotencyBinding, IdempotencyClaim, InvoiceRequestRecord, SpendingPolicy, Status, StoreError,
};

/// How long an attempt owns its idempotency key without renewing it, seconds. A retry after a
/// crash waits at most this long before it takes over.
pub const LEASE_SECS: u64 = 4;

/// How a fresh result becomes its response body (rendered once: answered, and stored for
/// retries).
pub type Render = Arc<dyn Fn(&InvoiceRequestView) -> String + Send + Sync>;

/// Delays of the background settle of a lost answer, seconds; the periodic reconciler is the
/// safety net after the last.
const SETTLE_BACKOFF_SECS: [u64; 7] = [1, 2, 4, 8, 16, 32, 64];

/// Keeps an attempt's lease alive while it runs; stops renewing when dropped.
struct LeaseKeeper(tokio::task::JoinHandle<()>);

impl LeaseKeeper {
    fn spawn(service: &Service, tenant: &str, key: &str, owner: &str) -> Self {
        let store = service.store.clone();
        let (tenant, key, owner) = (tenant.to_owned(), key.to_owned(), owner.to_owned());
        Self(tokio::spawn(async move {
            loop {
                tokio::time::sleep(Duration::from_secs(LEASE_SECS / 2)).await;
                match store
                    .renew_idempotency_lease(&tenant, &key, &owner, unix_now() + LEASE_SECS)
                    .await
                {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => tracing::warn!(error = %e, "could not renew an idempotency lease"),
                }
            }
        }))
    }
}

impl Drop for LeaseKeeper {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What asking the node about a pending record found.
#[derive(Debug)]
pub(super) enum Settled {
    /// The node holds it: the record is active (or follows the node's inactive copy).
    Created(Box<InvoiceRequestView>),
    /// The node's answer is final and it does not hold it: the record is `failed`.
    Failed,
    /// Not known yet (node slow or unreachable): still `pending`, to be asked again.
    Unknown,
}

fn new_owner() -> String {
    let mut bytes = [0u8; 16];
    rand::thread_rng().fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Service {
    /// Creates an invoice request; with an idempotency key (`(key, body_sha256)`), a retry gets
    /// the first response, or finishes the attempt a crash or a timeout interrupted.
    ///
    /// `policy` is the calling key's spending ceilings, checked atomically with the insert.
    ///
    /// # Errors
    /// Validation and limit refusals, `LabelTaken`, `IdempotencyMismatch` (same key, other
    /// body), `IdempotencyInProgress` (a live attempt holds the key past the wait),
    /// `NodeTimeout` (outcome unknown: the key stays bound to that id), node and store errors.
    pub async fn create_idempotent(
        &self,
        tenant: &str,
        policy: &SpendingPolicy,
        idempotency: Option<(&str, &str)>,
        req: NewInvoiceRequest,
        render: Render,
    ) -> Result<Created, ServiceError> {
        let Some((key, body_hash)) = idempotency else {
            let view = self.create(tenant, policy, req, None).await?;
            crate::metrics::created();
            let body = render(&view);
            return Ok(Created::New { view, body });
        };
        let owner = new_owner();
        let deadline = tokio::time::Instant::now() + self.config.idempotency_wait;
        let mut pause = Duration::from_millis(10);
        loop {
            let now = unix_now();
            let claim = self
                .store
                .claim_idempotency(tenant, key, body_hash, &owner, now, now + LEASE_SECS)
                .await?;
            let rec = match claim {
                IdempotencyClaim::Claimed => {
                    return self
                        .attempt(tenant, policy, key, &owner, req, render, None)
                        .await;
                }
                IdempotencyClaim::TakenOver(rec) => {
                    tracing::info!(
                        invreq_id = rec.invreq_id.as_deref().unwrap_or(""),
                        "idempotency key taken over from an interrupted attempt"
                    );
                    return self
                        .attempt(tenant, policy, key, &owner, req, render, rec.invreq_id)
                        .await;
                }
                IdempotencyClaim::Existing(rec) => rec,
            };
            if rec.request_hash != body_hash {
                return Err(ServiceError::IdempotencyMismatch);
            }
            if let Some((status, body)) = rec.response {
                return Ok(Created::Replay {
                    status,
                    body,
                    invreq_id: rec.invreq_id,
                });
            }
            // A live attempt holds the key. If its request has settled, answer with it now.
            if let Some(id) = &rec.invreq_id
                && let Some(found) = self.store.get(tenant, id).await?
                && !matches!(found.status, Status::Pending | Status::Failed)
            {
                return self.replay_settled(tenant, key, found, &render).await;
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(ServiceError::IdempotencyInProgress);
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }

    /// The stored response of a settled request, stored under its key if not yet.
    async fn replay_settled(
        &self,
        tenant: &str,
        key: &str,
        record: InvoiceRequestRecord,
        render: &Render,
    ) -> Result<Created, ServiceError> {
        let id = record.invreq_id.clone();
        let view = self.view(record).await?;
        let body = render(&view);
        self.store
            .complete_idempotency(tenant, key, &id, 201, &body)
            .await?;
        Ok(Created::Replay {
            status: 201,
            body,
            invreq_id: Some(id),
        })
    }

    /// One attempt that owns the key: finishes the request it is bound to, or creates afresh.
    #[allow(clippy::too_many_arguments)]
    async fn attempt(
        &self,
        tenant: &str,
        policy: &SpendingPolicy,
        key: &str,
        owner: &str,
        req: NewInvoiceRequest,
        render: Render,
        bound: Option<String>,
    ) -> Result<Created, ServiceError> {
        let _lease = LeaseKeeper::spawn(self, tenant, key, owner);
        if let Some(id) = bound
            && let Some(record) = self.store.get(tenant, &id).await?
        {
            match record.status {
                // Its create ended for good without the node holding it: run afresh.
                Status::Failed => {}
                Status::Pending => match self.settle(&record).await {
                    Ok(Settled::Created(view)) => {
                        let body = render(&view);
                        self.store
                            .complete_idempotency(tenant, key, &id, 201, &body)
                            .await?;
                        return Ok(Created::Replay {
                            status: 201,
                            body,
                            invreq_id: Some(id),
                        });
                    }
                    Ok(Settled::Failed) => {}
                    Ok(Settled::Unknown) => {
                        self.store.end_idempotency_lease(tenant, key, owner).await?;
                        self.settle_in_background(id.clone());
                        return Err(ServiceError::NodeTimeout { invreq_id: id });
                    }
                    Err(e) => {
                        // The key stays bound to this id: the next retry asks again.
                        self.store.end_idempotency_lease(tenant, key, owner).await?;
                        return Err(e);
                    }
                },
                _ => return self.replay_settled(tenant, key, record, &render).await,
            }
        }
        match self.create(tenant, policy, req, Some((key, owner))).await {
            Ok(view) => {
                crate::metrics::created();
                let body = render(&view);
                // Created: the answer is 201 even if storing it fails, since the key is bound
                // to the record already and a retry replays it from there.
                if let Err(e) = self
                    .store
                    .complete_idempotency(tenant, key, &view.record.invreq_id, 201, &body)
                    .await
                {
                    tracing::warn!(invreq_id = %view.record.invreq_id, error = %e, "could not store the response under its idempotency key");
                }
                Ok(Created::New { view, body })
            }
            Err(e) => {
                self.after_failed_attempt(tenant, key, owner).await;
                Err(e)
            }
        }
    }

    /// After an attempt that did not create: frees the key if its request is gone or failed
    /// (a retry runs afresh), else keeps it bound (a retry settles that same request).
    async fn after_failed_attempt(&self, tenant: &str, key: &str, owner: &str) {
        let outcome = async {
            let bound = self
                .store
                .idempotency(tenant, key)
                .await?
                .and_then(|r| r.invreq_id);
            let live = match &bound {
                Some(id) => self
                    .store
                    .get(tenant, id)
                    .await?
                    .is_some_and(|r| r.status != Status::Failed),
                None => false,
            };
            if live {
                self.store.end_idempotency_lease(tenant, key, owner).await
            } else {
                self.store.release_idempotency(tenant, key, owner).await
            }
        }
        .await;
        if let Err(e) = outcome {
            // The lease passes by itself: a retry takes over within LEASE_SECS.
            tracing::warn!(error = %e, "could not end an idempotency lease");
        }
    }

    /// Builds, signs (through the node) and records a new invoice request.
    async fn create(
        &self,
        tenant: &str,
        policy: &SpendingPolicy,
        req: NewInvoiceRequest,
        idempotency: Option<(&str, &str)>,
    ) -> Result<InvoiceRequestView, ServiceError> {
        // The cheap check first, before anything is signed.
        policy
            .check_amount(req.amount.msat())
            .map_err(ServiceError::LimitExceeded)?;
        let has_expiry = req.absolute_expiry.is_some();
        let binding = idempotency.map(|(key, owner)| IdempotencyBinding { key, owner });
        let view = self
            .create_inner(tenant, policy, req, binding.as_ref())
            .await?;
        if has_expiry {
            self.expiry_notify.notify_one();
        }
        Ok(view)
    }

    async fn create_inner(
        &self,
        tenant: &str,
        policy: &SpendingPolicy,
        req: NewInvoiceRequest,
        binding: Option<&IdempotencyBinding<'_>>,
    ) -> Result<InvoiceRequestView, ServiceError> {
        let claim_page = req.claim_page;
        if self.node.build_mode() == crate::node::BuildMode::NodeBuilt {
            let mut view = self.create_node_built(tenant, policy, req, binding).await?;
            // The id is known only now. Should the token fail, the request stands (its key
            // replays it) and the error says the store failed.
            if claim_page {
                view.claim_token = Some(self.issue_claim_token(&view.record.invreq_id).await?);
            }
            return Ok(view);
        }
        let info = self.node.info();
        let mut metadata = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut metadata);
        let fields = InvreqFields {
            metadata,
            description: req.description.as_str().to_owned(),
            issuer: req.issuer.as_ref().map(|i| i.as_str().to_owned()),
            absolute_expiry: req.absolute_expiry,
            amount_msat: req.amount.msat(),
            network: info.network,
            payer_id: info.id,
        };
        let unsigned = UnsignedInvoiceRequest::build(&fields)
            .map_err(|e| ServiceError::NodeMismatch(format!("could not build the request: {e}")))?;
        let invreq_id = hex::encode(unsigned.invreq_id());
        let now = unix_now();
        let mut record = InvoiceRequestRecord {
            seq: 0,
            invreq_id: invreq_id.clone(),
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

        if self.node.signs_locally() {
            // Nothing outside this process holds it: sign, then write the final record (and
            // bind the key to it) in one transaction before the string leaves the process.
            let signed = self
                .node
                .sign_and_store(&unsigned, record.single_use, record.label.as_deref())
                .await?;
            verify_signed(&signed, &unsigned, info.id)?;
            record.bolt12 = signed.encode();
            record.status = Status::Open;
            record.active = true;
            self.insert(&record, policy, binding).await?;
            let claim_token = match claim_page {
                false => None,
                true => match self.issue_claim_token(&invreq_id).await {
                    Ok(token) => Some(token),
                    Err(e) => {
                        // Handed to nobody yet: withdraw it rather than answer without its page.
                        let _ = self
                            .move_request(&record, &Move::withdrawn(), unix_now())
                            .await;
                        return Err(e.into());
                    }
                },
            };
            return Ok(InvoiceRequestView {
                record,
                payments: Vec::new(),
                claim_token,
            });
        }

        // A node with its own state: record first (with the bytes to resubmit, and the key
        // bound to it), so that nothing the node creates is ever lost or unreachable. The
        // pending record already counts toward the tenant's limits.
        record.submitted = Some(encode_unsigned(&unsigned));
        self.insert(&record, policy, binding).await?;
        // The token before the node is asked: a request settled later has it too (and a pending
        // record deleted below takes its token along: ON DELETE CASCADE).
        let claim_token = match claim_page {
            false => None,
            true => match self.issue_claim_token(&invreq_id).await {
                Ok(token) => Some(token),
                Err(e) => {
                    self.fail(&invreq_id).await?;
                    return Err(e.into());
                }
            },
        };
        let call = self
            .node
            .sign_and_store(&unsigned, record.single_use, record.label.as_deref());
        let answer = match tokio::time::timeout(self.config.node_timeout, call).await {
            Ok(answer) => answer,
            Err(_) => Err(NodeError::Timeout),
        };
        let signed = match answer {
            Ok(signed) => signed,
            Err(e @ NodeError::CouldNotCreate(_)) => {
                // Fresh bytes (new metadata), sent once: if the node does not hold them now,
                // its refusal is final, so the record fails and frees its label and key.
                return match self.look_up(&record).await? {
                    Settled::Created(view) => Ok(*view),
                    Settled::Unknown => {
                        self.fail(&invreq_id).await?;
                        Err(e.into())
                    }
                    Settled::Failed => Err(e.into()),
                };
            }
            Err(NodeError::Timeout) => {
                // Unknown outcome: settle it in the background; the client learns the id.
                self.settle_in_background(invreq_id.clone());
                return Err(ServiceError::NodeTimeout { invreq_id });
            }
            Err(e @ (NodeError::Unreachable(_) | NodeError::Unauthorized(_))) => {
                // No connection, or refused before running: the node never saw the request.
                // Nothing of it remains, so nothing blocks a retry (label, key).
                self.store.delete_pending(&invreq_id).await?;
                return Err(e.into());
            }
            Err(e) => {
                // The node answered and refused: it holds nothing.
                self.fail(&invreq_id).await?;
                return Err(e.into());
            }
        };
        if let Err(e) = verify_signed(&signed, &unsigned, info.id) {
            self.fail(&invreq_id).await?;
            let _ = self.node.disable(&invreq_id).await;
            return Err(e);
        }
        let bolt12 = signed.encode();
        if !self.activate(&record, &bolt12).await? {
            // Settled meanwhile (a retry or the background settle): show what the store holds.
            if let Some(now) = self.store.get_any(&invreq_id).await? {
                return self.view(now).await;
            }
        }
        record.bolt12 = bolt12;
        record.status = Status::Open;
        record.active = true;
        Ok(InvoiceRequestView {
            record,
            payments: Vec::new(),
            claim_token,
        })
    }

    pub(super) async fn insert(
        &self,
        record: &InvoiceRequestRecord,
        policy: &SpendingPolicy,
        binding: Option<&IdempotencyBinding<'_>>,
    ) -> Result<(), ServiceError> {
        // Inserted open (signed here): it is created now, with its event.
        let event = (record.status == Status::Open).then(|| {
            self.event_for(
                EventType::Created,
                &InvoiceRequestView {
                    record: record.clone(),
                    payments: Vec::new(),
                    claim_token: None,
                },
            )
        });
        match self
            .store
            .insert_within_policy_emitting(record, policy, unix_now(), binding, event.as_ref())
            .await
        {
            Ok(Ok(())) => {
                if event.is_some() {
                    self.events_written();
                }
                Ok(())
            }
            Ok(Err(limit)) => Err(ServiceError::LimitExceeded(limit)),
            Err(StoreError::LabelTaken) => Err(ServiceError::LabelTaken(
                record.label.clone().unwrap_or_default(),
            )),
            Err(StoreError::LeaseLost) => Err(ServiceError::IdempotencyInProgress),
            Err(e) => Err(e.into()),
        }
    }

    /// Settles a pending record in the background with short backoff (1 s, 2 s, 4 s …), so that a
    /// lost answer is known within seconds; the periodic reconciler remains the safety net.
    pub(super) fn settle_in_background(&self, invreq_id: String) {
        let service = self.clone();
        tokio::spawn(async move {
            for secs in SETTLE_BACKOFF_SECS {
                tokio::time::sleep(Duration::from_secs(secs)).await;
                let record = match service.store.get_any(&invreq_id).await {
                    Ok(Some(r)) if r.status == Status::Pending => r,
                    Ok(_) => return,
                    Err(e) => {
                        tracing::warn!(invreq_id = %invreq_id, error = %e, "background settle: store");
                        continue;
                    }
                };
                match service.settle(&record).await {
                    Ok(Settled::Created(_)) => {
                        crate::metrics::created();
                        tracing::info!(invreq_id = %invreq_id, "settled a lost node answer: created");
                        return;
                    }
                    Ok(Settled::Failed) => {
                        tracing::info!(invreq_id = %invreq_id, "settled a lost node answer: the node refused it");
                        return;
                    }
                    Ok(Settled::Unknown) => {}
                    Err(e) => {
                        tracing::warn!(invreq_id = %invreq_id, error = %e, "background settle: node")
                    }
                }
            }
        });
    }

    /// Makes the node's answer on a pending record final: resubmits the very bytes sent before
    /// (the node creates them now, or answers "Could not create" because it holds them, and is
    /// then asked for its copy). A record with no stored bytes (older versions) is looked up;
    /// absent, it is failed.
    ///
    /// # Errors
    /// `NodeMismatch` when the node holds something under this id that does not verify (the
    /// record is failed and the node's copy disabled); node errors that say nothing final.
    pub(super) async fn settle(
        &self,
        record: &InvoiceRequestRecord,
    ) -> Result<Settled, ServiceError> {
        let Some(unsigned) = record.submitted.as_deref().and_then(decode_unsigned) else {
            return self.look_up(record).await;
        };
        let call = self
            .node
            .sign_and_store(&unsigned, record.single_use, record.label.as_deref());
        let answer = match tokio::time::timeout(self.config.node_timeout, call).await {
            Ok(answer) => answer,
            Err(_) => Err(NodeError::Timeout),
        };
        match answer {
            Ok(signed) => {
                if let Err(e) = verify_signed(&signed, &unsigned, self.node.info().id) {
                    self.fail(&record.invreq_id).await?;
                    let _ = self.node.disable(&record.invreq_id).await;
                    return Err(e);
                }
                self.activate(record, &signed.encode()).await?;
                self.settled_view(&record.invreq_id).await
            }
            Err(NodeError::CouldNotCreate(_)) => self.look_up(record).await,
            Err(NodeError::Timeout | NodeError::Unreachable(_)) => Ok(Settled::Unknown),
            Err(NodeError::BadParams(why)) => {
                // The node refuses these very bytes: it cannot hold them.
                tracing::warn!(invreq_id = %record.invreq_id, error = %why, "the node refused a resubmitted request");
                self.fail(&record.invreq_id).await?;
                Ok(Settled::Failed)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Asks the node for its copy of a pending record and follows it.
    async fn look_up(&self, record: &InvoiceRequestRecord) -> Result<Settled, ServiceError> {
        let held = self.node.list(Some(&record.invreq_id)).await?;
        let Some(held) = held.into_iter().find(|n| n.invreq_id == record.invreq_id) else {
            if record.submitted.is_some() {
                // "Could not create" yet absent, or a node that cannot say: not final.
                return Ok(Settled::Unknown);
            }
            // A node-built record is pending under our own key, which the node holds as a label
            // (looked for in either build mode, so that a switch of mode loses nothing).
            if let Some(view) = self.settle_by_label(record).await? {
                return Ok(Settled::Created(Box::new(view)));
            }
            // The node finishes a command whose caller left: until twice the node timeout has
            // passed, a create may still land under its label. Not final yet.
            let grace = (2 * self.config.node_timeout).as_millis().div_ceil(1000) as u64;
            if unix_now() < record.created_at.saturating_add(grace) {
                return Ok(Settled::Unknown);
            }
            self.fail(&record.invreq_id).await?;
            return Ok(Settled::Failed);
        };
        let valid = InvoiceRequest::decode(&held.bolt12).is_ok_and(|signed| {
            signed.payer_id() == self.node.info().id
                && hex::encode(signed.invreq_id()) == record.invreq_id
                && signed.signature().is_some()
        });
        if !valid {
            self.fail(&record.invreq_id).await?;
            let _ = self.node.disable(&record.invreq_id).await;
            return Err(ServiceError::NodeMismatch(
                "the node holds a request with this id that does not verify".into(),
            ));
        }
        self.activate(record, &held.bolt12).await?;
        if !held.active || held.used {
            // What the store holds now (open, unless something moved it meanwhile).
            if let Some(open) = self.store.get_any(&record.invreq_id).await? {
                let mv = lifecycle::after_node_inactive(held.used);
                self.move_request(&open, &mv, unix_now()).await?;
            }
        }
        self.settled_view(&record.invreq_id).await
    }

    /// Marks a pending record `failed` (its label is free from then on), with its event.
    pub(super) async fn fail(&self, invreq_id: &str) -> Result<(), ServiceError> {
        let Some(record) = self.store.get_any(invreq_id).await? else {
            return Ok(());
        };
        self.move_request(&record, &Move::failed(), unix_now())
            .await
            .map(|_| ())
    }

    async fn settled_view(&self, invreq_id: &str) -> Result<Settled, ServiceError> {
        let record = self
            .store
            .get_any(invreq_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(invreq_id.to_owned()))?;
        Ok(match record.status {
            Status::Pending => Settled::Unknown,
            Status::Failed => Settled::Failed,
            _ => Settled::Created(Box::new(self.view(record).await?)),
        })
    }
}

/// The unsigned request as an `lnr1…` string (no signature record), as kept for resubmission.
fn encode_unsigned(unsigned: &UnsignedInvoiceRequest) -> String {
    crate::bolt12::encode_bech32_no_checksum(crate::bolt12::invreq::INVREQ_HRP, unsigned.bytes())
}

fn decode_unsigned(text: &str) -> Option<UnsignedInvoiceRequest> {
    let parsed = InvoiceRequest::decode(text).ok()?;
    parsed.signature().is_none().then(|| parsed.unsigned())
}
