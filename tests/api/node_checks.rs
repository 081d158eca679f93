//! What the operator is told: a rune that cannot follow payments stops the start, `/readyz`
//! reports the payment watcher, no problem a client sees names the node's URL or host, and a
//! stopped service closes its database.

use std::time::{Duration, Instant};

use invreqd::startup::Application;
use serde_json::{Value, json};

use crate::cln_support::{cln_args, spawn_cln_app_with, start_double};
use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn a_rune_without_wait_stops_the_start_naming_it() {
    let double = start_double().await;
    let dir = tempfile::tempdir().unwrap();
    let args = cln_args(&double, dir.path());
    let without_wait: Vec<&str> = cln_double::LEAST_PRIVILEGE_METHODS
        .iter()
        .copied()
        .filter(|m| *m != "wait")
        .collect();
    std::fs::write(
        args.cln_rune_file.as_ref().unwrap(),
        double.rune_for(&without_wait),
    )
    .unwrap();
    let err = match Application::build(&args).await {
        Ok(_) => panic!("started with a rune that cannot wait"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("does not allow: wait."), "{err}");
    assert!(
        !err.contains(&double.rune_for(&without_wait)),
        "no rune text: {err}"
    );

    // Without listsendpays and wait (the rune of notes/cln-e2e.md F6): both named.
    std::fs::write(
        args.cln_rune_file.as_ref().unwrap(),
        double.rune_for(&without_wait[..4]),
    )
    .unwrap();
    let err = format!("{:#}", Application::build(&args).await.err().unwrap());
    assert!(err.contains("does not allow: listsendpays, wait."), "{err}");
}

async fn readyz(app: &crate::helpers::TestApp) -> (u16, Value) {
    let res = app.anon.get(app.url("/readyz")).send().await.unwrap();
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn readyz_reports_a_payment_watcher_that_cannot_read() {
    let double = start_double().await;
    let app = spawn_cln_app_with(&double, |a| a.cln_wait_secs = 1).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, b) = readyz(&app).await;
        if b["checks"]["payments"] == "ok" {
            assert_eq!(status, 200);
            break;
        }
        assert!(Instant::now() < deadline, "{b}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    double.fail_next(
        "listsendpays",
        1_000_000,
        1502,
        "Not permitted: method is not equal to getinfo",
    );
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (status, b) = readyz(&app).await;
        if b["checks"]["payments"] == "error" {
            assert_eq!(status, 503, "{b}");
            assert_eq!(b["checks"]["node"], "ok");
            break;
        }
        assert!(Instant::now() < deadline, "{b}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    double.clear_faults();
    let deadline = Instant::now() + Duration::from_secs(6);
    while readyz(&app).await.0 != 200 {
        assert!(Instant::now() < deadline, "ready again");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn no_problem_names_the_nodes_url_host_or_rune() {
    let double = start_double().await;
    let app = spawn_cln_app_with(&double, |_| {}).await;
    let rune = std::fs::read_to_string(app.data_dir.path().join("cln.rune")).unwrap();
    let port = double.addr().port().to_string();
    let clean = |p: &Value| {
        let text = p.to_string();
        for secret in [
            "localhost",
            "https://",
            "127.0.0.1",
            port.as_str(),
            rune.trim(),
        ] {
            assert!(!text.contains(secret), "{secret:?} in {text}");
        }
    };
    double.go_down().await;
    let p = assert_problem(
        app.create(&json!({"amount": 1000, "description": "down"}))
            .await,
        503,
        "node_unavailable",
    )
    .await;
    clean(&p);
    let (_, r) = readyz(&app).await;
    clean(&r);
    double.come_back().await.unwrap();
    double.fail_next(
        "createinvoicerequest",
        1,
        -1,
        "internal failure at https://localhost:3010",
    );
    let p = assert_problem(
        app.create(&json!({"amount": 1000, "description": "odd"}))
            .await,
        502,
        "node_error",
    )
    .await;
    clean(&p);
    double.refuse_runes(true);
    let p = assert_problem(
        app.create(&json!({"amount": 1000, "description": "refused"}))
            .await,
        502,
        "node_credentials_refused",
    )
    .await;
    clean(&p);
}

#[tokio::test]
async fn a_stopped_service_closes_its_sqlite_database() {
    let app = spawn_app().await;
    app.create_ok(&json!({"amount": 1000, "description": "wal"}))
        .await;
    let wal = app.data_dir.path().join("invreqd.db-wal");
    assert!(wal.exists(), "WAL mode while running");
    let dir = app.stop().await;
    let wal = dir.path().join("invreqd.db-wal");
    assert!(
        !wal.exists(),
        "the WAL was checkpointed and removed at shutdown"
    );
}
