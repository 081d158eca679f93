//! Several real invreqd processes on one PostgreSQL (runs when TEST_DATABASE_URL is set).

mod support;

use std::collections::{HashMap, HashSet};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Replica {
    child: Child,
    base: String,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn spawn_replica(db: &str, data_dir: &std::path::Path) -> Replica {
    spawn_replica_with(db, data_dir, &[])
}

fn spawn_replica_with(db: &str, data_dir: &std::path::Path, extra: &[String]) -> Replica {
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_invreqd"))
        .args(["--listen", &format!("127.0.0.1:{port}")])
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--database-url", db, "--log-format", "json"])
        .args(extra)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("binary starts");
    Replica {
        child,
        base: format!("http://127.0.0.1:{port}"),
    }
}

async fn wait_healthy(client: &reqwest::Client, r: &Replica) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(res) = client.get(format!("{}/healthz", r.base)).send().await
            && res.status() == 200
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("replica {} never became healthy", r.base);
}

async fn jobs_role(client: &reqwest::Client, r: &Replica) -> Option<String> {
    let res = client.get(format!("{}/readyz", r.base)).send().await.ok()?;
    let body: Value = res.json().await.ok()?;
    body["checks"]["jobs"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(no_test_database, ignore = "TEST_DATABASE_URL is not set")]
async fn three_replicas_share_one_database() {
    let base = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL is set");
    invreqd::startup::init_crypto();
    let db = support::fresh_pg_database(&base).await;
    let data = tempfile::tempdir().unwrap();
    let key = support::make_key(data.path(), Some(&db));
    // Started together: migrations run once under sqlx's advisory lock.
    let mut replicas: Vec<Replica> = (0..3).map(|_| spawn_replica(&db, data.path())).collect();
    let client = support::authed_client(&key);
    for r in &replicas {
        wait_healthy(&client, r).await;
    }

    // 300 creates: 200 new keys, and 100 retries of an earlier key sent to another replica.
    let mut first: HashMap<String, (usize, Value)> = HashMap::new();
    let mut retries = 0;
    for i in 0..300usize {
        let (key, replica) = if i % 3 == 2 {
            let k = format!("key-{}", i - 1);
            let (used_by, _) = first[&k];
            (k, (used_by + 1) % 3)
        } else {
            (format!("key-{i}"), i % 3)
        };
        let n: usize = key[4..].parse().unwrap();
        let body = json!({"amount": 1000 + n, "description": format!("payout {n}"), "label": key});
        let res = client
            .post(format!("{}/v1/invoicerequests", replicas[replica].base))
            .header("idempotency-key", &key)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "create {i} on replica {replica}");
        let got: Value = res.json().await.unwrap();
        match first.get(&key) {
            Some((_, original)) => {
                assert_eq!(&got, original, "a retry returns the first response");
                retries += 1;
            }
            None => {
                first.insert(key, (replica, got));
            }
        }
    }
    assert_eq!(retries, 100);

    // Exactly the expected records, no invreq_id twice, the same view from every replica.
    let mut ids = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let url = match &cursor {
            Some(c) => format!(
                "{}/v1/invoicerequests?limit=1000&cursor={c}",
                replicas[1].base
            ),
            None => format!("{}/v1/invoicerequests?limit=1000", replicas[1].base),
        };
        let page: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        for r in page["invoicerequests"].as_array().unwrap() {
            assert!(
                ids.insert(r["invreq_id"].as_str().unwrap().to_string()),
                "duplicate id"
            );
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
    }
    assert_eq!(ids.len(), 200);
    let expected: HashSet<String> = first
        .values()
        .map(|(_, v)| v["invreq_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids, expected);

    // Exactly one replica runs the background jobs; SIGKILL it and another takes over.
    let mut leaders = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    while leaders.len() != 1 && Instant::now() < deadline {
        leaders.clear();
        for (i, r) in replicas.iter().enumerate() {
            if jobs_role(&client, r).await.as_deref() == Some("leader") {
                leaders.push(i);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(leaders.len(), 1, "one leader");
    let dead = leaders[0];
    replicas[dead].child.kill().unwrap(); // SIGKILL
    replicas[dead].child.wait().unwrap();
    let killed_at = Instant::now();
    let survivors: Vec<usize> = (0..3).filter(|i| *i != dead).collect();
    let mut new_leader = None;
    while new_leader.is_none() && killed_at.elapsed() < Duration::from_secs(15) {
        for &i in &survivors {
            if jobs_role(&client, &replicas[i]).await.as_deref() == Some("leader") {
                new_leader = Some(i);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let new_leader = new_leader.expect("a survivor takes over the background jobs");
    eprintln!(
        "replica {new_leader} took over {:?} after the leader was killed",
        killed_at.elapsed()
    );
    // Everything is still there through a survivor.
    let some_id = expected.iter().next().unwrap();
    let res = client
        .get(format!(
            "{}/v1/invoicerequests/{some_id}",
            replicas[survivors[0]].base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    drop(replicas.drain(..));
}

/// A TCP proxy in front of PostgreSQL that the test can cut and restore.
struct Proxy {
    port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    conns: std::sync::Arc<std::sync::Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let conns = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let (up2, conns2) = (up.clone(), conns.clone());
        tokio::spawn(async move {
            loop {
                let Ok((mut inbound, _)) = listener.accept().await else {
                    return;
                };
                if !up2.load(Ordering::SeqCst) {
                    continue; // dropped: connection refused-ish
                }
                let upstream = upstream.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut out) = tokio::net::TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                conns2.lock().unwrap().push(task.abort_handle());
            }
        });
        Self { port, up, conns }
    }

    fn cut(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        for c in self.conns.lock().unwrap().drain(..) {
            c.abort();
        }
    }

    fn restore(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(no_test_database, ignore = "TEST_DATABASE_URL is not set")]
async fn a_lost_database_gives_503_and_the_service_recovers() {
    let base = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL is set");
    invreqd::startup::init_crypto();
    let db = support::fresh_pg_database(&base).await;
    let authority = db
        .split('@')
        .nth(1)
        .unwrap()
        .split('/')
        .next()
        .unwrap()
        .to_string();
    let proxy = Proxy::start(authority.clone()).await;
    let via_proxy = db.replace(&authority, &format!("127.0.0.1:{}", proxy.port));
    let data = tempfile::tempdir().unwrap();
    let mut args = invreqd::config::ServeArgs::for_tests(data.path().to_path_buf());
    args.database_url = Some(via_proxy);
    args.db_acquire_timeout_secs = 1;
    let app = invreqd::startup::Application::build(&args).await.unwrap();
    let url = format!("http://{}", app.local_addr());
    tokio::spawn(app.run_until(std::future::pending()));
    let admin = std::fs::read_to_string(data.path().join("bootstrap-admin.key")).unwrap();
    let created: Value = support::authed_client(admin.trim())
        .post(format!("{url}/v1/keys"))
        .json(&json!({"name": "outage", "tenant": "default",
            "scopes": ["invoicerequests:read", "invoicerequests:write"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let client = support::authed_client(created["api_key"].as_str().unwrap());
    let create = || {
        client
            .post(format!("{url}/v1/invoicerequests"))
            .json(&json!({"amount": 1000, "description": "outage"}))
            .send()
    };
    assert_eq!(create().await.unwrap().status(), 201);

    proxy.cut();
    let res = create().await.unwrap();
    assert_eq!(res.status(), 503);
    let problem: Value = res.json().await.unwrap();
    assert_eq!(problem["code"], "store_unavailable", "{problem}");
    let res = client
        .get(format!("{url}/v1/invoicerequests"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    let ready = client.get(format!("{url}/readyz")).send().await.unwrap();
    assert_eq!(ready.status(), 503);

    proxy.restore();
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let ready = client.get(format!("{url}/readyz")).send().await.unwrap();
        if ready.status() == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "service recovers by itself");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(create().await.unwrap().status(), 201);
    let list: Value = client
        .get(format!("{url}/v1/invoicerequests"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list["invoicerequests"].as_array().unwrap().len(),
        2,
        "nothing half-written"
    );
}

async fn leader_of(
    client: &reqwest::Client,
    replicas: &[Replica],
    skip: Option<usize>,
) -> Option<usize> {
    let deadline = Instant::now() + Duration::from_secs(15);
    while Instant::now() < deadline {
        for (i, r) in replicas.iter().enumerate() {
            if Some(i) != skip && jobs_role(client, r).await.as_deref() == Some("leader") {
                return Some(i);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

async fn wait_status(
    client: &reqwest::Client,
    base: &str,
    id: &str,
    want: &str,
    limit: Duration,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let body: Value = client
            .get(format!("{base}/v1/invoicerequests/{id}"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if body["status"] == want || Instant::now() > deadline {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// SIGKILL of the replica that runs the background jobs, with pending records and a payment
/// to follow: a survivor takes over, settles the pending records and records the payment.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
#[cfg_attr(no_test_database, ignore = "TEST_DATABASE_URL is not set")]
async fn killing_the_leader_mid_run_loses_nothing() {
    let base = std::env::var("TEST_DATABASE_URL").expect("TEST_DATABASE_URL is set");
    invreqd::startup::init_crypto();
    let double = cln_double::ClnDouble::start(cln_double::DoubleOptions::default())
        .await
        .unwrap();
    let db = support::fresh_pg_database(&base).await;
    let data = tempfile::tempdir().unwrap();
    let ca = data.path().join("cln-ca.pem");
    let rune = data.path().join("cln.rune");
    std::fs::write(&ca, double.ca_pem()).unwrap();
    std::fs::write(&rune, double.rune()).unwrap();
    let key = support::make_key(data.path(), Some(&db));
    let extra: Vec<String> = [
        "--node",
        "cln-rest",
        "--cln-rest-url",
        &double.url(),
        "--cln-ca-cert",
        ca.to_str().unwrap(),
        "--cln-rune-file",
        rune.to_str().unwrap(),
        "--node-timeout-ms",
        "400",
        "--reconcile-interval-secs",
        "1",
        "--cln-wait-secs",
        "1",
        "--rate-limit-per-sec",
        "0",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let mut replicas: Vec<Replica> = (0..3)
        .map(|_| spawn_replica_with(&db, data.path(), &extra))
        .collect();
    let client = support::authed_client(&key);
    for r in &replicas {
        wait_healthy(&client, r).await;
    }
    let leader = leader_of(&client, &replicas, None).await.expect("a leader");
    let others: Vec<usize> = (0..3).filter(|i| *i != leader).collect();

    // Three creates answered normally, then five whose answers the node drops after storing.
    let create = |i: usize, n: usize| {
        client
            .post(format!("{}/v1/invoicerequests", replicas[i].base))
            .json(&json!({"amount": 5000 + n, "description": format!("failover {n}")}))
            .send()
    };
    let mut open = Vec::new();
    for n in 0..3 {
        let res = create(others[n % 2], n).await.unwrap();
        assert_eq!(res.status(), 201);
        let b: Value = res.json().await.unwrap();
        open.push(b["invreq_id"].as_str().unwrap().to_string());
    }
    double.drop_next("createinvoicerequest", 5);
    let mut pending = Vec::new();
    for n in 3..8 {
        let res = create(others[n % 2], n).await.unwrap();
        assert_eq!(res.status(), 504, "answer dropped: pending");
        let p: Value = res.json().await.unwrap();
        pending.push(p["invreq_id"].as_str().unwrap().to_string());
    }

    // Kill the leader before it could settle them (they are younger than its reconcile age).
    replicas[leader].child.kill().unwrap();
    replicas[leader].child.wait().unwrap();
    let new_leader = leader_of(&client, &replicas, Some(leader))
        .await
        .expect("a survivor leads");
    let survivor = &replicas[new_leader].base;

    for id in &pending {
        let b = wait_status(&client, survivor, id, "open", Duration::from_secs(20)).await;
        assert_eq!(
            b["status"], "open",
            "pending record settled by the new leader: {b}"
        );
        assert!(b["bolt12"].as_str().unwrap().starts_with("lnr1"));
    }
    // The new leader follows payments.
    let paid_id = &open[0];
    double.simulate_payment(paid_id, 5000).unwrap();
    let b = wait_status(&client, survivor, paid_id, "paid", Duration::from_secs(5)).await;
    assert_eq!(b["status"], "paid", "{b}");
    assert_eq!(b["payment"]["status"], "complete");
    // Node and store agree: the same eight requests, each once.
    let on_node: HashSet<String> = double.invoice_requests().into_iter().map(|r| r.0).collect();
    let in_store: HashSet<String> = open.iter().chain(&pending).cloned().collect();
    assert_eq!(on_node, in_store);
    drop(replicas.drain(..));
}
