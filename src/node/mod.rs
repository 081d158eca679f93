//! The node layer: who signs, stores and later pays invoice requests.
//!
//! [`Node`] is the contract; [`dev_signer::DevSigner`] is the embedded default.

#[cfg(feature = "grpc")]
pub mod cln_grpc;
pub mod cln_rest;
pub mod dev_signer;
pub mod instrumented;

use async_trait::async_trait;

use crate::bolt12::{InvoiceRequest, Network, PublicKey, UnsignedInvoiceRequest};

/// What a node says of itself.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    /// The key that signs invoice requests (`invreq_payer_id`).
    pub id: PublicKey,
    /// The chain the node runs on.
    pub network: Network,
    /// The implementation and version, e.g. `v26.06.6` or `dev-signer`.
    pub version: String,
    /// Whether invoices for its requests can really be paid.
    pub can_pay: bool,
}

/// An invoice request as the node holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeInvoiceRequest {
    /// Hex id.
    pub invreq_id: String,
    /// Whether the node still accepts invoices for it.
    pub active: bool,
    /// Whether it has been paid.
    pub used: bool,
    /// Whether it becomes inactive after one payment.
    pub single_use: bool,
    /// The signed `lnr1…` string.
    pub bolt12: String,
    /// The node's label for it (in node-built mode: the service's own key for the record).
    pub label: Option<String>,
}

/// Who builds the BOLT12 invoice request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildMode {
    /// The service builds it with `invreq_payer_id` = the node id; the node signs and stores it
    /// (`createinvoicerequest`). Its `invreq_id` is known before the node is called. No blinded
    /// path: the payee must reach the node directly.
    #[default]
    ServiceBuilt,
    /// The node builds, signs and stores it (CLN's `invoicerequest`), adding a blinded path
    /// (`invreq_paths`) when it is not publicly reachable. Its `invreq_id` is known only from
    /// the answer, so the record is found again by its label.
    NodeBuilt,
}

/// What the service asks a node to build (CLN's `invoicerequest` parameters).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeBuiltRequest {
    /// `invreq_amount`, msat.
    pub amount_msat: u64,
    /// `offer_description`.
    pub description: String,
    /// `offer_issuer`.
    pub issuer: Option<String>,
    /// `offer_absolute_expiry`, seconds since 1970.
    pub absolute_expiry: Option<u64>,
    /// Whether it becomes inactive after one payment.
    pub single_use: bool,
    /// The node label: the service's own key for the record, to find it again after a lost
    /// answer (`listinvoicerequests` has no label filter: the caller pages through it).
    pub label: String,
}

/// One part of a payment the node made (or is making) for an invoice: one `listsendpays` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodePayment {
    /// The node's index of the part (`created_index`).
    pub created_index: u64,
    /// The node's update index (`updated_index`); absent until the part changed.
    pub updated_index: Option<u64>,
    /// Hex payment hash.
    pub payment_hash: String,
    /// The attempt of the hash it belongs to (`groupid`; 0 when absent).
    pub groupid: u64,
    /// The part within its group (`partid`; 0 when absent).
    pub partid: u64,
    /// `pending`, `complete` or `failed`.
    pub status: String,
    /// What this part delivers, msat.
    pub amount_msat: Option<u64>,
    /// What this part sent, msat (fees included).
    pub amount_sent_msat: u64,
    /// Hex preimage, once complete.
    pub preimage: Option<String>,
    /// The `lni1…` invoice it paid, when it was a BOLT12 payment.
    pub bolt12: Option<String>,
    /// Seconds since 1970.
    pub created_at: u64,
    /// Seconds since 1970, once complete.
    pub completed_at: Option<u64>,
}

