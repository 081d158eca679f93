//! Core Lightning over clnrest (`--node cln-rest`): the node signs and stores the requests the
//! service builds (`createinvoicerequest`), or in node-built mode (`--cln-build-mode node`)
//! builds them itself (`invoicerequest`); it lists and disables them, and reports its payments.
//!
//! Errors are mapped by CLN's `code` per method (notes/cln-api.md): -32602 bad parameters,
//! -1 "Could not create invoice_request!" / "Unknown invoice_request", 1001 not active;
//! HTTP 401/403 is a refused rune. The rune is never logged.

pub(crate) mod payments;
mod transport;
mod version;

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{Value, json};

pub use transport::{CallError, RpcError, Rune, Transport};
pub use version::LabelParam;

use super::{
    BuildMode, Node, NodeBuiltRequest, NodeError, NodeInfo, NodeInvoiceRequest, NodePayment,
};
use crate::bolt12::{InvoiceRequest, Network, PublicKey, UnsignedInvoiceRequest};

/// How to reach the node.
#[derive(Debug, Clone)]
pub struct ClnRestConfig {
    /// `https://localhost:3010` (clnrest's certificate names `cln` and `localhost` only).
    pub url: String,
    /// The rune (from `--cln-rune-file`).
    pub rune: Rune,
    /// The node's `ca.pem`.
    pub ca_pem: Vec<u8>,
    /// The chain the service runs on; the node must agree.
    pub network: Network,
    /// How long one call may take.
    pub timeout: Duration,
    /// Who builds the requests (default: the service).
    pub build_mode: BuildMode,
}

/// A Core Lightning node behind clnrest.
pub struct ClnRest {
    transport: Transport,
    info: NodeInfo,
    /// Whether the label parameter is `label` (else `recurrence_label`); flips after a retry.
    label_is_new: AtomicBool,
    timeout: Duration,
    build_mode: BuildMode,
}

/// CLN's name of a chain.
pub(crate) fn network_of(name: &str) -> Option<Network> {
    Some(match name {
        "bitcoin" => Network::Bitcoin,
        "testnet" => Network::Testnet,
        "testnet4" => Network::Testnet4,
        "signet" => Network::Signet,
        "regtest" => Network::Regtest,
        _ => return None,
    })
}

fn other(method: &str, e: RpcError) -> NodeError {
    match e.code {
        Some(-32602) => NodeError::BadParams(e.message),
        Some(c) => NodeError::Other(format!("{method}: {} (code {c})", e.message)),
        None => NodeError::Other(format!("{method}: {}", e.message)),
    }
}

fn flatten(method: &str, e: CallError) -> NodeError {
    match e {
        CallError::Rpc(e) => other(method, e),
        CallError::Node(e) => e,
    }
}

fn field<'a>(v: &'a Value, name: &str, method: &str) -> Result<&'a Value, NodeError> {
    v.get(name)
        .ok_or_else(|| NodeError::Other(format!("{method}: the answer lacks `{name}`")))
}

/// Whether a -32602 message says that the parameter `name` is unknown.
fn names_unknown_param(message: &str, name: &str) -> bool {
    message
        .strip_prefix("unknown parameter: ")
        .is_some_and(|rest| rest == name || rest.starts_with(&format!("{name},")))
}

