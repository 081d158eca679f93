//! Disabling an invoice request: the lifecycle's rule, the node, then the store.

use super::{InvoiceRequestView, Service, ServiceError, unix_now};
use crate::domain::lifecycle::{self, DisableRefused};
use crate::node::NodeError;

impl Service {
    /// Disables an active invoice request on the node and in the store.
    pub async fn disable(
        &self,
        tenant: &str,
        invreq_id: &str,
    ) -> Result<InvoiceRequestView, ServiceError> {
        let record = self.current_record(tenant, invreq_id).await?;
        // Never disable with a payment in flight (CLN v26.06.6 then crash-loops): as recorded
        // here, and (checked by the node layer right before its disable) as the node says now.
        match lifecycle::check_disable(record.status) {
            Ok(()) => {}
            Err(DisableRefused::Inactive) => {
                return Err(ServiceError::AlreadyInactive(invreq_id.to_owned()));
            }
            Err(DisableRefused::PaymentInFlight) => {
                return Err(ServiceError::PaymentInFlight(invreq_id.to_owned()));
            }
        }
        match self.node.disable(invreq_id).await {
            Ok(node_view) => {
                // One 200 for one disable, however many ask at once: a node with its own state
                // answers "not active" to all but one; with the dev signer (no node state) the
                // store's conditional transition is the only arbiter.
                let moved = self
                    .move_request(&record, &lifecycle::disabled(node_view.used), unix_now())
                    .await?;
                if !moved && self.node.signs_locally() {
                    return Err(ServiceError::AlreadyInactive(invreq_id.to_owned()));
                }
                crate::metrics::disabled();
            }
            Err(NodeError::NotActive) => {
                // Inactive on the node already (paid, or disabled elsewhere): follow the node.
                let used = self
                    .node
                    .list(Some(invreq_id))
                    .await?
                    .first()
                    .is_some_and(|n| n.used);
                let mv = lifecycle::after_node_inactive(used);
                self.move_request(&record, &mv, unix_now()).await?;
                return Err(ServiceError::AlreadyInactive(invreq_id.to_owned()));
            }
            Err(NodeError::PaymentInFlight) => {
                return Err(ServiceError::PaymentInFlight(invreq_id.to_owned()));
            }
            Err(e) => return Err(e.into()),
        }
        self.get(tenant, invreq_id).await
    }
}
