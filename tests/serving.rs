//! The server's edges, on 127.0.0.1: HTTPS with a certificate rotated while it runs, the
//! connection cap and the header/body timeouts against idle and slow clients, header limits
//! answered as problem+json 431, and private file modes on a fresh start (the real binary).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use invreqd::config::ServeArgs;
use invreqd::startup::{Application, init_crypto};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// An in-process app; stops when dropped (the runtime ends with the test).
struct App {
    addr: SocketAddr,
    admin_key: String,
    _data: tempfile::TempDir,
    _stop: tokio::sync::oneshot::Sender<()>,
}

async fn start(tweak: impl FnOnce(&mut ServeArgs)) -> App {
    init_crypto();
    let data = tempfile::tempdir().unwrap();
    let mut args = ServeArgs::for_tests(data.path().to_path_buf());
    tweak(&mut args);
    let app = Application::build(&args).await.expect("app builds");
    let addr = app.local_addr();
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        app.run_until(async {
            let _ = rx.await;
        })
        .await
        .expect("app runs");
    });
    let admin_key = std::fs::read_to_string(data.path().join("bootstrap-admin.key"))
        .unwrap()
        .trim()
        .to_owned();
    App {
        addr,
        admin_key,
        _data: data,
        _stop: tx,
    }
}

// ---- HTTPS ------------------------------------------------------------------------------------

/// A self-signed certificate for `localhost`: (certificate PEM, key PEM).
fn self_signed() -> (String, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    (ck.cert.pem(), ck.signing_key.serialize_pem())
}

/// Replaces a file the way a renewal does: a new file renamed over the old one.
fn replace(path: &Path, contents: &str) {
    let tmp = path.with_extension("new");
    std::fs::write(&tmp, contents).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// A client that trusts only `cert_pem` and reaches `localhost` at `addr`.
fn tls_client(cert_pem: &str, addr: SocketAddr, http1_only: bool) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(cert_pem.as_bytes()).unwrap()])
        .resolve("localhost", addr)
        .timeout(Duration::from_secs(10));
    if http1_only {
        b = b.http1_only();
    }
    b.build().unwrap()
}