/// How long a start-up call (`getinfo`, the rune probes) may take at least: a short node timeout
/// for creates must not make a busy node look absent at start.
const STARTUP_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl ClnRest {
    /// Connects: reads `getinfo` (id, network, version) and refuses a node on another chain.
    pub async fn connect(cfg: ClnRestConfig) -> Result<Self, NodeError> {
        let transport = Transport::new(&cfg.url, &cfg.ca_pem, &cfg.rune, cfg.timeout)
            .map_err(NodeError::Other)?;
        let v = transport
            .call("getinfo", &json!({}), cfg.timeout.max(STARTUP_TIMEOUT))
            .await
            .map_err(|e| flatten("getinfo", e))?;
        let id = field(&v, "id", "getinfo")?
            .as_str()
            .and_then(|s| PublicKey::from_str(s).ok())
            .ok_or_else(|| NodeError::Other("getinfo: `id` is not a node id".into()))?;
        let network_name = field(&v, "network", "getinfo")?
            .as_str()
            .unwrap_or_default();
        let network = network_of(network_name).ok_or_else(|| {
            NodeError::Other(format!("getinfo: unknown network {network_name:?}"))
        })?;
        if network != cfg.network {
            return Err(NodeError::Other(format!(
                "the node runs on {network_name}, but the service is configured for {}",
                cfg.network
            )));
        }
        let version = field(&v, "version", "getinfo")?
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let label = LabelParam::for_version(&version);
        Ok(Self {
            transport,
            info: NodeInfo {
                id,
                network,
                version,
                can_pay: true,
            },
            label_is_new: AtomicBool::new(label == LabelParam::Label),
            timeout: cfg.timeout,
            build_mode: cfg.build_mode,
        })
    }

    /// The methods invreqd needs that the rune does not allow (or the node lacks), found by
    /// calling each harmlessly: `listsendpays` with a limit of 1, `wait` with `nextvalue` 0 (both
    /// answer at once), and the invoice request methods on an all-zero id or an empty string
    /// (the node refuses the parameters, which proves the rune let the call through). Empty when
    /// all is allowed.
    ///
    /// # Errors
    /// When a probe fails for another reason than the rune (node unreachable, timeout, …).
    pub async fn missing_methods(&self) -> Result<Vec<&'static str>, NodeError> {
        let zero = "0".repeat(64);
        let probes: [(&'static str, Value); 5] = [
            (
                "listsendpays",
                json!({"index": "created", "start": 1, "limit": 1}),
            ),
            (
                "wait",
                json!({"subsystem": "sendpays", "indexname": "created", "nextvalue": 0}),
            ),
            ("listinvoicerequests", json!({"invreq_id": zero})),
            ("disableinvoicerequest", json!({"invreq_id": zero})),
            // The create method of the build mode, with parameters it refuses before creating
            // anything (the rune is checked on the method first).
            match self.build_mode {
                BuildMode::ServiceBuilt => (
                    "createinvoicerequest",
                    json!({"bolt12": "", "savetodb": false}),
                ),
                BuildMode::NodeBuilt => ("invoicerequest", json!({"amount": "not-an-amount"})),
            },
        ];
        let mut missing = Vec::new();
        let timeout = self.timeout.max(STARTUP_TIMEOUT);
        for (method, params) in probes {
            match self.transport.call(method, &params, timeout).await {
                Ok(_) | Err(CallError::Rpc(_)) => {}
                Err(CallError::Node(NodeError::Unauthorized(_) | NodeError::Unsupported(_))) => {
                    missing.push(method);
                }
                Err(CallError::Node(e)) => return Err(e),
            }
        }
        Ok(missing)
    }

    /// The method that creates requests in this build mode: `createinvoicerequest`
    /// (service-built) or `invoicerequest` (node-built).
    pub fn create_method(&self) -> &'static str {
        match self.build_mode {
            BuildMode::ServiceBuilt => "createinvoicerequest",
            BuildMode::NodeBuilt => "invoicerequest",
        }
    }

    /// The label parameter name in use.
    pub fn label_param(&self) -> LabelParam {
        if self.label_is_new.load(Ordering::Relaxed) {
            LabelParam::Label
        } else {
            LabelParam::RecurrenceLabel
        }
    }

    async fn call(&self, method: &'static str, params: Value) -> Result<Value, CallError> {
        self.transport.call(method, &params, self.timeout).await
    }

    async fn create(
        &self,
        bolt12: &str,
        single_use: bool,
        label: Option<(&str, LabelParam)>,
    ) -> Result<Value, CallError> {
        let mut params = json!({"bolt12": bolt12, "savetodb": true, "single_use": single_use});
        if let Some((label, param)) = label {
            params[param.name()] = json!(label);
        }
        self.call("createinvoicerequest", params).await
    }
}

fn invoice_request(v: &Value) -> Result<NodeInvoiceRequest, NodeError> {
    let s = |name| {
        field(v, name, "invoice request")?
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| NodeError::Other(format!("`{name}` is not a string")))
    };
    let b = |name| {
        field(v, name, "invoice request")?
            .as_bool()
            .ok_or_else(|| NodeError::Other(format!("`{name}` is not a boolean")))
    };
    Ok(NodeInvoiceRequest {
        invreq_id: s("invreq_id")?.to_ascii_lowercase(),
        active: b("active")?,
        used: b("used")?,
        single_use: b("single_use")?,
        bolt12: s("bolt12")?,
        label: v.get("label").and_then(Value::as_str).map(str::to_owned),
    })
}

#[async_trait]
impl Node for ClnRest {
    fn info(&self) -> &NodeInfo {
        &self.info
    }

    fn build_mode(&self) -> BuildMode {
        self.build_mode
    }

