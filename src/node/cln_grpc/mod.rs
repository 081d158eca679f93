//! Core Lightning over gRPC (`--node cln-grpc`, cargo feature `grpc`): cln-grpc's generated
//! client over tonic with mutual TLS (the node's `ca.pem`, `client.pem`, `client-key.pem`).
//!
//! gRPC has no `createinvoicerequest` (notes/cln-api.md §5), so this transport is node-built
//! only: `CreateInvoiceRequest` is CLN's `invoicerequest`, which builds, signs and stores the
//! request and adds a blinded path when the node is not publicly reachable. Lists, disables and
//! payments (`ListSendPays` + `Wait`) work as over clnrest. CLN's errors arrive as status
//! UNKNOWN with the RPC error in the text ([`status`]). A client certificate gives the holder
//! the whole node: gRPC has no runes.

mod payments;
pub mod status;

use std::time::Duration;

use async_trait::async_trait;
use cln_grpc::pb;
use cln_grpc::pb::node_client::NodeClient;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};

use self::status::{ClnError, Failure, classify};
use super::cln_rest::network_of;
use super::{
    BuildMode, Node, NodeBuiltRequest, NodeError, NodeInfo, NodeInvoiceRequest, NodePayment,
};
use crate::bolt12::{InvoiceRequest, PublicKey, UnsignedInvoiceRequest};

/// The TLS server name: CLN's certificates name only `cln` and `localhost`.
pub const SERVER_NAME: &str = "cln";

/// How to reach the node.
#[derive(Debug, Clone)]
pub struct ClnGrpcConfig {
    /// `https://127.0.0.1:9736` (any host: the TLS name checked is always [`SERVER_NAME`]).
    pub url: String,
    /// The node's `ca.pem`.
    pub ca_pem: Vec<u8>,
    /// The node's `client.pem`.
    pub client_cert_pem: Vec<u8>,
    /// The node's `client-key.pem` (never logged).
    pub client_key_pem: Vec<u8>,
    /// The chain the service runs on; the node must agree.
    pub network: crate::bolt12::Network,
    /// How long one call may take.
    pub timeout: Duration,
}

/// A Core Lightning node behind cln-grpc.
pub struct ClnGrpc {
    client: NodeClient<Channel>,
    info: NodeInfo,
    timeout: Duration,
}

fn cln_failure(method: &str, e: ClnError) -> NodeError {
    match e.code {
        Some(-32602) => NodeError::BadParams(e.message),
        Some(c) => NodeError::Other(format!("{method}: {} (code {c})", e.message)),
        None => NodeError::Other(format!("{method}: {}", e.message)),
    }
}

fn flatten(method: &str, f: Failure) -> NodeError {
    match f {
        Failure::Cln(e) => cln_failure(method, e),
        Failure::Node(e) => e,
    }
}

fn invoice_request(
    invreq_id: &[u8],
    active: bool,
    used: bool,
    single_use: bool,
    bolt12: String,
    label: Option<String>,
) -> Result<NodeInvoiceRequest, NodeError> {
    if invreq_id.len() != 32 {
        return Err(NodeError::Other(format!(
            "the node's invreq_id has {} bytes, not 32",
            invreq_id.len()
        )));
    }
    Ok(NodeInvoiceRequest {
        invreq_id: hex::encode(invreq_id),
        active,
        used,
        single_use,
        bolt12,
        label,
    })
}

impl ClnGrpc {
    /// Connects with mutual TLS, reads `Getinfo` (id, network, version) and refuses a node on
    /// another chain.
    ///
    /// # Errors
    /// A bad URL or PEM is [`NodeError::Other`]; an unreachable node, a refused certificate or a
    /// wrong network as the call fails.
    pub async fn connect(cfg: ClnGrpcConfig) -> Result<Self, NodeError> {
        let tls = ClientTlsConfig::new()
            .ca_certificate(Certificate::from_pem(&cfg.ca_pem))
            .identity(Identity::from_pem(
                &cfg.client_cert_pem,
                &cfg.client_key_pem,
            ))
            .domain_name(SERVER_NAME);
        let channel = Endpoint::from_shared(cfg.url.clone())
            .map_err(|e| NodeError::Other(format!("bad gRPC URL {:?}: {e}", cfg.url)))?
            .tls_config(tls)
            .map_err(|e| NodeError::Other(format!("bad TLS files: {e}")))?
            .connect_timeout(cfg.timeout)
            .tcp_nodelay(true)
            .connect_lazy();
        let client = NodeClient::new(channel);
        let got = run(&client, cfg.timeout, |mut c| async move {
            c.getinfo(pb::GetinfoRequest {}).await
        })
        .await
        .map_err(|f| flatten("Getinfo", f))?;
        let id = PublicKey::from_slice(&got.id)
            .map_err(|_| NodeError::Other("Getinfo: `id` is not a node id".into()))?;
        let network = network_of(&got.network).ok_or_else(|| {
            NodeError::Other(format!("Getinfo: unknown network {:?}", got.network))
        })?;
        if network != cfg.network {
            return Err(NodeError::Other(format!(
                "the node runs on {}, but the service is configured for {}",
                got.network, cfg.network
            )));
        }
        Ok(Self {
            client,
            info: NodeInfo {
                id,
                network,
                version: got.version,
                can_pay: true,
            },
            timeout: cfg.timeout,
        })
    }

