//! Checking what a node signed for a service-built request.

use super::ServiceError;
use crate::bolt12::{InvoiceRequest, UnsignedInvoiceRequest};

/// Checks what a node signed: same records as asked, signed by the node, same id.
pub fn verify_signed(
    signed: &InvoiceRequest,
    unsigned: &UnsignedInvoiceRequest,
    node_id: crate::bolt12::PublicKey,
) -> Result<(), ServiceError> {
    if signed.signature().is_none() {
        return Err(ServiceError::NodeMismatch(
            "the request carries no signature".into(),
        ));
    }
    if signed.payer_id() != node_id {
        return Err(ServiceError::NodeMismatch(
            "signed by another key than the node's".into(),
        ));
    }
    if !signed.same_records_as(unsigned) {
        return Err(ServiceError::NodeMismatch(
            "its records differ from those sent".into(),
        ));
    }
    if signed.invreq_id() != unsigned.invreq_id() {
        return Err(ServiceError::NodeMismatch("its invreq_id differs".into()));
    }
    Ok(())
}