    async fn create_built(
        &self,
        request: &NodeBuiltRequest,
    ) -> Result<NodeInvoiceRequest, NodeError> {
        // Amounts go as plain msat integers; CLN's own parser reads them exactly.
        let mut params = json!({
            "amount": request.amount_msat,
            "description": request.description,
            "label": request.label,
            "single_use": request.single_use,
        });
        if let Some(issuer) = &request.issuer {
            params["issuer"] = json!(issuer);
        }
        if let Some(expiry) = request.absolute_expiry {
            params["absolute_expiry"] = json!(expiry);
        }
        let v = self
            .call("invoicerequest", params)
            .await
            .map_err(|e| flatten("invoicerequest", e))?;
        invoice_request(&v)
    }

    async fn sign_and_store(
        &self,
        unsigned: &UnsignedInvoiceRequest,
        single_use: bool,
        label: Option<&str>,
    ) -> Result<InvoiceRequest, NodeError> {
        let bolt12 = crate::bolt12::encode_bech32_no_checksum("lnr", unsigned.bytes());
        let param = self.label_param();
        let mut answer = self
            .create(&bolt12, single_use, label.map(|l| (l, param)))
            .await;
        if let (Some(l), Err(CallError::Rpc(e))) = (label, &answer)
            && e.code == Some(-32602)
            && names_unknown_param(&e.message, param.name())
        {
            let retry = param.other();
            tracing::info!(
                from = param.name(),
                to = retry.name(),
                "the node refused the label parameter; retrying once with the other name"
            );
            answer = self.create(&bolt12, single_use, Some((l, retry))).await;
            if answer.is_ok() {
                self.label_is_new
                    .store(retry == LabelParam::Label, Ordering::Relaxed);
            }
        }
        let v = answer.map_err(|e| match e {
            CallError::Rpc(e) if e.code == Some(-1) => NodeError::CouldNotCreate(e.message),
            e => flatten("createinvoicerequest", e),
        })?;
        let text = field(&v, "bolt12", "createinvoicerequest")?
            .as_str()
            .unwrap_or_default();
        match InvoiceRequest::decode(text) {
            Ok(signed) => Ok(signed),
            Err(e) => {
                // The node stored something we cannot hand out: take it out of service.
                let id = hex::encode(unsigned.invreq_id());
                let _ = self.disable(&id).await;
                Err(NodeError::Other(format!(
                    "createinvoicerequest: the node's answer does not decode ({e}); disabled it"
                )))
            }
        }
    }

    async fn list(&self, invreq_id: Option<&str>) -> Result<Vec<NodeInvoiceRequest>, NodeError> {
        let params = match invreq_id {
            Some(id) => json!({"invreq_id": id}),
            None => json!({}),
        };
        let v = self
            .call("listinvoicerequests", params)
            .await
            .map_err(|e| flatten("listinvoicerequests", e))?;
        field(&v, "invoicerequests", "listinvoicerequests")?
            .as_array()
            .ok_or_else(|| NodeError::Other("listinvoicerequests: not an array".into()))?
            .iter()
            .map(invoice_request)
            .collect()
    }

    async fn disable(&self, invreq_id: &str) -> Result<NodeInvoiceRequest, NodeError> {
        // Right before the disable: the node's payments in flight, by the invoice request their
        // invoice answers (the watcher may not have seen them yet).
        if payments::pending(self)
            .await?
            .iter()
            .any(|p| payments::pays(p, invreq_id))
        {
            return Err(NodeError::PaymentInFlight);
        }
        let v = self
            .call("disableinvoicerequest", json!({"invreq_id": invreq_id}))
            .await
            .map_err(|e| match e {
                CallError::Rpc(e) if e.code == Some(-1) => {
                    NodeError::UnknownInvoiceRequest(invreq_id.to_owned())
                }
                CallError::Rpc(e) if e.code == Some(1001) => NodeError::NotActive,
                e => flatten("disableinvoicerequest", e),
            })?;
        invoice_request(&v)
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
        self.call("getinfo", json!({}))
            .await
            .map(|_| ())
            .map_err(|e| flatten("getinfo", e))
    }
}

#[cfg(test)]
mod tests {
    use super::names_unknown_param;

    #[test]
    fn recognises_cln_unknown_parameter_text() {
        let m = "unknown parameter: label, this may be caused by a failure to autodetect key=value-style parameters. Please try using the -k flag and explicit key=value pairs of parameters.";
        assert!(names_unknown_param(m, "label"));
        assert!(!names_unknown_param(m, "recurrence_label"));
        assert!(names_unknown_param(
            "unknown parameter: recurrence_label",
            "recurrence_label"
        ));
        assert!(!names_unknown_param(
            "amount: should be a millisatoshi amount",
            "label"
        ));
    }
}
