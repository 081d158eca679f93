//! clnrest's HTTP surface over TLS on 127.0.0.1, with the fault knobs applied per call.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, Response, StatusCode, header};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Map, Value, json};
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};
use tokio_rustls::TlsAcceptor;

use crate::faults::{Fault, Faults};
use crate::node::NodeState;
use crate::rpc::RpcError;
use crate::rune;

/// Methods the double implements.
const METHODS: [&str; 7] = [
    "getinfo",
    "createinvoicerequest",
    "invoicerequest",
    "listinvoicerequests",
    "disableinvoicerequest",
    "listsendpays",
    "wait",
];

/// State shared by the server, its connections and the test handle.
pub struct Shared {
    state: Mutex<NodeState>,
    changed: tokio::sync::watch::Sender<()>,
    faults: Mutex<Faults>,
    master: Mutex<[u8; 32]>,
    refuse_runes: AtomicBool,
    calls: Mutex<HashMap<String, u64>>,
    in_flight: AtomicUsize,
    tls: Arc<rustls::ServerConfig>,
}

impl Shared {
    /// Wraps a node state.
    pub fn new(state: NodeState, tls: Arc<rustls::ServerConfig>) -> Self {
        Self {
            state: Mutex::new(state),
            changed: tokio::sync::watch::Sender::new(()),
            faults: Mutex::new(Faults::default()),
            master: Mutex::new([0; 32]),
            refuse_runes: AtomicBool::new(false),
            calls: Mutex::new(HashMap::new()),
            in_flight: AtomicUsize::new(0),
            tls,
        }
    }

    /// The node state (never held across an await).
    pub fn state(&self) -> MutexGuard<'_, NodeState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fault queue.
    pub fn faults(&self) -> MutexGuard<'_, Faults> {
        self.faults.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sets the rune master secret.
    pub fn set_master(&self, master: [u8; 32]) {
        *self.master.lock().unwrap_or_else(|e| e.into_inner()) = master;
    }

    /// Refuses every rune, or stops refusing.
    pub fn set_refuse_runes(&self, on: bool) {
        self.refuse_runes.store(on, Ordering::SeqCst);
    }

    /// Wakes every `wait`.
    pub fn notify(&self) {
        self.changed.send_replace(());
    }

    /// Calls of `method` that passed the rune check.
    pub fn calls(&self, method: &str) -> u64 {
        self.calls
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(method)
            .copied()
            .unwrap_or(0)
    }

    /// An error (the connection is closed unanswered) once the node has crashed.
    pub fn check_alive(&self) -> std::io::Result<()> {
        match self.state().crashed() {
            Some(why) => Err(std::io::Error::other(format!("lightningd crashed: {why}"))),
            None => Ok(()),
        }
    }

