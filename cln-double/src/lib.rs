//! A Core Lightning REST (clnrest) test double for invreqd.
//!
//! It speaks clnrest's shapes (`POST /v1/<method>`, 201 with the bare result, 500
//! `{code, message, data}` for RPC errors, 401/403 for runes, 404, 405) over HTTPS on
//! 127.0.0.1, signs with its own node key, keeps state, enforces its rune allow-list, and can be
//! told to delay, drop or fail calls, go down and come back, and simulate a payee's
//! `sendinvoice` that the node pays. Where it and notes/cln-live.md differ, the notes are right.

pub mod codec;
mod faults;
mod grpc;
mod node;
mod payee;
mod rpc;
mod rune;
mod server;
mod tls;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lightning::bitcoin::Network;
use lightning::bitcoin::secp256k1::PublicKey;

pub use faults::Fault;
pub use node::{LabelParam, PayError};
pub use rpc::RpcError;

/// The methods of the least-privilege rune (DESIGN.md §4).
pub const LEAST_PRIVILEGE_METHODS: [&str; 6] = [
    "getinfo",
    "createinvoicerequest",
    "listinvoicerequests",
    "disableinvoicerequest",
    "listsendpays",
    "wait",
];

/// The methods of the least-privilege rune in node-built mode (`--cln-build-mode node`): CLN's
/// `invoicerequest` instead of `createinvoicerequest`.
pub const NODE_BUILT_METHODS: [&str; 6] = [
    "getinfo",
    "invoicerequest",
    "listinvoicerequests",
    "disableinvoicerequest",
    "listsendpays",
    "wait",
];

/// How to start a double.
#[derive(Debug, Clone)]
pub struct DoubleOptions {
    /// The chain it claims to run on.
    pub network: Network,
    /// `getinfo.version`.
    pub version: String,
    /// The name of `createinvoicerequest`'s label parameter.
    pub label_param: LabelParam,
    /// Port on 127.0.0.1 (0: any free port).
    pub port: u16,
    /// Port for gRPC on 127.0.0.1 (0: any free port).
    pub grpc_port: u16,
    /// Whether `invoicerequest` adds a blinded path (`invreq_paths`), as CLN does for a node
    /// that is not publicly reachable; its payer id is then an alias key, not the node id.
    pub blinded_paths: bool,
}

impl Default for DoubleOptions {
    fn default() -> Self {
        Self {
            network: Network::Regtest,
            version: "v26.06.6-modded".into(),
            label_param: LabelParam::RecurrenceLabel,
            port: 0,
            grpc_port: 0,
            blinded_paths: false,
        }
    }
}

/// A simulated payment, as the payee sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimulatedPayment {
    /// Hex payment hash.
    pub payment_hash: String,
    /// Hex preimage.
    pub preimage: String,
    /// Amount of the invoice, msat.
    pub amount_msat: u64,
    /// The payee's `lni1…` invoice.
    pub bolt12: String,
    /// The `(groupid, partid)` of each part the node put in flight.
    pub parts: Vec<(u64, u64)>,
    /// Why lightningd refused a later part (212 for a single-use request), if it did.
    pub refused: Option<RpcError>,
}

/// A running double.
///
/// If a test makes the double crash like lightningd would (see [`ClnDouble::crashed`]), every
/// later call fails, and dropping the double panics unless the test took the crash with
/// [`ClnDouble::take_crash`].
pub struct ClnDouble {
    shared: Arc<server::Shared>,
    addr: SocketAddr,
    ca_pem: String,
    master: [u8; 32],
    serving: Mutex<Option<server::Serving>>,
    grpc_addr: SocketAddr,
    grpc_tls: Arc<rustls::ServerConfig>,
    grpc_serving: Mutex<Option<server::Serving>>,
    client_cert_pem: String,
    client_key_pem: String,
    crash_taken: std::sync::atomic::AtomicBool,
}

impl Drop for ClnDouble {
    fn drop(&mut self) {
        if let Some(why) = self.crashed()
            && !self.crash_taken.load(std::sync::atomic::Ordering::SeqCst)
            && !std::thread::panicking()
        {
            panic!("the CLN double crashed as lightningd would: {why}");
        }
    }
}

