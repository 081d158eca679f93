//! Operations, against the real binary on 127.0.0.1: graceful shutdown on SIGTERM with
//! requests in flight, `/metrics` as Prometheus text, request ids and JSON logs.

mod support;

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// A running `invreqd` process with its own data directory; its stderr (JSON logs) is kept.
struct Proc {
    child: Child,
    addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
    key: String,
    _data: tempfile::TempDir,
}

impl Proc {
    fn start(extra: &[&str]) -> Proc {
        // The test's reqwest clients need the process-wide rustls provider.
        invreqd::startup::init_crypto();
        let data = tempfile::tempdir().expect("temp dir");
        let key = support::make_key(data.path(), None);
        let mut child = Command::new(env!("CARGO_BIN_EXE_invreqd"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--log-format",
                "json",
                "--data-dir",
            ])
            .arg(data.path())
            .args(extra)
            .env_clear()
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start invreqd");
        let stderr = child.stderr.take().expect("stderr");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel::<SocketAddr>();
        let sink = logs.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Value>(&line)
                    && v["message"] == "listening"
                    && let Some(addr) = v["addr"].as_str().and_then(|a| a.parse().ok())
                {
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(30)) {
            Ok(addr) => addr,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "invreqd did not log its address; logs: {:?}",
                    logs.lock().unwrap()
                );
            }
        };
        assert!(addr.ip().is_loopback());
        Proc {
            child,
            addr,
            logs,
            key,
            _data: data,
        }
    }

    /// A client that sends this process's API key.
    fn client(&self) -> reqwest::Client {
        self.client_builder().build().unwrap()
    }

    fn client_builder(&self) -> reqwest::ClientBuilder {
        support::authed_client_builder(&self.key)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    fn sigterm(&self) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid");
        // SAFETY: kill(2) on the pid of our own child, which has not been reaped yet.
        let rc = unsafe { libc::kill(pid, libc::SIGTERM) };
        assert_eq!(rc, 0, "kill(SIGTERM)");
    }

    /// Waits for the process to exit.
    async fn wait_exit(&mut self, limit: Duration) -> ExitStatus {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "invreqd still running after {limit:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    /// Every log line is one JSON object, and none carries an `lnr1…` string.
    fn assert_clean_json_logs(&self) {
        // Give the reader thread a moment to drain the pipe.
        std::thread::sleep(Duration::from_millis(100));
        let logs = self.logs();
        assert!(!logs.is_empty());
        for line in &logs {
            let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert!(v.is_object(), "{line}");
            assert!(
                !line.to_lowercase().contains("lnr1"),
                "bolt12 in logs: {line}"
            );
        }
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

fn create_body(n: usize) -> Value {
    json!({"amount": format!("{}sat", 1000 + n), "description": format!("drain {n}")})
}

#[tokio::test]
async fn sigterm_with_requests_in_flight_drains_them_and_exits_zero() {
    let delay = Duration::from_secs(1);
    let mut app = Proc::start(&[
        "--shutdown-delay-secs",
        "1",
        "--drain-timeout-secs",
        "15",
        "--debug-request-delay-ms",
        "2500",
    ]);
    let client = app.client();
    assert_eq!(
        client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Requests that take 2.5 s each: in flight across the signal and the listener's close.
    let mut in_flight = Vec::new();
    for n in 0..8 {
        let client = client.clone();
        let url = app.url("/v1/invoicerequests");
        in_flight.push(tokio::spawn(async move {
            let res = client
                .post(url)
                .json(&create_body(n))
                .send()
                .await
                .expect("in-flight request answered");
            let status = res.status().as_u16();
            let body: Value = res.json().await.expect("json body");
            (status, body, Instant::now())
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    let signalled = Instant::now();
    app.sigterm();

    // During the shutdown delay, a new connection still gets answers, and /readyz says 503.
    let fresh = app
        .client_builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    let mut saw_503 = false;
    while signalled.elapsed() < delay {
        match fresh.get(app.url("/readyz")).send().await {
            Ok(res) if res.status() == 503 => {
                let body: Value = res.json().await.unwrap();
                assert_eq!(body["checks"]["draining"], true, "{body}");
                saw_503 = true;
                break;
            }
            Ok(res) => assert_eq!(res.status(), 200),
            Err(e) => panic!("readyz refused during the shutdown delay: {e}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(saw_503, "/readyz never answered 503 while draining");

    // Every in-flight request completes with its normal answer, after the listener closed.
    for (n, task) in in_flight.into_iter().enumerate() {
        let (status, body, done) = task.await.unwrap();
        assert_eq!(status, 201, "request {n}: {body}");
        assert!(
            body["bolt12"].as_str().unwrap().starts_with("lnr1"),
            "{body}"
        );
        assert_eq!(body["active"], true, "{body}");
        assert!(
            done.duration_since(signalled) > delay,
            "request {n} finished before the listener closed: it was not really in flight"
        );
    }

    // Meanwhile the listener is closed: new connections are refused.
    assert!(
        fresh.get(app.url("/healthz")).send().await.is_err(),
        "still accepting after the drain started"
    );

    let status = app.wait_exit(Duration::from_secs(20)).await;
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
    let logs = app.logs().join("\n");
    for step in [
        "shutdown: draining",
        "shutdown: listener closed",
        "shutdown complete",
    ] {
        assert!(logs.contains(step), "no {step:?} in the logs:\n{logs}");
    }
    assert!(!logs.contains("drain timeout passed"), "{logs}");
    app.assert_clean_json_logs();
}

#[tokio::test]
async fn drain_timeout_bounds_the_shutdown() {
    let mut app = Proc::start(&[
        "--shutdown-delay-secs",
        "0",
        "--drain-timeout-secs",
        "1",
        "--debug-request-delay-ms",
        "30000",
    ]);
    let client = app.client();
    let url = app.url("/v1/invoicerequests");
    let stuck = tokio::spawn(async move { client.post(url).json(&create_body(0)).send().await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let signalled = Instant::now();
    app.sigterm();
    let status = app.wait_exit(Duration::from_secs(15)).await;
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
    assert!(
        signalled.elapsed() < Duration::from_secs(10),
        "took {:?}",
        signalled.elapsed()
    );
    assert!(
        stuck.await.unwrap().is_err(),
        "a request longer than the drain timeout was cut"
    );
    assert!(app.logs().join("\n").contains("drain timeout passed"));
}

/// One sample of a Prometheus text exposition.
#[derive(Debug, Clone)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

/// Parses the Prometheus text format 0.0.4 strictly enough to reject anything malformed:
/// returns the samples and each family's declared type.
fn parse_prometheus(text: &str) -> (Vec<Sample>, HashMap<String, String>) {
    let mut samples = Vec::new();
    let mut types = HashMap::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let parts: Vec<&str> = rest.trim_start().splitn(3, ' ').collect();
            match parts.as_slice() {
                ["TYPE", name, kind] => {
                    assert!(
                        ["counter", "gauge", "histogram", "summary", "untyped"].contains(kind),
                        "bad type: {line}"
                    );
                    assert!(
                        types.insert(name.to_string(), kind.to_string()).is_none(),
                        "duplicate TYPE: {line}"
                    );
                }
                ["HELP", _, _] => {}
                _ => {}
            }
            continue;
        }
        let name_end = line
            .find(['{', ' '])
            .unwrap_or_else(|| panic!("no value: {line}"));
        let name = &line[..name_end];
        assert!(
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
                && !name.starts_with(|c: char| c.is_ascii_digit()),
            "bad metric name: {line}"
        );
        let mut rest = &line[name_end..];
        let mut labels = BTreeMap::new();
        if let Some(body) = rest.strip_prefix('{') {
            let mut chars = body.char_indices().peekable();
            let end;
            loop {
                let (i, c) = chars
                    .next()
                    .unwrap_or_else(|| panic!("open labels: {line}"));
                if c == '}' {
                    end = i;
                    break;
                }
                if c == ',' {
                    continue;
                }
                let mut key = String::from(c);
                loop {
                    let (_, c) = chars.next().expect("label name");
                    if c == '=' {
                        break;
                    }
                    key.push(c);
                }
                assert_eq!(chars.next().map(|x| x.1), Some('"'), "unquoted: {line}");
                let mut value = String::new();
                loop {
                    let (_, c) = chars.next().expect("label value");
                    match c {
                        '"' => break,
                        '\\' => match chars.next().expect("escape").1 {
                            'n' => value.push('\n'),
                            e @ ('\\' | '"') => value.push(e),
                            e => panic!("bad escape \\{e}: {line}"),
                        },
                        c => value.push(c),
                    }
                }
                assert!(labels.insert(key, value).is_none(), "dup label: {line}");
            }
            rest = &body[end + 1..];
        }
        let mut fields = rest.split_whitespace();
        let value = fields.next().unwrap_or_else(|| panic!("no value: {line}"));
        let value = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        if let Some(ts) = fields.next() {
            ts.parse::<i64>()
                .unwrap_or_else(|_| panic!("bad timestamp: {line}"));
        }
        assert!(fields.next().is_none(), "trailing: {line}");
        samples.push(Sample {
            name: name.to_string(),
            labels,
            value,
        });
    }
    // Every sample belongs to a declared family.
    for s in &samples {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suf| {
                s.name
                    .strip_suffix(suf)
                    .filter(|base| types.get(*base).is_some_and(|t| t == "histogram"))
            })
            .unwrap_or(&s.name);
        assert!(types.contains_key(family), "sample without TYPE: {s:?}");
    }
    (samples, types)
}

/// The value of the sample `name` whose labels include `labels` (0 when absent).
fn value(samples: &[Sample], name: &str, labels: &[(&str, &str)]) -> f64 {
    samples
        .iter()
        .filter(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .map(|s| s.value)
        .sum()
}

async fn scrape(client: &reqwest::Client, app: &Proc) -> (Vec<Sample>, HashMap<String, String>) {
    let res = client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
    parse_prometheus(&res.text().await.unwrap())
}

#[tokio::test]
async fn metrics_parse_as_prometheus_text_and_move() {
    let mut app = Proc::start(&["--shutdown-delay-secs", "0"]);
    let client = app.client();
    let (before, types) = scrape(&client, &app).await;
    for (family, kind) in [
        ("invoice_requests_created_total", "counter"),
        ("invoice_requests_disabled_total", "counter"),
        ("invoice_requests_paid_total", "counter"),
        ("node_call_errors_total", "counter"),
        ("outstanding_amount_msat", "gauge"),
        ("reconciler_backlog", "gauge"),
        ("claim_status_waiters", "gauge"),
        ("build_info", "gauge"),
    ] {
        assert_eq!(
            types.get(family).map(String::as_str),
            Some(kind),
            "{family}"
        );
    }
    assert_eq!(
        value(
            &before,
            "build_info",
            &[("version", env!("CARGO_PKG_VERSION"))]
        ),
        1.0
    );
    assert_eq!(value(&before, "outstanding_amount_msat", &[]), 0.0);
    assert_eq!(value(&before, "reconciler_backlog", &[]), 0.0);
    assert_eq!(value(&before, "claim_status_waiters", &[]), 0.0);

    // Two creates, one disable, reads, a 404 on an unknown route and one on an unknown id.
    let mut ids = Vec::new();
    for amount in [2_000_000u64, 5_000_000] {
        let res = client
            .post(app.url("/v1/invoicerequests"))
            .json(&json!({"amount": amount, "description": "metrics"}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
        let body: Value = res.json().await.unwrap();
        ids.push(body["invreq_id"].as_str().unwrap().to_string());
    }
    let res = client
        .delete(app.url(&format!("/v1/invoicerequests/{}", ids[0])))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client
        .get(app.url(&format!("/v1/invoicerequests/{}", ids[1])))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let res = client
        .get(app.url(&format!("/v1/invoicerequests/{}", "00".repeat(32))))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    let res = client.get(app.url("/no/such/route")).send().await.unwrap();
    assert_eq!(res.status(), 404);

    let (after, types) = scrape(&client, &app).await;
    assert_eq!(types["http_requests_total"], "counter");
    assert_eq!(types["http_request_duration_seconds"], "histogram");
    assert_eq!(types["node_call_duration_seconds"], "histogram");
    let delta = |name: &str, labels: &[(&str, &str)]| {
        value(&after, name, labels) - value(&before, name, labels)
    };
    let create = [
        ("route", "/v1/invoicerequests"),
        ("method", "POST"),
        ("status", "201"),
    ];
    assert_eq!(delta("http_requests_total", &create), 2.0);
    let one = "/v1/invoicerequests/{invreq_id}";
    assert_eq!(
        delta(
            "http_requests_total",
            &[("route", one), ("method", "DELETE"), ("status", "200")]
        ),
        1.0
    );
    assert_eq!(
        delta(
            "http_requests_total",
            &[("route", one), ("method", "GET"), ("status", "404")]
        ),
        1.0
    );
    assert_eq!(
        delta(
            "http_requests_total",
            &[("route", "unmatched"), ("status", "404")]
        ),
        1.0
    );
    // No raw path (with an id in it) ever becomes a label.
    assert!(
        after
            .iter()
            .all(|s| s.labels.values().all(|v| !v.contains(&ids[0]))),
        "raw path in labels"
    );
    assert_eq!(
        delta(
            "http_request_duration_seconds_count",
            &[("route", "/v1/invoicerequests"), ("method", "POST")]
        ),
        2.0
    );
    assert_eq!(
        value(
            &after,
            "http_request_duration_seconds_bucket",
            &[
                ("route", "/v1/invoicerequests"),
                ("method", "POST"),
                ("le", "+Inf")
            ]
        ),
        value(
            &after,
            "http_request_duration_seconds_count",
            &[("route", "/v1/invoicerequests"), ("method", "POST")]
        )
    );
    assert_eq!(delta("invoice_requests_created_total", &[]), 2.0);
    assert_eq!(delta("invoice_requests_disabled_total", &[]), 1.0);
    assert_eq!(delta("invoice_requests_paid_total", &[]), 0.0);
    assert_eq!(
        delta(
            "node_call_duration_seconds_count",
            &[("method", "sign_and_store")]
        ),
        2.0
    );
    assert_eq!(
        delta("node_call_duration_seconds_count", &[("method", "disable")]),
        1.0
    );
    assert_eq!(
        delta("node_call_errors_total", &[("method", "sign_and_store")]),
        0.0
    );
    // Only the second request (5 000 000 msat) is still active.
    assert_eq!(value(&after, "outstanding_amount_msat", &[]), 5_000_000.0);
    assert_eq!(value(&after, "reconciler_backlog", &[]), 0.0);

    app.sigterm();
    assert_eq!(app.wait_exit(Duration::from_secs(20)).await.code(), Some(0));
}

#[tokio::test]
async fn request_ids_are_propagated_or_generated_and_logged() {
    let app = Proc::start(&[]);
    let client = app.client();
    let res = client
        .post(app.url("/v1/invoicerequests"))
        .header("x-request-id", "ops-test-42")
        .json(&create_body(1))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["x-request-id"], "ops-test-42");

    let res = client.get(app.url("/healthz")).send().await.unwrap();
    let generated = res.headers()["x-request-id"].to_str().unwrap().to_string();
    assert_eq!(generated.len(), 36, "a UUID: {generated}");

    std::thread::sleep(Duration::from_millis(200));
    let spans: Vec<Value> = app
        .logs()
        .iter()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter(|v| v["message"] == "request finished")
        .map(|v| v["span"].clone())
        .collect();
    let create = spans
        .iter()
        .find(|s| s["request_id"] == "ops-test-42")
        .expect("a span for the request with our id");
    assert_eq!(create["route"], "/v1/invoicerequests");
    assert_eq!(create["method"], "POST");
    assert_eq!(create["status"], 201);
    assert!(create["latency_ms"].as_f64().is_some());
    assert!(
        spans
            .iter()
            .any(|s| s["request_id"] == generated.as_str() && s["route"] == "/healthz"),
        "generated id logged"
    );
    app.assert_clean_json_logs();
}
