//! kill -9 during a burst of creates, against the real binary on 127.0.0.1 (issue 12): after a
//! restart every Idempotency-Key answers 201 within seconds with one id, no key is wedged, and
//! the store holds exactly one record per key — with the dev signer and in front of the CLN
//! double (whose creates are slowed so that many are in flight on the node at the kill).

mod support;

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const KEYS: usize = 500;

/// A running `invreqd` on a data directory the test keeps across restarts.
struct Proc {
    child: Child,
    addr: SocketAddr,
}

impl Proc {
    fn start(data: &Path, extra: &[String]) -> Proc {
        invreqd::startup::init_crypto();
        let mut child = Command::new(env!("CARGO_BIN_EXE_invreqd"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--rate-limit-per-sec",
                "0",
                "--data-dir",
            ])
            .arg(data)
            .args(extra)
            .env_clear()
            .env("RUST_LOG", "warn,invreqd=info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start invreqd");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["message"] == "listening"
                    && let Some(addr) = v["addr"].as_str().and_then(|a| a.parse().ok())
                {
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("invreqd logs its address");
        assert!(addr.ip().is_loopback());
        Proc { child, addr }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Reaps a child killed with SIGKILL (sends it again if it still runs).
    fn reap(mut self) {
        let _ = self.child.kill();
        self.child.wait().expect("reaped");
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn body(i: usize) -> Value {
    json!({"amount": 1000 + i, "description": format!("crash {i}"), "label": format!("crash-{i}")})
}

async fn post(client: &reqwest::Client, app: &Proc, i: usize) -> Result<(u16, Value), String> {
    let res = client
        .post(app.url("/v1/invoicerequests"))
        .header("idempotency-key", format!("key-{i}"))
        .json(&body(i))
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let status = res.status().as_u16();
    Ok((status, res.json().await.unwrap_or(Value::Null)))
}

async fn list_everything(client: &reqwest::Client, app: &Proc) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = "/v1/invoicerequests?limit=1000&include_failed=true".to_string();
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page: Value = client
            .get(app.url(&path))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        out.extend(page["invoicerequests"].as_array().unwrap().iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

/// Fires `KEYS` creates at once, kills the process after `kill_after` answers, restarts it and
/// replays every key. Returns the ids by key.
async fn crash_and_replay(
    data: &Path,
    extra: &[String],
    kill_after: usize,
) -> HashMap<usize, String> {
    invreqd::startup::init_crypto();
    let database_url = extra
        .iter()
        .position(|a| a == "--database-url")
        .map(|i| extra[i + 1].as_str());
    let key = support::make_key(data, database_url);
    let client = support::authed_client_builder(&key)
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    let app = Arc::new(Proc::start(data, extra));
    let answered = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for i in 0..KEYS {
        let (client, app, answered) = (client.clone(), app.clone(), answered.clone());
        tasks.push(tokio::spawn(async move {
            let r = post(&client, &app, i).await;
            answered.fetch_add(1, Ordering::SeqCst);
            r
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while answered.load(Ordering::SeqCst) < kill_after {
        assert!(Instant::now() < deadline, "the burst never got going");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    // The tasks hold clones of the handle; kill through a pid of our own child.
    let pid = app.child.id();
    // SAFETY: kill(2) on the pid of our own child, not reaped yet (its Proc is alive).
    assert_eq!(unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) }, 0);
    let mut first: HashMap<usize, (u16, Value)> = HashMap::new();
    for (i, t) in tasks.into_iter().enumerate() {
        if let Ok(r) = t.await.unwrap() {
            first.insert(i, r);
        }
    }
    Arc::into_inner(app).expect("the only handle").reap();
    let ok_before = first.values().filter(|(s, _)| *s == 201).count();
    // 503 (store busy under the burst, on a debug build) and 504 (node slower than the
    // timeout) are answers a client retries with the same key.
    for (i, (s, b)) in &first {
        assert!(
            matches!(s, 201 | 503 | 504),
            "key-{i} before the kill: {s} {b}"
        );
    }
    let busy = first.values().filter(|(s, _)| *s == 503).count();

    let app = Proc::start(data, extra);
    let started = Instant::now();
    let mut ids: HashMap<usize, String> = HashMap::new();
    let mut sem_tasks = Vec::new();
    let app = Arc::new(app);
    for chunk in (0..KEYS).collect::<Vec<_>>().chunks(50) {
        for &i in chunk {
            let (client, app) = (client.clone(), app.clone());
            sem_tasks.push(tokio::spawn(async move {
                let begun = Instant::now();
                loop {
                    let (s, b) = post(&client, &app, i).await.expect("replay sent");
                    if s == 201 {
                        return (i, b, begun.elapsed());
                    }
                    assert!(matches!(s, 409 | 503 | 504), "key-{i}: {s} {b}");
                    assert_ne!(b["code"], "idempotency_key_reused", "{b}");
                    assert!(
                        begun.elapsed() < Duration::from_secs(20),
                        "key-{i} wedged: {s} {b}"
                    );
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }));
        }
        for t in sem_tasks.drain(..) {
            let (i, b, _) = t.await.unwrap();
            assert_eq!(b["status"], "open", "{b}");
            let id = b["invreq_id"].as_str().unwrap().to_owned();
            if let Some((201, before)) = first.get(&i) {
                assert_eq!(before["invreq_id"], id.as_str(), "key-{i} changed its id");
            }
            ids.insert(i, id);
        }
    }
    let took = started.elapsed();
    let unique: HashSet<&String> = ids.values().collect();
    assert_eq!(unique.len(), KEYS, "one id per key, none shared");
    let records = list_everything(&client, &app).await;
    assert_eq!(records.len(), KEYS, "records == keys");
    let stored: HashSet<&str> = records
        .iter()
        .map(|r| r["invreq_id"].as_str().unwrap())
        .collect();
    assert_eq!(stored, unique.iter().map(|s| s.as_str()).collect());
    println!(
        "{KEYS} keys: {ok_before} answered 201 and {busy} 503 before the kill, {} had no answer; all {KEYS} replayed 201 in {took:?}",
        KEYS - first.len()
    );
    assert!(took < Duration::from_secs(30), "replays took {took:?}");
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_500_creates_then_every_key_answers_201_with_one_id_dev_signer() {
    let data = tempfile::tempdir().unwrap();
    crash_and_replay(data.path(), &[], 120).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_500_creates_then_every_key_answers_201_with_one_id_postgres() {
    let Ok(base) = std::env::var("TEST_DATABASE_URL") else {
        eprintln!("skipped: TEST_DATABASE_URL is not set");
        return;
    };
    let db = support::fresh_pg_database(&base).await;
    let data = tempfile::tempdir().unwrap();
    crash_and_replay(data.path(), &["--database-url".to_string(), db], 120).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_during_500_creates_then_every_key_answers_201_with_one_id_cln_double() {
    invreqd::startup::init_crypto();
    let double = cln_double::ClnDouble::start(cln_double::DoubleOptions::default())
        .await
        .expect("double starts");
    // Every create waits a moment on the node, so that many are in flight at the kill.
    double.delay_next("createinvoicerequest", KEYS, Duration::from_millis(300));
    let data = tempfile::tempdir().unwrap();
    let ca = data.path().join("cln-ca.pem");
    let rune = data.path().join("cln.rune");
    std::fs::write(&ca, double.ca_pem()).unwrap();
    std::fs::write(&rune, format!("{}\n", double.rune())).unwrap();
    let extra: Vec<String> = [
        "--node",
        "cln-rest",
        "--cln-rest-url",
        &double.url(),
        "--cln-rune-file",
        rune.to_str().unwrap(),
        "--cln-ca-cert",
        ca.to_str().unwrap(),
        "--node-timeout-ms",
        "3000",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let ids = crash_and_replay(data.path(), &extra, 120).await;
    double.settled().await;
    let held: HashMap<String, bool> = double
        .invoice_requests()
        .into_iter()
        .map(|r| (r.0, r.1))
        .collect();
    for id in ids.values() {
        assert_eq!(held.get(id), Some(&true), "{id} active on the node");
    }
    assert_eq!(held.len(), KEYS, "nothing on the node that no key reaches");
}