    /// Runs one unary call with the client timeout; `Err` is already classified.
    async fn run<T, F, Fut>(&self, limit: Duration, call: F) -> Result<T, Failure>
    where
        F: FnOnce(NodeClient<Channel>) -> Fut,
        Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
    {
        run(&self.client, limit, call).await
    }
}

/// Runs one unary call on a clone of `client`, giving up after `limit` (the outcome is then
/// unknown: [`NodeError::Timeout`]).
async fn run<T, F, Fut>(
    client: &NodeClient<Channel>,
    limit: Duration,
    call: F,
) -> Result<T, Failure>
where
    F: FnOnce(NodeClient<Channel>) -> Fut,
    Fut: Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    match tokio::time::timeout(limit, call(client.clone())).await {
        Ok(Ok(r)) => Ok(r.into_inner()),
        Ok(Err(status)) => Err(classify(&status)),
        Err(_) => Err(Failure::Node(NodeError::Timeout)),
    }
}

#[async_trait]
impl Node for ClnGrpc {
    fn info(&self) -> &NodeInfo {
        &self.info
    }

    fn build_mode(&self) -> BuildMode {
        BuildMode::NodeBuilt
    }

    async fn create_built(
        &self,
        request: &NodeBuiltRequest,
    ) -> Result<NodeInvoiceRequest, NodeError> {
        let req = pb::InvoicerequestRequest {
            amount: Some(pb::Amount {
                msat: request.amount_msat,
            }),
            description: request.description.clone(),
            issuer: request.issuer.clone(),
            label: Some(request.label.clone()),
            absolute_expiry: request.absolute_expiry,
            single_use: Some(request.single_use),
        };
        let r = self
            .run(self.timeout, |mut c| async move {
                c.create_invoice_request(req).await
            })
            .await
            .map_err(|f| flatten("CreateInvoiceRequest", f))?;
        invoice_request(
            &r.invreq_id,
            r.active,
            r.used,
            r.single_use,
            r.bolt12,
            r.label,
        )
    }

    async fn sign_and_store(
        &self,
        _unsigned: &UnsignedInvoiceRequest,
        _single_use: bool,
        _label: Option<&str>,
    ) -> Result<InvoiceRequest, NodeError> {
        // cln-grpc has no `createinvoicerequest`: the node builds its own requests.
        Err(NodeError::Unsupported(
            "sign a request the service built (gRPC has no createinvoicerequest)",
        ))
    }

    async fn list(&self, invreq_id: Option<&str>) -> Result<Vec<NodeInvoiceRequest>, NodeError> {
        let req = pb::ListinvoicerequestsRequest {
            invreq_id: invreq_id.map(str::to_owned),
            active_only: None,
        };
        let r = self
            .run(self.timeout, |mut c| async move {
                c.list_invoice_requests(req).await
            })
            .await
            .map_err(|f| flatten("ListInvoiceRequests", f))?;
        r.invoicerequests
            .into_iter()
            .map(|i| {
                invoice_request(
                    &i.invreq_id,
                    i.active,
                    i.used,
                    i.single_use,
                    i.bolt12,
                    i.label,
                )
            })
            .collect()
    }

    async fn disable(&self, invreq_id: &str) -> Result<NodeInvoiceRequest, NodeError> {
        // Right before the disable, as over clnrest: never while a payment for it is in flight
        // (CLN v26.06.6 aborts when that payment completes; notes/cln-e2e.md F1).
        if payments::pending(self)
            .await?
            .iter()
            .any(|p| crate::node::cln_rest::payments::pays(p, invreq_id))
        {
            return Err(NodeError::PaymentInFlight);
        }
        let req = pb::DisableinvoicerequestRequest {
            invreq_id: invreq_id.to_owned(),
        };
        let r = self
            .run(self.timeout, |mut c| async move {
                c.disable_invoice_request(req).await
            })
            .await
            .map_err(|f| match f {
                Failure::Cln(e) if e.code == Some(-1) => {
                    NodeError::UnknownInvoiceRequest(invreq_id.to_owned())
                }
                Failure::Cln(e) if e.code == Some(1001) => NodeError::NotActive,
                f => flatten("DisableInvoiceRequest", f),
            })?;
        invoice_request(
            &r.invreq_id,
            r.active,
            r.used,
            r.single_use,
            r.bolt12,
            r.label,
        )
    }

    async fn payments_since(
        &self,
        created_index: u64,
        updated_index: u64,
        wait: Duration,
    ) -> Result<Vec<NodePayment>, NodeError> {
        payments::since(self, created_index, updated_index, wait).await
    }

    async fn ping(&self) -> Result<(), NodeError> {
        self.run(self.timeout, |mut c| async move {
            c.getinfo(pb::GetinfoRequest {}).await
        })
        .await
        .map(|_| ())
        .map_err(|f| flatten("Getinfo", f))
    }
}