    /// Returns once no call is running.
    pub async fn settled(&self) {
        while self.in_flight.load(Ordering::SeqCst) > 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

/// A listening server.
pub struct Serving {
    /// Where it listens.
    pub addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Serving {
    /// A server task listening on `addr`.
    pub fn new(addr: SocketAddr, task: JoinHandle<()>) -> Self {
        Self { addr, task }
    }

    /// Closes the listener and every connection.
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// Listens on `addr` and serves HTTP/1.1 over TLS until stopped.
pub async fn serve(shared: Arc<Shared>, addr: SocketAddr) -> std::io::Result<Serving> {
    let listener = TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let acceptor = TlsAcceptor::from(shared.tls.clone());
    let task = tokio::spawn(async move {
        // Dropping this set (when the task is aborted) cuts every connection.
        let mut conns = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => {
                    let Ok((tcp, _)) = accepted else { continue };
                    let acceptor = acceptor.clone();
                    let shared = shared.clone();
                    conns.spawn(async move {
                        let Ok(tls) = acceptor.accept(tcp).await else { return };
                        let svc = service_fn(move |req| handle(shared.clone(), req));
                        let _ = hyper::server::conn::http1::Builder::new()
                            .serve_connection(TokioIo::new(tls), svc)
                            .await;
                    });
                }
                Some(_) = conns.join_next(), if !conns.is_empty() => {}
            }
        }
    });
    Ok(Serving { addr, task })
}

fn reply(status: u16, body: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .expect("valid response")
}

fn error(status: u16, e: &RpcError) -> Response<Body> {
    reply(status, &e.body())
}

/// Counts a running call; the count drops when this is dropped.
struct InFlight(Arc<Shared>);

impl InFlight {
    fn new(shared: Arc<Shared>) -> Self {
        shared.in_flight.fetch_add(1, Ordering::SeqCst);
        Self(shared)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(shared: Arc<Shared>, req: Request<Incoming>) -> std::io::Result<Response<Body>> {
    // A crashed lightningd takes clnrest with it: no call is answered any more.
    shared.check_alive()?;
    let path = req.uri().path().to_owned();
    let Some(method) = path
        .strip_prefix("/v1/")
        .filter(|m| !m.is_empty() && !m.contains('/'))
    else {
        return Ok(error(404, &RpcError::new(-32601, "Path not found")));
    };
    if req.method() != Method::POST {
        return Ok(error(
            405,
            &RpcError::new(
                -32601,
                "Path invalid, http_method must be POST for CLN methods",
            ),
        ));
    }
    let rune = req
        .headers()
        .get("rune")
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let master = *shared.master.lock().unwrap_or_else(|e| e.into_inner());
    if let Err(refusal) = rune::check(&master, rune.as_deref(), method) {
        return Ok(error(refusal.status, &refusal.error));
    }
    if shared.refuse_runes.load(Ordering::SeqCst) {
        return Ok(error(
            401,
            &RpcError::new(1501, "Not authorized: Not derived from master"),
        ));
    }
    if !METHODS.contains(&method) {
        return Ok(error(
            404,
            &RpcError::new(-32601, format!("Unknown command '{method}'")),
        ));
    }
    let bytes = axum::body::to_bytes(Body::new(req.into_body()), 1 << 20)
        .await
        .map_err(std::io::Error::other)?;
    let params = match parse_params(&bytes) {
        Ok(p) => p,
        Err(e) => return Ok(error(500, &e)),
    };
    Ok(match dispatch(&shared, method, params).await {
        Outcome::Answer(Ok(v)) => reply(201, &v),
        Outcome::Answer(Err(e)) => error(500, &e),
        Outcome::Lost(why) => return Err(std::io::Error::other(why)),
    })
}

/// What became of one call, whatever the transport.
pub enum Outcome {
    /// The node's answer.
    Answer(Result<Value, RpcError>),
    /// No answer: the connection is to be cut (the call may or may not have run).
    Lost(&'static str),
}

/// Runs one method with the fault knobs applied: counted, delayed, failed, dropped or answered
/// with a foreign request as told. Shared by clnrest and gRPC.
pub async fn dispatch(shared: &Arc<Shared>, method: &str, params: Map<String, Value>) -> Outcome {
    // A crashed lightningd answers nothing any more, on any transport.
    if shared.check_alive().is_err() {
        return Outcome::Lost("lightningd crashed");
    }
    let method = method.to_owned();
    *shared
        .calls
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .entry(method.clone())
        .or_default() += 1;
    if method == "wait" {
        let answer = wait(shared, &params).await;
        if shared.check_alive().is_err() {
            return Outcome::Lost("lightningd crashed");
        }
        return Outcome::Answer(answer);
    }
    let fault = shared.faults().take(&method);
    match &fault {
        Some(Fault::Fail(e)) => return Outcome::Answer(Err(e.clone())),
        Some(Fault::LoseRequest) => return Outcome::Lost("request lost"),
        _ => {}
    }
    let delay_before = match &fault {
        Some(Fault::DelayBefore(d)) => Some(*d),
        _ => None,
    };
    // Runs in its own task: like lightningd, the node finishes a command whose caller left.
    let guard = InFlight::new(shared.clone());
    let runner = shared.clone();
    let result = match tokio::spawn(async move {
        let _guard = guard;
        if let Some(d) = delay_before {
            tokio::time::sleep(d).await;
        }
        let out = runner.state().call(&method, &params);
        runner.notify();
        out
    })
    .await
    {
        Ok(r) => r,
        Err(_) => return Outcome::Lost("the call's task failed"),
    };
    if shared.check_alive().is_err() {
        return Outcome::Lost("lightningd crashed");
    }
    let result = match (&fault, result) {
        (Some(Fault::ForeignAnswer), Ok(mut v)) => {
            v["bolt12"] = Value::String(shared.state().foreign_invreq());
            Ok(v)
        }
        (_, r) => r,
    };
    match fault {
        Some(Fault::DelayAfter(d)) => tokio::time::sleep(d).await,
        Some(Fault::DropAnswer) => return Outcome::Lost("answer dropped"),
        _ => {}
    }
    Outcome::Answer(result)
}

fn parse_params(bytes: &[u8]) -> Result<Map<String, Value>, RpcError> {
    let text = String::from_utf8_lossy(bytes);
    if text.trim().is_empty() {
        return Ok(Map::new());
    }
    let parse_error = |why: String| RpcError {
        code: None,
        message: format!("Could not parse `{text}` JSON request: {why}"),
    };
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(_) => Err(parse_error(
            "invalid type: sequence, expected a map at line 1 column 0".into(),
        )),
        Err(e) => Err(parse_error(e.to_string())),
    }
}

/// `wait {subsystem: "sendpays", indexname, nextvalue}`: blocks until the index reaches
/// `nextvalue` (no server-side timeout, as in CLN).
async fn wait(shared: &Shared, params: &Map<String, Value>) -> Result<Value, RpcError> {
    let missing = |n: &str| RpcError::new(-32602, format!("missing required parameter: {n}"));
    let subsystem = params
        .get("subsystem")
        .ok_or_else(|| missing("subsystem"))?;
    if subsystem.as_str() != Some("sendpays") {
        return Err(RpcError::bad_param("subsystem", "unknown subsystem"));
    }
    let indexname = params
        .get("indexname")
        .ok_or_else(|| missing("indexname"))?
        .as_str()
        .filter(|n| ["created", "updated", "deleted"].contains(n))
        .ok_or_else(|| RpcError::bad_param("indexname", "unknown index"))?
        .to_owned();
    let nextvalue = params
        .get("nextvalue")
        .ok_or_else(|| missing("nextvalue"))?
        .as_u64()
        .ok_or_else(|| RpcError::bad_param("nextvalue", "should be an unsigned 64 bit integer"))?;
    let mut rx = shared.changed.subscribe();
    loop {
        if shared.state().crashed().is_some() {
            return Err(RpcError::new(-1, "crashed"));
        }
        let value = shared.state().index(&indexname);
        if value >= nextvalue {
            return Ok(json!({"subsystem": "sendpays", indexname: value}));
        }
        if rx.changed().await.is_err() {
            return Err(RpcError::new(-1, "shutting down"));
        }
    }
}
