//! cln-grpc's surface: the real generated `NodeServer` (cln-grpc 0.7.0) over HTTP/2 with mutual
//! TLS on 127.0.0.1, backed by the same node state and fault knobs as clnrest.
//!
//! As in cln-grpc (notes/cln-live.md §8a): a client must present a certificate signed by the
//! node's CA; `CreateInvoiceRequest` is CLN's `invoicerequest`; `invreq_id` is raw bytes in
//! answers and hex in requests; an unset `description` is sent as `""`; every CLN error is
//! status UNKNOWN with `Error calling method M: RpcError { code: Some(N), message: "…", data:
//! None }` as its text. A lost request or answer leaves the call hanging until the client
//! gives up (it cannot tell whether the node ran it).

#[macro_use]
mod unimplemented;
mod convert;

use std::net::SocketAddr;
use std::sync::Arc;

use cln_grpc::pb;
use cln_grpc::pb::node_server::NodeServer;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use serde_json::{Map, Value};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tonic::{Request, Response, Status};

use crate::rpc::RpcError;
use crate::server::{Outcome, Serving, Shared, dispatch};

/// The gRPC service over the double's shared state.
#[derive(Clone)]
pub struct GrpcNode {
    shared: Arc<Shared>,
}

/// cln-grpc's status for a CLN error: UNKNOWN, the RPC error in Rust debug form.
fn cln_status(grpc_method: &str, e: &RpcError) -> Status {
    let code = match e.code {
        Some(c) => format!("Some({c})"),
        None => "None".into(),
    };
    Status::unknown(format!(
        "Error calling method {grpc_method}: RpcError {{ code: {code}, message: {:?}, data: None }}",
        e.message
    ))
}

impl GrpcNode {
    /// Runs `method` with `params`; a lost call never answers (the client's deadline ends it).
    async fn call(
        &self,
        grpc_method: &str,
        method: &str,
        params: Map<String, Value>,
    ) -> Result<Value, Status> {
        match dispatch(&self.shared, method, params).await {
            Outcome::Answer(Ok(v)) => Ok(v),
            Outcome::Answer(Err(e)) => Err(cln_status(grpc_method, &e)),
            Outcome::Lost(_) => std::future::pending().await,
        }
    }
}

#[tonic::async_trait]
impl pb::node_server::Node for GrpcNode {
    async fn getinfo(
        &self,
        _request: Request<pb::GetinfoRequest>,
    ) -> Result<Response<pb::GetinfoResponse>, Status> {
        let v = self.call("Getinfo", "getinfo", Map::new()).await?;
        convert::getinfo(&v).map(Response::new)
    }

    async fn create_invoice_request(
        &self,
        request: Request<pb::InvoicerequestRequest>,
    ) -> Result<Response<pb::InvoicerequestResponse>, Status> {
        let params = convert::invoicerequest_params(request.into_inner());
        let v = self
            .call("InvoiceRequest", "invoicerequest", params)
            .await?;
        let i = convert::invoice_request(&v)?;
        Ok(Response::new(pb::InvoicerequestResponse {
            invreq_id: i.invreq_id,
            active: i.active,
            single_use: i.single_use,
            bolt12: i.bolt12,
            used: i.used,
            label: i.label,
        }))
    }

    async fn list_invoice_requests(
        &self,
        request: Request<pb::ListinvoicerequestsRequest>,
    ) -> Result<Response<pb::ListinvoicerequestsResponse>, Status> {
        let r = request.into_inner();
        let mut params = Map::new();
        if let Some(id) = r.invreq_id {
            params.insert("invreq_id".into(), Value::String(id));
        }
        if let Some(a) = r.active_only {
            params.insert("active_only".into(), Value::Bool(a));
        }
        let v = self
            .call("ListInvoiceRequests", "listinvoicerequests", params)
            .await?;
        let rows = v["invoicerequests"].as_array().cloned().unwrap_or_default();
        let mut invoicerequests = Vec::with_capacity(rows.len());
        for row in &rows {
            let i = convert::invoice_request(row)?;
            invoicerequests.push(pb::ListinvoicerequestsInvoicerequests {
                invreq_id: i.invreq_id,
                active: i.active,
                single_use: i.single_use,
                bolt12: i.bolt12,
                used: i.used,
                label: i.label,
            });
        }
        Ok(Response::new(pb::ListinvoicerequestsResponse {
            invoicerequests,
        }))
    }

    async fn disable_invoice_request(
        &self,
        request: Request<pb::DisableinvoicerequestRequest>,
    ) -> Result<Response<pb::DisableinvoicerequestResponse>, Status> {
        let mut params = Map::new();
        params.insert(
            "invreq_id".into(),
            Value::String(request.into_inner().invreq_id),
        );
        let v = self
            .call("DisableInvoiceRequest", "disableinvoicerequest", params)
            .await?;
        let i = convert::invoice_request(&v)?;
        Ok(Response::new(pb::DisableinvoicerequestResponse {
            invreq_id: i.invreq_id,
            active: i.active,
            single_use: i.single_use,
            bolt12: i.bolt12,
            used: i.used,
            label: i.label,
        }))
    }

    async fn list_send_pays(
        &self,
        request: Request<pb::ListsendpaysRequest>,
    ) -> Result<Response<pb::ListsendpaysResponse>, Status> {
        let params = convert::listsendpays_params(request.into_inner());
        let v = self.call("ListSendPays", "listsendpays", params).await?;
        let rows = v["payments"].as_array().cloned().unwrap_or_default();
        let payments = rows
            .iter()
            .map(convert::sendpay)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Response::new(pb::ListsendpaysResponse { payments }))
    }

    async fn wait(
        &self,
        request: Request<pb::WaitRequest>,
    ) -> Result<Response<pb::WaitResponse>, Status> {
        let params = convert::wait_params(request.into_inner());
        let v = self.call("Wait", "wait", params).await?;
        Ok(Response::new(convert::wait(&v)))
    }

    unimplemented_node_methods!();
}

/// Listens on `addr` and serves gRPC over mutual TLS until stopped (stopping cuts every
/// connection, like a node going down).
pub async fn serve(
    shared: Arc<Shared>,
    tls: Arc<rustls::ServerConfig>,
    addr: SocketAddr,
) -> std::io::Result<Serving> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let acceptor = TlsAcceptor::from(tls);
    let service = NodeServer::new(GrpcNode { shared });
    let task = tokio::spawn(async move {
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((tcp, _)) = accepted else { continue };
                    let _ = tcp.set_nodelay(true);
                    let acceptor = acceptor.clone();
                    let service = service.clone();
                    conns.spawn(async move {
                        // No client certificate signed by the CA: the handshake fails here.
                        let Ok(tls) = acceptor.accept(tcp).await else { return };
                        let _ = hyper::server::conn::http2::Builder::new(TokioExecutor::new())
                            .serve_connection(TokioIo::new(tls), TowerToHyperService::new(service))
                            .await;
                    });
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    });
    Ok(Serving::new(addr, task))
}