/// Errors from a node, by what the caller can do about them.
#[derive(Debug, Clone, thiserror::Error)]
pub enum NodeError {
    /// The node does not know that invoice request.
    #[error("the node does not know invoice request {0}")]
    UnknownInvoiceRequest(String),
    /// The invoice request is no longer active on the node.
    #[error("the invoice request is not active on the node")]
    NotActive,
    /// The node refused to create it (e.g. the same bytes again).
    #[error("the node could not create the invoice request: {0}")]
    CouldNotCreate(String),
    /// A payment for the invoice request is in flight on the node: it was not disabled.
    #[error("a payment for the invoice request is in flight on the node")]
    PaymentInFlight,
    /// The node refused our parameters.
    #[error("the node refused the parameters: {0}")]
    BadParams(String),
    /// The node refused our credentials (rune).
    #[error("the node refused our credentials: {0}")]
    Unauthorized(String),
    /// The node cannot be reached: no connection, so the call certainly did not reach it.
    #[error("the node is unreachable: {0}")]
    Unreachable(String),
    /// No answer (timeout, or the connection lost after sending): the call may or may not
    /// have taken effect.
    #[error("the node did not answer in time")]
    Timeout,
    /// The node does not support that operation.
    #[error("this node cannot {0}")]
    Unsupported(&'static str),
    /// Anything else the node said.
    #[error("the node failed: {0}")]
    Other(String),
}

impl NodeError {
    /// A short stable name of the kind of error, safe to show to clients (no URL, host or node
    /// text): `unreachable`, `timeout`, `credentials_refused`, …
    pub fn kind(&self) -> &'static str {
        match self {
            NodeError::UnknownInvoiceRequest(_) => "unknown_invoice_request",
            NodeError::NotActive => "not_active",
            NodeError::PaymentInFlight => "payment_in_flight",
            NodeError::CouldNotCreate(_) => "could_not_create",
            NodeError::BadParams(_) => "bad_params",
            NodeError::Unauthorized(_) => "credentials_refused",
            NodeError::Unreachable(_) => "unreachable",
            NodeError::Timeout => "timeout",
            NodeError::Unsupported(_) => "unsupported",
            NodeError::Other(_) => "error",
        }
    }
}

/// The contract every node transport fulfils.
#[async_trait]
pub trait Node: Send + Sync + 'static {
    /// The node's identity and network.
    fn info(&self) -> &NodeInfo;

    /// Whether signing happens in this process with nothing stored elsewhere (no pending step needed).
    fn signs_locally(&self) -> bool {
        false
    }

    /// Who builds the requests this node keeps (default: the service).
    fn build_mode(&self) -> BuildMode {
        BuildMode::ServiceBuilt
    }

    /// Has the node build, sign and store an invoice request (CLN's `invoicerequest`); the
    /// caller verifies what comes back.
    ///
    /// # Errors
    /// [`NodeError::Unsupported`] for a node that only signs what the service builds; otherwise
    /// as [`Node::sign_and_store`].
    async fn create_built(
        &self,
        _request: &NodeBuiltRequest,
    ) -> Result<NodeInvoiceRequest, NodeError> {
        Err(NodeError::Unsupported("build invoice requests itself"))
    }

    /// Signs the unsigned request with the node key and keeps it, so the node will pay its invoice.
    async fn sign_and_store(
        &self,
        unsigned: &UnsignedInvoiceRequest,
        single_use: bool,
        label: Option<&str>,
    ) -> Result<InvoiceRequest, NodeError>;

    /// The node's invoice requests; with an id, that one (or nothing).
    async fn list(&self, invreq_id: Option<&str>) -> Result<Vec<NodeInvoiceRequest>, NodeError>;

    /// Makes an invoice request inactive on the node: never while a payment for it is in flight
    /// (Core Lightning v26.06.6 accepts that and aborts when the payment completes, then on every
    /// restart; notes/cln-e2e.md F1), which a node that can pay checks right before disabling.
    ///
    /// # Errors
    /// [`NodeError::PaymentInFlight`] then; [`NodeError::NotActive`] when already inactive.
    async fn disable(&self, invreq_id: &str) -> Result<NodeInvoiceRequest, NodeError>;

    /// Payments created or updated after the given indexes (`created`, `updated`); waits up to
    /// `wait` for news when there is none.
    async fn payments_since(
        &self,
        created_index: u64,
        updated_index: u64,
        wait: std::time::Duration,
    ) -> Result<Vec<NodePayment>, NodeError>;

    /// Whether the node answers now.
    async fn ping(&self) -> Result<(), NodeError>;
}