async fn make_write_key(client: &reqwest::Client, base: &str, admin: &str) -> String {
    let res = client
        .post(format!("{base}/v1/keys"))
        .bearer_auth(admin)
        .json(&json!({"name": "writer", "tenant": "default",
                      "scopes": ["invoicerequests:read", "invoicerequests:write"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    body["api_key"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn https_serves_h2_and_http1_and_follows_a_certificate_rotation() {
    let files = tempfile::tempdir().unwrap();
    let (cert_path, key_path) = (files.path().join("tls.crt"), files.path().join("tls.key"));
    let (cert_a, key_a) = self_signed();
    std::fs::write(&cert_path, &cert_a).unwrap();
    std::fs::write(&key_path, &key_a).unwrap();
    let app = start(|a| {
        a.tls_cert = Some(cert_path.clone());
        a.tls_key = Some(key_path.clone());
        a.tls_reload_interval_ms = 100;
    })
    .await;
    let base = format!("https://localhost:{}", app.addr.port());

    // Before: HTTP/2 by ALPN, and HTTP/1.1 for clients that only speak it.
    let a = tls_client(&cert_a, app.addr, false);
    let health = a.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.version(), reqwest::Version::HTTP_2);
    let a1 = tls_client(&cert_a, app.addr, true);
    let health = a1.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.version(), reqwest::Version::HTTP_11);
    // Plain HTTP on the HTTPS port is no way in.
    assert!(
        reqwest::Client::new()
            .get(format!("http://{}/healthz", app.addr))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .is_err()
    );

    let key = make_write_key(&a, &base, &app.admin_key).await;
    let created = a
        .post(format!("{base}/v1/invoicerequests"))
        .bearer_auth(&key)
        .json(&json!({"amount": "1000sat", "description": "before rotation"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.unwrap();
    let id = created["invreq_id"].as_str().unwrap().to_owned();

    // Rotation: key first, then certificate, each replaced by rename (as a renewal would).
    let (cert_b, key_b) = self_signed();
    replace(&key_path, &key_b);
    replace(&cert_path, &cert_b);
    let b = tls_client(&cert_b, app.addr, false);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match b.get(format!("{base}/healthz")).send().await {
            Ok(res) if res.status() == 200 => break,
            other => {
                assert!(
                    Instant::now() < deadline,
                    "the new certificate was not served within 10 s: {other:?}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
    // After: a fresh client that trusts only the old certificate is refused...
    let stale = tls_client(&cert_a, app.addr, false)
        .get(format!("{base}/healthz"))
        .send()
        .await;
    assert!(stale.is_err(), "the old certificate is still served");
    // ...and the request made before the rotation is there, and a new one can be made.
    let got = b
        .get(format!("{base}/v1/invoicerequests/{id}"))
        .bearer_auth(&key)
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), 200);
    let got: Value = got.json().await.unwrap();
    assert_eq!(got["bolt12"], created["bolt12"]);
    let again = b
        .post(format!("{base}/v1/invoicerequests"))
        .bearer_auth(&key)
        .json(&json!({"amount": "2000sat", "description": "after rotation"}))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 201);

    // A broken pair (a key that does not fit) is not taken: the current certificate stays.
    let (_, key_c) = self_signed();
    replace(&key_path, &key_c);
    tokio::time::sleep(Duration::from_millis(400)).await;
    let still = tls_client(&cert_b, app.addr, false)
        .get(format!("{base}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200);
}

#[tokio::test]
async fn a_key_that_does_not_fit_the_certificate_stops_the_start() {
    init_crypto();
    let files = tempfile::tempdir().unwrap();
    let (cert, _) = self_signed();
    let (_, other_key) = self_signed();
    std::fs::write(files.path().join("c.pem"), cert).unwrap();
    std::fs::write(files.path().join("k.pem"), other_key).unwrap();
    let data = tempfile::tempdir().unwrap();
    let mut args = ServeArgs::for_tests(data.path().to_path_buf());
    args.tls_cert = Some(files.path().join("c.pem"));
    args.tls_key = Some(files.path().join("k.pem"));
    let err = Application::build(&args).await.err().expect("refused");
    assert!(err.to_string().contains("does not fit"), "{err}");
}

// ---- Connection limits and timeouts -----------------------------------------------------------

/// Reads until the peer closes; `Err` if it is still open after `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> Result<(), ()> {
    let mut buf = [0u8; 1024];
    tokio::time::timeout(within, async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    })
    .await
    .map_err(|_| ())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_beyond_the_cap_do_not_lock_out_a_normal_client() {
    const CAP: usize = 20;
    const IDLE: usize = 60;
    let app = start(|a| {
        a.max_connections = CAP;
        a.header_read_timeout_secs = 1;
    })
    .await;
    let mut idle = Vec::new();
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(app.addr).await.unwrap());
    }
    // Three times the cap, idle: a normal client still gets its answer, once the header-read
    // timeout has freed slots (it waits its turn in the accept queue: proof of the cap).
    let started = Instant::now();
    let res = reqwest::Client::new()
        .get(format!("http://{}/healthz", app.addr))
        .timeout(Duration::from_secs(15))
        .send()
        .await
        .expect("a normal client is served");
    let waited = started.elapsed();
    assert_eq!(res.status(), 200);
    println!("served after {waited:?} behind {IDLE} idle connections (cap {CAP})");
    assert!(
        waited >= Duration::from_millis(500),
        "answered in {waited:?}: the cap of {CAP} did not hold back {IDLE} idle connections"
    );
    // Every idle connection is closed by the server, none left open.
    for (i, s) in idle.iter_mut().enumerate() {
        assert!(
            closed_within(s, Duration::from_secs(10)).await.is_ok(),
            "idle connection {i} still open"
        );
    }
}

#[tokio::test]
async fn slow_header_and_idle_keep_alive_connections_are_closed_after_the_timeout() {
    let app = start(|a| a.header_read_timeout_secs = 1).await;
    // Headers started but never finished.
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: 1")
        .await
        .unwrap();
    let started = Instant::now();
    closed_within(&mut slow, Duration::from_secs(5))
        .await
        .expect("a slow-header connection is closed");
    let after = started.elapsed();
    assert!(
        after >= Duration::from_millis(800),
        "closed after {after:?}, before the timeout"
    );
    // A keep-alive connection that served a request, then went quiet.
    let mut kept = TcpStream::connect(app.addr).await.unwrap();
    kept.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        .await
        .unwrap();
    let mut buf = vec![0u8; 4096];
    let n = kept.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    closed_within(&mut kept, Duration::from_secs(5))
        .await
        .expect("an idle keep-alive connection is closed");
}

#[tokio::test]
async fn a_body_shorter_than_its_content_length_is_a_400_after_the_body_timeout() {
    let app = start(|a| a.body_read_timeout_secs = 1).await;
    let mut s = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /v1/keys HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"name\":",
        app.admin_key
    );
    s.write_all(head.as_bytes()).await.unwrap();
    let started = Instant::now();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer))
        .await
        .expect("answered before the 10 s bound")
        .ok();
    let took = started.elapsed();
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("application/problem+json"), "{answer}");
    assert!(answer.contains("\"code\":\"invalid_body\""), "{answer}");
    assert!(
        took >= Duration::from_millis(800),
        "answered after {took:?}"
    );
}

#[tokio::test]
async fn too_many_or_too_large_headers_get_a_problem_431() {
    let app = start(|_| {}).await;
    let client = reqwest::Client::new();
    let url = format!("http://{}/healthz", app.addr);
    let mut many = client.get(&url);
    for i in 0..150 {
        many = many.header(format!("x-h{i}"), "v");
    }
    let large = client.get(&url).header("x-large", "a".repeat(20 * 1024));
    for req in [many, large] {
        let res = req.send().await.unwrap();
        assert_eq!(res.status(), 431);
        assert_eq!(
            res.headers()["content-type"].to_str().unwrap(),
            "application/problem+json"
        );
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["code"], "request_headers_too_large");
    }
    // Within the limits: served.
    assert_eq!(
        client
            .get(&url)
            .header("x-fine", "a".repeat(4 * 1024))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}

// ---- File modes (the real binary: umask is process-wide) --------------------------------------

/// Starts the binary on `data_dir`, stops it once it logs `listening`; returns its log lines.
fn start_and_stop_binary(data_dir: &Path) -> Vec<String> {
    let mut child = Command::new(env!("CARGO_BIN_EXE_invreqd"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--log-format",
            "json",
            "--data-dir",
        ])
        .arg(data_dir)
        .env_clear()
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start invreqd");
    let lines = read_until_listening(&mut child);
    let _ = child.kill();
    let _ = child.wait();
    lines.unwrap_or_else(|lines| panic!("invreqd did not start: {lines:?}"))
}

/// The log lines up to `listening` (`Err` with those read when it never comes).
fn read_until_listening(child: &mut Child) -> Result<Vec<String>, Vec<String>> {
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stderr.take().unwrap());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 || Instant::now() > deadline {
            return Err(lines);
        }
        let listening =
            serde_json::from_str::<Value>(&line).is_ok_and(|v| v["message"] == "listening");
        lines.push(line);
        if listening {
            return Ok(lines);
        }
    }
}

#[cfg(unix)]
#[test]
fn a_fresh_start_makes_the_data_directory_0700_and_the_database_files_0600() {
    use std::os::unix::fs::PermissionsExt;
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data = root.path().join("fresh").join("data");
    let logs = start_and_stop_binary(&data);
    assert_eq!(mode(&data), 0o700, "data directory");
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&data).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        assert_eq!(mode(&entry.path()), 0o600, "{name}");
        names.push(name);
    }
    assert!(names.iter().any(|n| n == "invreqd.db"), "{names:?}");
    assert!(names.iter().any(|n| n == "invreqd.db-wal"), "{names:?}");
    assert!(!logs.iter().any(|l| l.contains("chmod 700")), "{logs:?}");

    // An existing directory others can read: served, with a warning.
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o755)).unwrap();
    let logs = start_and_stop_binary(&data);
    assert!(
        logs.iter()
            .any(|l| l.contains("WARN") && l.contains("chmod 700")),
        "{logs:?}"
    );
}