impl ClnDouble {
    /// Generates its keys and TLS identity and starts serving on 127.0.0.1.
    pub async fn start(opts: DoubleOptions) -> std::io::Result<Self> {
        let tls = tls::generate().map_err(std::io::Error::other)?;
        let mut state = node::NodeState::new(opts.network, opts.version, opts.label_param);
        state.blinded_paths = opts.blinded_paths;
        let shared = Arc::new(server::Shared::new(state, tls.server_config));
        let master: [u8; 32] = rand::random();
        shared.set_master(master);
        let serving = server::serve(
            shared.clone(),
            SocketAddr::from(([127, 0, 0, 1], opts.port)),
        )
        .await?;
        let grpc_serving = grpc::serve(
            shared.clone(),
            tls.grpc_server_config.clone(),
            SocketAddr::from(([127, 0, 0, 1], opts.grpc_port)),
        )
        .await?;
        Ok(Self {
            addr: serving.addr,
            shared,
            ca_pem: tls.ca_pem,
            master,
            serving: Mutex::new(Some(serving)),
            grpc_addr: grpc_serving.addr,
            grpc_tls: tls.grpc_server_config,
            grpc_serving: Mutex::new(Some(grpc_serving)),
            client_cert_pem: tls.client_cert_pem,
            client_key_pem: tls.client_key_pem,
            crash_taken: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// cln-grpc's address as `https://127.0.0.1:PORT` (the client checks the TLS name `cln`).
    pub fn grpc_url(&self) -> String {
        format!("https://127.0.0.1:{}", self.grpc_addr.port())
    }

    /// The gRPC client certificate signed by the node's CA (cln-grpc's `client.pem`), PEM.
    pub fn client_cert_pem(&self) -> &str {
        &self.client_cert_pem
    }

    /// Its key (`client-key.pem`), PEM.
    pub fn client_key_pem(&self) -> &str {
        &self.client_key_pem
    }

    /// Whether `invoicerequest` adds a blinded path (see [`DoubleOptions::blinded_paths`]).
    pub fn set_blinded_paths(&self, on: bool) {
        self.shared.state().blinded_paths = on;
    }

    /// Why the node aborted, if a test made it (a disable during an in-flight payment, or a
    /// single-use request's second part completing).
    pub fn crashed(&self) -> Option<String> {
        self.shared.state().crashed().map(str::to_owned)
    }

    /// The crash, acknowledged: dropping the double no longer panics for it.
    pub fn take_crash(&self) -> Option<String> {
        self.crash_taken
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.crashed()
    }

    /// `https://localhost:PORT` (the certificate names `cln` and `localhost`, not the IP).
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The CA that signed its server certificate, PEM.
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// A rune for the least-privilege method list.
    pub fn rune(&self) -> String {
        rune::mint(&self.master, &LEAST_PRIVILEGE_METHODS)
    }

    /// A rune for the given methods (empty: unrestricted).
    pub fn rune_for(&self, methods: &[&str]) -> String {
        rune::mint(&self.master, methods)
    }

    /// The node id.
    pub fn node_id(&self) -> PublicKey {
        self.shared.state().id()
    }

    /// Refuses every rune (as after a `blacklistrune`) until called with `false`.
    pub fn refuse_runes(&self, refuse: bool) {
        self.shared.set_refuse_runes(refuse);
    }

    /// Applies `fault` to the next `n` calls of `method` (`None`: of any method but `wait`).
    pub fn fault_next(&self, method: Option<&str>, n: usize, fault: Fault) {
        self.shared.faults().push(method, n, fault);
    }

    /// Delays the next `n` calls of `method` by `d` before the node runs them (they still run
    /// after the client gave up, as lightningd finishes a command whose caller left).
    pub fn delay_next(&self, method: &str, n: usize, d: Duration) {
        self.fault_next(Some(method), n, Fault::DelayBefore(d));
    }

    /// Runs the next `n` calls of `method`, then closes the connection without answering.
    pub fn drop_next(&self, method: &str, n: usize) {
        self.fault_next(Some(method), n, Fault::DropAnswer);
    }

    /// Fails the next `n` calls of `method` with an RPC error, without running them.
    pub fn fail_next(&self, method: &str, n: usize, code: i64, message: &str) {
        self.fault_next(Some(method), n, Fault::Fail(RpcError::new(code, message)));
    }

    /// Forgets every pending fault.
    pub fn clear_faults(&self) {
        self.shared.faults().clear();
    }

    /// Stops listening and cuts every open connection; the state is kept.
    pub async fn go_down(&self) {
        let serving = self.serving.lock().expect("lock").take();
        if let Some(s) = serving {
            s.stop().await;
        }
        let grpc = self.grpc_serving.lock().expect("lock").take();
        if let Some(s) = grpc {
            s.stop().await;
        }
    }

    /// Listens again on the same port, with the same state.
    pub async fn come_back(&self) -> std::io::Result<()> {
        if self.serving.lock().expect("lock").is_none() {
            let serving = server::serve(self.shared.clone(), self.addr).await?;
            *self.serving.lock().expect("lock") = Some(serving);
        }
        if self.grpc_serving.lock().expect("lock").is_none() {
            let serving =
                grpc::serve(self.shared.clone(), self.grpc_tls.clone(), self.grpc_addr).await?;
            *self.grpc_serving.lock().expect("lock") = Some(serving);
        }
        Ok(())
    }

    /// Waits until no call is being run (delayed calls included).
    pub async fn settled(&self) {
        self.shared.settled().await;
    }

    /// How many calls of `method` reached the node (after the rune check).
    pub fn calls(&self, method: &str) -> u64 {
        self.shared.calls(method)
    }

    /// The stored invoice requests: `(invreq_id, active, used, label)`, sorted by id.
    pub fn invoice_requests(&self) -> Vec<(String, bool, bool, Option<String>)> {
        self.shared
            .state()
            .invreqs
            .iter()
            .map(|(k, r)| (k.clone(), r.active, r.used, r.label.clone()))
            .collect()
    }

    /// The stored invoice requests' descriptions: `(invreq_id, offer_description)`, sorted by id.
    pub fn invoice_request_descriptions(&self) -> Vec<(String, String)> {
        self.shared
            .state()
            .invreqs
            .iter()
            .map(|(k, r)| {
                // `offer_description` (10), read with the double's own codec.
                let description = codec::records(&r.bytes)
                    .unwrap_or_default()
                    .into_iter()
                    .find(|rec| rec.typ == 10)
                    .map(|rec| String::from_utf8_lossy(rec.value).into_owned())
                    .unwrap_or_default();
                (k.clone(), description)
            })
            .collect()
    }

    /// Simulates a payee's `sendinvoice` for `invreq_id` and the node paying it at once:
    /// sendpay created (`pending`), then `complete`.
    pub fn simulate_payment(
        &self,
        invreq_id: &str,
        amount_msat: u64,
    ) -> Result<SimulatedPayment, PayError> {
        let started = self.start_payment(invreq_id, amount_msat)?;
        self.complete_payment(&started.payment_hash);
        Ok(started)
    }

    /// Starts paying (one `pending` part, with a fee) without completing it.
    pub fn start_payment(
        &self,
        invreq_id: &str,
        amount_msat: u64,
    ) -> Result<SimulatedPayment, PayError> {
        let fee = amount_msat / 1000 + 1;
        let paid = self.start_split_payment(invreq_id, &[(amount_msat, amount_msat + fee)])?;
        match paid.refused {
            Some(e) => Err(PayError::Rpc(e)),
            None => Ok(paid),
        }
    }

    /// Starts paying one invoice in parts, each `(amount_msat, amount_sent_msat)`, all
    /// `pending` (partid 1, 2, … of group 1). A single-use request gets its later parts refused
    /// with 212 (`refused`), as CLN v26.06.6 does.
    pub fn start_split_payment(
        &self,
        invreq_id: &str,
        parts: &[(u64, u64)],
    ) -> Result<SimulatedPayment, PayError> {
        let (made, refused) = {
            let mut state = self.shared.state();
            state.start_split(invreq_id, parts)?
        };
        self.shared.notify();
        let first = made.first().expect("at least one part");
        Ok(SimulatedPayment {
            payment_hash: first.payment_hash.clone(),
            preimage: first.preimage.clone(),
            amount_msat: parts.iter().map(|p| p.0).sum(),
            bolt12: first.bolt12.clone(),
            parts: made.iter().map(|p| (p.groupid, p.partid)).collect(),
            refused,
        })
    }

    /// More parts of a payment already started (xpay's retry after a failed part): same hash;
    /// `new_group` starts a new group. Returns the new `(groupid, partid)`s.
    pub fn add_parts(
        &self,
        payment_hash: &str,
        parts: &[(u64, u64)],
        new_group: bool,
    ) -> Result<Vec<(u64, u64)>, PayError> {
        let made = {
            let mut state = self.shared.state();
            let ids = state.add_parts(payment_hash, parts, new_group)?;
            let group = state
                .sendpays
                .iter()
                .filter(|p| p.payment_hash == payment_hash)
                .map(|p| p.groupid)
                .max()
                .unwrap_or(1);
            ids.into_iter().map(|p| (group, p)).collect()
        };
        self.shared.notify();
        Ok(made)
    }

    /// Completes one part (the parts of a payment may end in any order).
    pub fn complete_part(&self, payment_hash: &str, groupid: u64, partid: u64) -> bool {
        let done = self
            .shared
            .state()
            .finish_part(payment_hash, groupid, partid, true)
            .is_some();
        self.shared.notify();
        done
    }

    /// Fails one part.
    pub fn fail_part(&self, payment_hash: &str, groupid: u64, partid: u64) -> bool {
        let done = self
            .shared
            .state()
            .finish_part(payment_hash, groupid, partid, false)
            .is_some();
        self.shared.notify();
        done
    }

    /// Completes every pending part of a payment: `used` true, single-use ⇒ `active` false.
    pub fn complete_payment(&self, payment_hash: &str) -> bool {
        let done = self
            .shared
            .state()
            .finish_payment(payment_hash, true)
            .is_some();
        self.shared.notify();
        done
    }

    /// Fails every pending part of a payment (the request may be paid by another attempt).
    pub fn fail_payment(&self, payment_hash: &str) -> bool {
        let done = self
            .shared
            .state()
            .finish_payment(payment_hash, false)
            .is_some();
        self.shared.notify();
        done
    }
}
