//! Events and webhooks, end to end: the real binary as a child process, a real HTTP receiver on
//! 127.0.0.1, the CLN double for payments, and every delivery checked with the reference
//! Standard Webhooks library (PyPI `standardwebhooks`, installed by `.ci/run` into `.ci-venv`).

mod support;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{Value, json};

// --- The receiver -------------------------------------------------------------------------

/// One request the receiver got.
#[derive(Debug, Clone)]
struct Received {
    id: String,
    timestamp: String,
    signature: String,
    body: String,
    /// What it answered (0: it never answered).
    answered: u16,
}

#[derive(Default)]
struct Plan {
    /// Answer 503 to this many requests first.
    fail_first: usize,
    /// Never answer this many requests first.
    hang_first: usize,
    /// Answer 500 to everything.
    always_fail: bool,
}

#[derive(Clone, Default)]
struct Receiver {
    log: Arc<Mutex<Vec<Received>>>,
    plan: Arc<Mutex<Plan>>,
}

impl Receiver {
    async fn start(plan: Plan) -> (Self, SocketAddr) {
        let r = Receiver {
            log: Default::default(),
            plan: Arc::new(Mutex::new(plan)),
        };
        let app = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(r.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (r, addr)
    }

    fn all(&self) -> Vec<Received> {
        self.log.lock().unwrap().clone()
    }

    fn delivered(&self) -> Vec<Received> {
        self.all()
            .into_iter()
            .filter(|r| (200..300).contains(&r.answered))
            .collect()
    }

    /// Waits until `n` deliveries were answered 2xx (or `within` passes).
    async fn wait_delivered(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.delivered();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn wait_requests(&self, n: usize, within: Duration) -> Vec<Received> {
        let deadline = Instant::now() + within;
        loop {
            let got = self.all();
            if got.len() >= n || Instant::now() >= deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let h = |n: &str| {
        headers
            .get(n)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string()
    };
    let mut rec = Received {
        id: h("webhook-id"),
        timestamp: h("webhook-timestamp"),
        signature: h("webhook-signature"),
        body: String::from_utf8_lossy(&body).into_owned(),
        answered: 0,
    };
    let hang = {
        let mut log = r.log.lock().unwrap();
        let plan = r.plan.lock().unwrap();
        let n = log.len();
        let (hang, status) = if n < plan.hang_first {
            (true, 0)
        } else if plan.always_fail {
            (false, 500)
        } else if n < plan.hang_first + plan.fail_first {
            (false, 503)
        } else {
            (false, 200)
        };
        rec.answered = status;
        log.push(rec);
        if hang {
            true
        } else {
            return StatusCode::from_u16(status).unwrap();
        }
    };
    if hang {
        std::future::pending::<()>().await;
    }
    StatusCode::OK
}

// --- Verification with the reference library ----------------------------------------------

const VERIFY_PY: &str = r#"
import json, sys
from standardwebhooks import Webhook
req = json.load(sys.stdin)
wh = Webhook(req["secret"])
results = []
for d in req["deliveries"]:
    try:
        wh.verify(d["body"], {"webhook-id": d["id"], "webhook-timestamp": d["timestamp"], "webhook-signature": d["signature"]})
        results.append(True)
    except Exception:
        results.append(False)
print(json.dumps(results))
"#;

/// The Python that has `standardwebhooks`: `$INVREQD_TEST_PYTHON`, else `.ci-venv/bin/python`.
/// `None` (and a visible SKIPPED line) when absent, unless `INVREQD_REQUIRE_STANDARDWEBHOOKS`
/// is set (CI), which makes it a failure.
fn reference_python() -> Option<PathBuf> {
    let candidate = std::env::var_os("INVREQD_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".ci-venv/bin/python"));
    let ok = Command::new(&candidate)
        .args(["-c", "import standardwebhooks"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        return Some(candidate);
    }
    assert!(
        std::env::var_os("INVREQD_REQUIRE_STANDARDWEBHOOKS").is_none(),
        "the standardwebhooks package is required (INVREQD_REQUIRE_STANDARDWEBHOOKS) but {} cannot import it",
        candidate.display()
    );
    eprintln!(
        "SKIPPED: signature check with the reference Standard Webhooks library ({} cannot import standardwebhooks; `bash .ci/run` installs it)",
        candidate.display()
    );
    None
}

/// Whether each delivery verifies with the reference library; `None` when it is not installed.
fn verify_with_reference(secret: &str, deliveries: &[Received]) -> Option<Vec<bool>> {
    let python = reference_python()?;
    let input = json!({
        "secret": secret,
        "deliveries": deliveries.iter().map(|d| json!({
            "id": d.id, "timestamp": d.timestamp, "signature": d.signature, "body": d.body
        })).collect::<Vec<_>>(),
    });
    let mut child = Command::new(python)
        .args(["-c", VERIFY_PY])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "verifier failed");
    Some(serde_json::from_slice(&out.stdout).expect("verifier prints JSON"))
}

/// Every delivery verifies, and a tampered copy of the first does not.
fn assert_all_verify(secret: &str, deliveries: &[Received]) {
    let mut tampered = deliveries[0].clone();
    tampered.body = tampered
        .body
        .replacen("invoicerequest", "invoicerequesT", 1);
    let mut all = deliveries.to_vec();
    all.push(tampered);
    if let Some(results) = verify_with_reference(secret, &all) {
        let (last, rest) = results.split_last().unwrap();
        assert!(
            rest.iter().all(|ok| *ok),
            "every delivery verifies: {results:?}"
        );
        assert!(!last, "a tampered body does not verify");
    }
}

// --- The service as a child process --------------------------------------------------------

struct Proc {
    child: Child,
    base: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Proc {
    async fn start(data_dir: &Path, extra: &[String]) -> Proc {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let child = Command::new(env!("CARGO_BIN_EXE_invreqd"))
            .args(["--listen", &format!("127.0.0.1:{port}")])
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--log-format", "json", "--rate-limit-per-sec", "0"])
            .args(["--webhook-poll-ms", "50"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("binary starts");
        let p = Proc {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(res) = client.get(format!("{}/healthz", p.base)).send().await
                && res.status() == 200
            {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("invreqd never became healthy");
    }

    /// kill -9.
    fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

const OPEN_DESTINATIONS: [&str; 2] = ["--webhook-allow-http", "--webhook-allow-private"];

/// A key of the default tenant with the invoice request scopes and `webhooks:manage`.
fn make_key(data_dir: &Path, database_url: Option<&str>) -> reqwest::Client {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_invreqd"));
    cmd.args([
        "keys", "create", "--name", "hooks", "--tenant", "default", "--scope",
    ])
    .arg("invoicerequests:read,invoicerequests:write,invoicerequests:disable,webhooks:manage")
    .arg("--data-dir")
    .arg(data_dir)
    .env_clear();
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    let out = cmd.output().expect("invreqd keys create");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    support::authed_client(v["api_key"].as_str().unwrap())
}

/// Registers `url`; returns (id, secret).
async fn register(client: &reqwest::Client, p: &Proc, url: &str) -> (String, String) {
    let res = client
        .post(p.url("/v1/webhooks"))
        .json(&json!({"url": url}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let b: Value = res.json().await.unwrap();
    let secret = b["secret"].as_str().unwrap().to_string();
    assert!(secret.starts_with("whsec_"), "{b}");
    // The secret is shown once: never again.
    let list: Value = client
        .get(p.url("/v1/webhooks"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!list.to_string().contains(&secret));
    (b["id"].as_str().unwrap().to_string(), secret)
}

async fn create(client: &reqwest::Client, p: &Proc, body: Value) -> String {
    let res = client
        .post(p.url("/v1/invoicerequests"))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let b: Value = res.json().await.unwrap();
    b["invreq_id"].as_str().unwrap().to_string()
}

fn body_of(r: &Received) -> Value {
    serde_json::from_str(&r.body).unwrap()
}

async fn get_json(client: &reqwest::Client, url: String) -> Value {
    client.get(url).send().await.unwrap().json().await.unwrap()
}

/// Every event of the tenant, paged through with `limit`.
async fn all_events(
    client: &reqwest::Client,
    p: &Proc,
    limit: u32,
    kind: Option<&str>,
) -> Vec<Value> {
    let mut out = Vec::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = format!("{}?limit={limit}", p.url("/v1/events"));
        if let Some(a) = &after {
            url.push_str(&format!("&after={a}"));
        }
        if let Some(k) = kind {
            url.push_str(&format!("&type={k}"));
        }
        let page = get_json(client, url).await;
        let events = page["events"].as_array().unwrap().clone();
        assert!(events.len() <= limit as usize);
        out.extend(events);
        if page["has_more"] != true {
            return out;
        }
        after = Some(page["next_after"].as_str().unwrap().to_string());
    }
}

fn double_args(double: &cln_double::ClnDouble, dir: &Path) -> Vec<String> {
    let ca = dir.join("cln-ca.pem");
    let rune = dir.join("cln.rune");
    std::fs::write(&ca, double.ca_pem()).unwrap();
    std::fs::write(&rune, double.rune()).unwrap();
    args(&[
        "--node",
        "cln-rest",
        "--cln-rest-url",
        &double.url(),
        "--cln-ca-cert",
        ca.to_str().unwrap(),
        "--cln-rune-file",
        rune.to_str().unwrap(),
        "--cln-wait-secs",
        "1",
    ])
}

// --- The tests ------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn created_payment_pending_paid_arrive_in_order_signed_with_the_payment() {
    invreqd::startup::init_crypto();
    let double = cln_double::ClnDouble::start(cln_double::DoubleOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut extra = double_args(&double, dir.path());
    extra.extend(args(&OPEN_DESTINATIONS));
    let client = make_key(dir.path(), None);
    let p = Proc::start(dir.path(), &extra).await;
    let (receiver, addr) = Receiver::start(Plan::default()).await;
    let (_, secret) = register(&client, &p, &format!("http://{addr}/hook")).await;

    let id = create(
        &client,
        &p,
        json!({"amount": "5000sat", "description": "payout"}),
    )
    .await;
    let got = receiver.wait_delivered(1, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 1, "created delivered");
    let pay = double.start_payment(&id, 5_000_000).unwrap();
    let got = receiver.wait_delivered(2, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 2, "payment_pending delivered");
    assert!(double.complete_payment(&pay.payment_hash));
    let got = receiver.wait_delivered(3, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 3, "paid delivered");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.all().len(), 3, "nothing more, nothing twice");

    let bodies: Vec<Value> = got.iter().map(body_of).collect();
    let types: Vec<&str> = bodies.iter().map(|b| b["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "invoicerequest.created",
            "invoicerequest.payment_pending",
            "invoicerequest.paid"
        ]
    );
    let statuses: Vec<&str> = bodies
        .iter()
        .map(|b| b["data"]["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["open", "paying", "paid"]);
    assert!(bodies.iter().all(|b| b["data"]["invreq_id"] == id.as_str()));
    assert!(
        bodies
            .iter()
            .all(|b| b["timestamp"].as_str().unwrap().ends_with('Z'))
    );
    let paid = &bodies[2]["data"];
    assert_eq!(paid["payment"]["payment_hash"], pay.payment_hash);
    assert_eq!(paid["payment"]["status"], "complete");
    assert_eq!(paid["payments"].as_array().unwrap().len(), 1);
    assert_eq!(bodies[1]["data"]["payment"]["status"], "pending");
    // `data` is the request as GET shows it: the last one equals GET now.
    let now = get_json(&client, p.url(&format!("/v1/invoicerequests/{id}"))).await;
    assert_eq!(paid, &now);
    // Ids sort like the events and are those of the event log.
    let ids: Vec<&str> = got.iter().map(|r| r.id.as_str()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
    let events = all_events(&client, &p, 100, None).await;
    let logged: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert_eq!(logged, ids);
    assert_eq!(events[2]["data"], *paid);
    assert_all_verify(&secret, &got);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_failing_three_times_gets_the_fourth_attempt() {
    let dir = tempfile::tempdir().unwrap();
    let mut extra = args(&OPEN_DESTINATIONS);
    extra.extend(args(&["--webhook-retry-schedule", "100ms,100ms,100ms"]));
    let client = make_key(dir.path(), None);
    let p = Proc::start(dir.path(), &extra).await;
    let (receiver, addr) = Receiver::start(Plan {
        fail_first: 3,
        ..Plan::default()
    })
    .await;
    let (hook, secret) = register(&client, &p, &format!("http://{addr}/hook")).await;
    let id = create(
        &client,
        &p,
        json!({"amount": 1000, "description": "retry me"}),
    )
    .await;

    let got = receiver.wait_delivered(1, Duration::from_secs(10)).await;
    assert_eq!(got.len(), 1);
    let all = receiver.all();
    assert_eq!(all.len(), 4, "three failures, then the fourth attempt");
    let answered: Vec<u16> = all.iter().map(|r| r.answered).collect();
    assert_eq!(answered, [503, 503, 503, 200]);
    assert!(
        all.iter().all(|r| r.id == all[0].id),
        "the same webhook-id on every attempt"
    );
    assert!(
        all.iter().all(|r| r.body == all[0].body),
        "the same body on every attempt"
    );
    assert_eq!(body_of(&all[3])["data"]["invreq_id"], id.as_str());
    assert_all_verify(&secret, &all);

    // The attempts, newest first, as the API shows them.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let d = get_json(&client, p.url(&format!("/v1/webhooks/{hook}/deliveries"))).await;
    let attempts = d["deliveries"].as_array().unwrap();
    let seen: Vec<(u64, &str, u64)> = attempts
        .iter()
        .map(|a| {
            (
                a["attempt"].as_u64().unwrap(),
                a["outcome"].as_str().unwrap(),
                a["status_code"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            (4, "delivered", 200),
            (3, "http_error", 503),
            (2, "http_error", 503),
            (1, "http_error", 503)
        ]
    );
    assert!(attempts.iter().all(|a| a["event_id"] == all[0].id.as_str()));
    let w = get_json(&client, p.url(&format!("/v1/webhooks/{hook}"))).await;
    assert_eq!(w["failing"], false);

    // A re-send of that event: delivered again, same webhook-id.
    let res = client
        .post(p.url(&format!("/v1/webhooks/{hook}/events/{}/resend", all[0].id)))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let got = receiver.wait_delivered(2, Duration::from_secs(5)).await;
    assert_eq!(got.len(), 2);
    assert_eq!(got[1].id, all[0].id);
    // And a test event, to this endpoint only.
    let res = client
        .post(p.url(&format!("/v1/webhooks/{hook}/test")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 202);
    let got = receiver.wait_delivered(3, Duration::from_secs(5)).await;
    assert_eq!(body_of(&got[2])["type"], "webhook.test");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_attempts_the_endpoint_is_failing_and_an_event_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let mut extra = args(&OPEN_DESTINATIONS);
    extra.extend(args(&["--webhook-retry-schedule", "50ms"]));
    let client = make_key(dir.path(), None);
    let p = Proc::start(dir.path(), &extra).await;
    let (receiver, addr) = Receiver::start(Plan {
        always_fail: true,
        ..Plan::default()
    })
    .await;
    let (hook, _) = register(&client, &p, &format!("http://{addr}/hook")).await;
    create(
        &client,
        &p,
        json!({"amount": 1000, "description": "nobody home"}),
    )
    .await;
    let all = receiver.wait_requests(2, Duration::from_secs(5)).await;
    assert_eq!(all.len(), 2, "the first attempt and one retry");
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut w = Value::Null;
    while Instant::now() < deadline {
        w = get_json(&client, p.url(&format!("/v1/webhooks/{hook}"))).await;
        if w["failing"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(w["failing"], true, "{w}");
    let failing = all_events(&client, &p, 10, Some("webhook_endpoint.failing")).await;
    assert_eq!(failing.len(), 1);
    assert_eq!(failing[0]["data"]["webhook_id"], hook.as_str());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.all().len(), 2, "no attempt after giving up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_destinations_are_refused_without_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let client = make_key(dir.path(), None);
    let p = Proc::start(dir.path(), &args(&["--webhook-allow-http"])).await;
    let (receiver, addr) = Receiver::start(Plan::default()).await;
    for url in [
        format!("http://{addr}/hook"),
        format!("http://[::1]:{}/hook", addr.port()),
        "http://169.254.169.254/latest".to_string(),
        "http://10.0.0.1/".to_string(),
    ] {
        let res = client
            .post(p.url("/v1/webhooks"))
            .json(&json!({"url": url}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{url}");
        let b: Value = res.json().await.unwrap();
        assert_eq!(b["code"], "invalid_field", "{b}");
        assert_eq!(b["field"], "url", "{b}");
    }
    // A name is checked where it resolves, at delivery: localhost is refused there.
    let (hook, _) = register(
        &client,
        &p,
        &format!("http://localhost:{}/hook", addr.port()),
    )
    .await;
    create(
        &client,
        &p,
        json!({"amount": 1000, "description": "inside"}),
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut attempts = Vec::new();
    while Instant::now() < deadline && attempts.is_empty() {
        let d = get_json(&client, p.url(&format!("/v1/webhooks/{hook}/deliveries"))).await;
        attempts = d["deliveries"].as_array().unwrap().clone();
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!attempts.is_empty(), "an attempt is recorded");
    assert_eq!(attempts[0]["outcome"], "refused", "{attempts:?}");
    assert!(receiver.all().is_empty(), "nothing reached the receiver");
    // https only without --webhook-allow-http.
    drop(p);
    let p = Proc::start(dir.path(), &[]).await;
    let res = client
        .post(p.url("/v1/webhooks"))
        .json(&json!({"url": "http://example.com/hook"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_event_log_pages_through_every_event_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let client = make_key(dir.path(), None);
    let p = Proc::start(dir.path(), &[]).await;
    let mut ids = Vec::new();
    for n in 0..30 {
        ids.push(
            create(
                &client,
                &p,
                json!({"amount": 1000 + n, "description": format!("n{n}")}),
            )
            .await,
        );
    }
    for id in ids.iter().step_by(3) {
        let res = client
            .delete(p.url(&format!("/v1/invoicerequests/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 200);
    }
    let events = all_events(&client, &p, 7, None).await;
    assert_eq!(events.len(), 40);
    let eids: Vec<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert!(eids.windows(2).all(|w| w[0] < w[1]), "in order");
    let created: Vec<&str> = events[..30]
        .iter()
        .map(|e| {
            assert_eq!(e["type"], "invoicerequest.created");
            e["data"]["invreq_id"].as_str().unwrap()
        })
        .collect();
    assert_eq!(created, ids.iter().map(String::as_str).collect::<Vec<_>>());
    let disabled = all_events(&client, &p, 4, Some("invoicerequest.disabled")).await;
    assert_eq!(disabled.len(), 10);
    assert!(
        disabled
            .iter()
            .all(|e| e["data"]["status"] == "disabled" && e["data"]["active"] == false)
    );
    assert!(events.iter().all(|e| e["tenant"] == "default"));
    // Past the end: empty, and `next_after` stays where it was.
    let last = eids.last().unwrap();
    let page = get_json(&client, format!("{}?after={last}", p.url("/v1/events"))).await;
    assert_eq!(page["events"].as_array().unwrap().len(), 0);
    assert_eq!(page["next_after"], *last);
    for bad in [
        "after=evt_zz",
        "type=invoicerequest.nope",
        "limit=0",
        "since=1",
    ] {
        let res = client
            .get(format!("{}?{bad}", p.url("/v1/events")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{bad}");
        let b: Value = res.json().await.unwrap();
        assert_eq!(b["code"], "invalid_parameter", "{b}");
    }
}

/// The (type, invreq_id) pairs of the tenant's events, in order.
async fn event_pairs(client: &reqwest::Client, p: &Proc) -> Vec<(String, String)> {
    all_events(client, p, 100, None)
        .await
        .iter()
        .map(|e| {
            (
                e["type"].as_str().unwrap().to_owned(),
                e["data"]["invreq_id"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn node_built_creates_emit_their_events_on_every_path() {
    // With the node building (`invoicerequest`), a create opens the record under the node's id
    // (a re-key): that move, and the one that follows a request the node already holds paid,
    // write their events like every other move.
    invreqd::startup::init_crypto();
    let double = cln_double::ClnDouble::start(cln_double::DoubleOptions::default())
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut extra = double_args(&double, dir.path());
    std::fs::write(
        dir.path().join("cln.rune"),
        double.rune_for(&cln_double::NODE_BUILT_METHODS),
    )
    .unwrap();
    extra.extend(args(&[
        "--cln-build-mode",
        "node",
        "--node-timeout-ms",
        "1500",
    ]));
    let client = make_key(dir.path(), None);
    let p = Proc::start(dir.path(), &extra).await;

    // A plain create: `created`, its data the request as GET shows it.
    let a = create(&client, &p, json!({"amount": 1000, "description": "a"})).await;
    let events = all_events(&client, &p, 100, None).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["type"], "invoicerequest.created");
    let shown = get_json(&client, p.url(&format!("/v1/invoicerequests/{a}"))).await;
    assert_eq!(events[0]["data"], shown);
    assert!(shown["bolt12"].as_str().unwrap().starts_with("lnr1"));

    // The node's answer is lost (504, the record pending under our own key). Before the
    // background settle finds it by its label, it is paid on the node: settling opens it under
    // the node's id (`created`) and follows the node to `paid` (`paid`).
    let before: HashSet<String> = double.invoice_requests().into_iter().map(|r| r.0).collect();
    double.drop_next("invoicerequest", 1);
    let res = client
        .post(p.url("/v1/invoicerequests"))
        .json(&json!({"amount": 2000, "description": "b"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 504);
    let b = double
        .invoice_requests()
        .into_iter()
        .map(|r| r.0)
        .find(|id| !before.contains(id))
        .expect("the node created it");
    let pay = double.start_payment(&b, 2000).unwrap();
    assert!(double.complete_payment(&pay.payment_hash));
    let deadline = Instant::now() + Duration::from_secs(15);
    let want_b = vec![
        ("invoicerequest.created".to_owned(), b.clone()),
        ("invoicerequest.paid".to_owned(), b.clone()),
    ];
    loop {
        let of_b: Vec<(String, String)> = event_pairs(&client, &p)
            .await
            .into_iter()
            .filter(|(_, id)| *id == b)
            .collect();
        if of_b == want_b {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "events of the re-keyed request: {of_b:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let shown = get_json(&client, p.url(&format!("/v1/invoicerequests/{b}"))).await;
    assert_eq!(shown["status"], "paid", "{shown}");

    // A disable: `disabled`. Nothing else was emitted, nothing twice.
    let res = client
        .delete(p.url(&format!("/v1/invoicerequests/{a}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let mut pairs = event_pairs(&client, &p).await;
    pairs.sort();
    let mut want = vec![
        ("invoicerequest.created".to_owned(), a.clone()),
        ("invoicerequest.disabled".to_owned(), a.clone()),
    ];
    want.extend(want_b);
    want.sort();
    assert_eq!(pairs, want);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_before_the_delivery_is_recorded_it_is_delivered_after_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut extra = args(&OPEN_DESTINATIONS);
    extra.extend(args(&["--webhook-timeout-ms", "1000"]));
    let client = make_key(dir.path(), None);
    let p = Proc::start(dir.path(), &extra).await;
    // The receiver holds the first two deliveries without answering: invreqd has sent them and
    // not recorded anything when it is killed.
    let (receiver, addr) = Receiver::start(Plan {
        hang_first: 2,
        ..Plan::default()
    })
    .await;
    let (_, secret) = register(&client, &p, &format!("http://{addr}/hook")).await;
    let a = create(&client, &p, json!({"amount": 1000, "description": "a"})).await;
    let b = create(&client, &p, json!({"amount": 1000, "description": "b"})).await;
    let held = receiver.wait_requests(2, Duration::from_secs(5)).await;
    assert_eq!(held.len(), 2);
    p.kill9();
    // A third change right after a restart, before anything is delivered: nothing is lost.
    let p = Proc::start(dir.path(), &extra).await;
    let c = create(&client, &p, json!({"amount": 1000, "description": "c"})).await;
    let got = receiver.wait_delivered(3, Duration::from_secs(15)).await;
    assert_eq!(got.len(), 3, "every event delivered after the restart");
    let delivered: HashMap<String, String> = got
        .iter()
        .map(|r| {
            (
                body_of(r)["data"]["invreq_id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                r.id.clone(),
            )
        })
        .collect();
    for id in [&a, &b, &c] {
        assert!(delivered.contains_key(id.as_str()), "{id} delivered");
    }
    // The re-sends carry the webhook-ids of the first sends.
    let held_ids: HashSet<&str> = held.iter().map(|r| r.id.as_str()).collect();
    assert!(held_ids.contains(delivered[&a].as_str()));
    assert!(held_ids.contains(delivered[&b].as_str()));
    assert_all_verify(&secret, &got);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_replicas_on_one_postgresql_deliver_500_events_once_each() {
    let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    invreqd::startup::init_crypto();
    let db = support::fresh_pg_database(&base).await;
    let dir = tempfile::tempdir().unwrap();
    let client = make_key(dir.path(), Some(&db));
    let mut extra = args(&OPEN_DESTINATIONS);
    extra.extend(args(&["--database-url", &db]));
    let replicas = [
        Proc::start(dir.path(), &extra).await,
        Proc::start(dir.path(), &extra).await,
    ];
    let (receiver, addr) = Receiver::start(Plan::default()).await;
    let (_, secret) = register(&client, &replicas[0], &format!("http://{addr}/hook")).await;

    let started = Instant::now();
    let creates = (0..500).map(|n| {
        let client = client.clone();
        let url = replicas[n % 2].url("/v1/invoicerequests");
        async move {
            let res = client
                .post(url)
                .json(&json!({"amount": 1000 + n, "description": format!("r{n}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), 201);
        }
    });
    use futures::StreamExt;
    futures::stream::iter(creates)
        .buffer_unordered(16)
        .collect::<Vec<()>>()
        .await;
    let got = receiver.wait_delivered(500, Duration::from_secs(60)).await;
    let elapsed = started.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = receiver.all();
    let events = all_events(&client, &replicas[1], 1000, None).await;
    assert_eq!(events.len(), 500);
    let logged: HashSet<&str> = events.iter().map(|e| e["id"].as_str().unwrap()).collect();
    let mut by_id: HashMap<&str, Vec<&Received>> = HashMap::new();
    for r in &all {
        by_id.entry(r.id.as_str()).or_default().push(r);
    }
    let delivered: HashSet<&str> = got.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(delivered, logged, "each event delivered, none lost");
    for (id, copies) in &by_id {
        assert!(logged.contains(id), "only logged events are delivered");
        assert!(
            copies.iter().all(|c| c.body == copies[0].body),
            "a duplicate is the same event"
        );
    }
    // Both replicas delivered (their counters), and together every post.
    let mut per_replica = Vec::new();
    for r in &replicas {
        let text = reqwest::get(r.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let n: f64 = text
            .lines()
            .find(|l| l.starts_with("webhook_deliveries_total{outcome=\"delivered\"}"))
            .and_then(|l| l.rsplit(' ').next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        per_replica.push(n as usize);
    }
    assert!(
        per_replica.iter().all(|n| *n > 0),
        "both replicas deliver: {per_replica:?}"
    );
    assert_eq!(
        per_replica.iter().sum::<usize>(),
        all.iter().filter(|r| r.answered == 200).count()
    );
    let duplicates = all.len() - by_id.len();
    eprintln!(
        "two replicas: 500 events delivered in {elapsed:?} ({} posts, {duplicates} duplicates, per replica {per_replica:?})",
        all.len()
    );
    assert_all_verify(&secret, &got[..20]);
}
