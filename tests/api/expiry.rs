//! Expiry against the CLN double, which (like Core Lightning) never enforces it itself.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cln_support::{
    RUNE_PROBES, spawn_cln_app, spawn_cln_app_with, start_double, use_double,
};
use crate::helpers::{TestApp, start};

fn node_state(double: &cln_double::ClnDouble, id: &str) -> (bool, bool) {
    let (_, active, used, _) = double
        .invoice_requests()
        .into_iter()
        .find(|r| r.0 == id)
        .expect("the node holds it");
    (active, used)
}

async fn get(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/v1/invoicerequests/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

async fn wait_until(limit: Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    check()
}

#[tokio::test]
async fn an_expired_request_is_disabled_on_the_node_and_cannot_be_paid() {
    let double = start_double().await;
    let app = spawn_cln_app(&double).await;
    let expiry = invreqd::service::unix_now() + 2;
    let b = app
        .create_ok(&json!({"amount": 2000, "description": "voucher", "absolute_expiry": expiry}))
        .await;
    let id = b["invreq_id"].as_str().unwrap().to_string();
    assert_eq!(node_state(&double, &id), (true, false));
    // Wait for the expiry instant, then the node copy must go inactive within 2 s.
    let expires_at = std::time::UNIX_EPOCH + Duration::from_secs(expiry);
    if let Ok(d) = expires_at.duration_since(std::time::SystemTime::now()) {
        tokio::time::sleep(d).await;
    }
    let disabled = wait_until(Duration::from_secs(2), || !node_state(&double, &id).0).await;
    assert!(disabled, "disabled on the node within 2 s of expiring");
    let got = get(&app, &id).await;
    assert_eq!(
        (got["status"].as_str(), got["active"].as_bool()),
        (Some("expired"), Some(false))
    );
    assert!(
        double.simulate_payment(&id, 2000).is_err(),
        "the node refuses to pay it"
    );
    assert_eq!(double.calls("disableinvoicerequest"), RUNE_PROBES + 1);
}

#[tokio::test]
async fn a_request_that_expired_while_stopped_is_disabled_at_start_up() {
    let double = start_double().await;
    let app = spawn_cln_app(&double).await;
    // Three seconds to create and stop on a loaded machine, then wait past the expiry.
    let expiry = invreqd::service::unix_now() + 3;
    let b = app
        .create_ok(&json!({"amount": 2000, "description": "x", "absolute_expiry": expiry}))
        .await;
    let id = b["invreq_id"].as_str().unwrap().to_string();
    let dir = app.stop().await;
    let expired = std::time::UNIX_EPOCH + Duration::from_secs(expiry + 1);
    if let Ok(d) = expired.duration_since(std::time::SystemTime::now()) {
        tokio::time::sleep(d).await;
    }
    assert_eq!(
        node_state(&double, &id),
        (true, false),
        "nobody disabled it while stopped"
    );
    let mut args = invreqd::config::ServeArgs::for_tests(dir.path().to_path_buf());
    use_double(&mut args, &double, dir.path());
    let app = start(args, dir).await;
    assert!(
        wait_until(Duration::from_secs(3), || !node_state(&double, &id).0).await,
        "disabled at start-up"
    );
    assert_eq!(get(&app, &id).await["status"], "expired");
}

#[tokio::test]
async fn a_request_paid_just_before_its_expiry_ends_paid_with_its_payment() {
    let double = start_double().await;
    let app = spawn_cln_app(&double).await;
    let b = app
        .create_ok(&json!({"amount": 3000, "description": "x", "absolute_expiry": invreqd::service::unix_now() + 2}))
        .await;
    let id = b["invreq_id"].as_str().unwrap().to_string();
    // The watcher cannot see the payment for now: the sweeper meets it first.
    double.fail_next("listsendpays", 10_000, -1, "temporarily unavailable");
    let paid = double.simulate_payment(&id, 3000).unwrap();
    assert_eq!(node_state(&double, &id), (false, true));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = get(&app, &id).await;
        if got["status"] == "paid" {
            break;
        }
        // From the expiry instant until the sweeper has asked the node, GET may read `expired`
        // (the API answers expired at once); the node's truth then wins.
        assert!(Instant::now() < deadline, "settled by the sweeper: {got}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Once the watcher sees the node's payments again, the payment itself is recorded.
    double.clear_faults();
    // The watcher retries with a backoff of at most 3 s.
    let deadline = Instant::now() + Duration::from_secs(8);
    loop {
        let got = get(&app, &id).await;
        if got["payment"]["payment_hash"] == paid.payment_hash.as_str() {
            assert_eq!(got["status"], "paid");
            assert_eq!(got["payment"]["status"], "complete");
            assert_eq!(got["payment"]["preimage"], paid.preimage.as_str());
            break;
        }
        assert!(Instant::now() < deadline, "payment recorded: {got}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_requests_expiring_together_are_each_disabled_once() {
    use futures::StreamExt;
    let double = start_double().await;
    let app = std::sync::Arc::new(
        spawn_cln_app_with(&double, |a| {
            a.rate_limit_per_sec = 0;
        })
        .await,
    );
    let started = Instant::now();
    let expiry = invreqd::service::unix_now() + 40; // room for 1000 creates on a loaded 2-core machine
    let ids: Vec<String> = futures::stream::iter(0..1000)
        .map(|n| {
            let app = app.clone();
            async move {
                let b = app
                    .create_ok(&json!({"amount": 1000 + n, "description": "batch", "absolute_expiry": expiry}))
                    .await;
                b["invreq_id"].as_str().unwrap().to_string()
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(
        invreqd::service::unix_now() < expiry,
        "created in {:?}, before they expire",
        started.elapsed()
    );
    assert_eq!(double.calls("disableinvoicerequest"), RUNE_PROBES);
    let expires_at = std::time::UNIX_EPOCH + Duration::from_secs(expiry);
    if let Ok(d) = expires_at.duration_since(std::time::SystemTime::now()) {
        tokio::time::sleep(d).await;
    }
    // Each expiry is three node calls (look, in-flight check, disable): 3000 through TLS on a
    // loaded 2-core machine.
    let all_off = wait_until(Duration::from_secs(60), || {
        double.invoice_requests().iter().all(|r| !r.1)
    })
    .await;
    assert!(all_off, "every node copy disabled");
    assert_eq!(
        double.calls("disableinvoicerequest"),
        RUNE_PROBES + 1000,
        "each disabled once"
    );
    for id in ids.iter().step_by(97) {
        assert_eq!(get(&app, id).await["status"], "expired");
    }
}
