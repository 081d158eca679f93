//! The audit trail: every create and disable (and key change) with key id, tenant, invreq_id,
//! amount and outcome, in the store and as a `tracing` event (target `invreqd::audit`).
//! Never the `lnr1…` string, never the key.

use super::{
    Created, InvoiceRequestView, NewInvoiceRequest, Render, Service, ServiceError, unix_now,
};
use crate::auth::ApiClient;
use crate::store::{AuditEntry, Store};

/// A short outcome for the trail: `ok`, `pending` (the node's answer is awaited), or the
/// [`ErrorCode`](crate::error_code::ErrorCode) the caller was answered with.
pub(super) fn outcome(e: &ServiceError) -> &'static str {
    match e {
        ServiceError::NodeTimeout { .. } => "pending",
        other => other.code().as_str(),
    }
}

/// Records an entry in the store and the logs; a store failure is logged, never turned into the
/// action's failure (the action has happened by then).
pub(super) async fn record_audit(store: &Store, e: AuditEntry) {
    tracing::info!(
        target: "invreqd::audit",
        action = %e.action,
        key_id = %e.key_id,
        tenant = %e.tenant,
        invreq_id = e.invreq_id.as_deref().unwrap_or(""),
        amount_msat = e.amount_msat.unwrap_or(0),
        subject_key = e.subject_key.as_deref().unwrap_or(""),
        outcome = %e.outcome,
        "audit"
    );
    if let Err(err) = store.append_audit(&e).await {
        tracing::error!(error = %err, action = %e.action, "could not write the audit trail");
    }
}

impl Service {
    pub(super) async fn audit_invreq(
        &self,
        client: &ApiClient,
        action: &str,
        invreq_id: Option<String>,
        amount_msat: Option<u64>,
        outcome: &str,
    ) {
        record_audit(
            &self.store,
            AuditEntry {
                at: unix_now(),
                key_id: client.key_id.clone(),
                tenant: client.tenant.clone(),
                action: action.to_owned(),
                invreq_id,
                amount_msat,
                subject_key: None,
                outcome: outcome.to_owned(),
            },
        )
        .await;
    }

    /// [`Service::create_idempotent`] for an API client: its tenant, its ceilings, audited.
    ///
    /// The work runs in its own task, to its end, even when the caller (an HTTP request whose
    /// client went away) stops waiting: a create is never cut off halfway, and is always audited.
    ///
    /// # Errors
    /// As [`Service::create_idempotent`].
    pub async fn create_as(
        &self,
        client: &ApiClient,
        idempotency: Option<(String, String)>,
        req: NewInvoiceRequest,
        render: Render,
    ) -> Result<Created, ServiceError> {
        let service = self.clone();
        let client = client.clone();
        let task = tokio::spawn(async move {
            let amount = req.amount.msat();
            let result = service
                .create_idempotent(
                    &client.tenant,
                    &client.policy,
                    idempotency.as_ref().map(|(k, h)| (k.as_str(), h.as_str())),
                    req,
                    render,
                )
                .await;
            let (id, out) = match &result {
                Ok(Created::New { view, .. }) => (Some(view.record.invreq_id.clone()), "ok"),
                Ok(Created::Replay { invreq_id, .. }) => (invreq_id.clone(), "replayed"),
                Err(ServiceError::NodeTimeout { invreq_id }) => {
                    (Some(invreq_id.clone()), "pending")
                }
                Err(e) => (None, outcome(e)),
            };
            service
                .audit_invreq(&client, "create", id, Some(amount), out)
                .await;
            result
        });
        task.await.map_err(|e| {
            ServiceError::Store(crate::store::StoreError::Unavailable(format!(
                "the create task stopped: {e}"
            )))
        })?
    }

    /// [`Service::disable`] for an API client, audited.
    pub async fn disable_as(
        &self,
        client: &ApiClient,
        invreq_id: &str,
    ) -> Result<InvoiceRequestView, ServiceError> {
        let result = self.disable(&client.tenant, invreq_id).await;
        let (amount, out) = match &result {
            Ok(v) => (Some(v.record.amount_msat), "ok"),
            Err(e) => (None, outcome(e)),
        };
        self.audit_invreq(client, "disable", Some(invreq_id.to_owned()), amount, out)
            .await;
        result
    }
}
