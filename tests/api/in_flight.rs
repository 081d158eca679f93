//! Never disable a request while a payment for it is in flight: Core Lightning v26.06.6 accepts
//! the disable and aborts when the payment completes, then on every restart (notes/cln-e2e.md
//! F1). The double trips (and its drop panics) if any of these ever reaches its disable.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::cln_support::{
    NodePath, RUNE_PROBES, cln_args, service_on, spawn_cln_app, spawn_cln_app_on, start_double,
};
use crate::helpers::{TestApp, assert_problem, start};

async fn get(app: &TestApp, id: &str) -> Value {
    app.get(&format!("/v1/invoicerequests/{id}"))
        .await
        .json()
        .await
        .unwrap()
}

async fn until(app: &TestApp, id: &str, within: Duration, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let b = get(app, id).await;
        if pred(&b) {
            return b;
        }
        assert!(Instant::now() < deadline, "not reached: {b}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn create(app: &TestApp, body: Value) -> String {
    app.create_ok(&body).await["invreq_id"]
        .as_str()
        .unwrap()
        .to_string()
}

crate::on_every_cln_path!(
    delete_during_a_pending_payment_is_409_and_never_reaches_the_node,
    super::delete_during_pending_payment
);

async fn delete_during_pending_payment(path: NodePath) {
    let double = start_double().await;
    let app = spawn_cln_app_on(&double, path, |_| {}).await;
    // clnrest's start-up probes the rune with one harmless disable; gRPC has no runes.
    let probes = match path {
        NodePath::Grpc => 0,
        _ => RUNE_PROBES,
    };
    for single_use in [true, false] {
        let id = create(
            &app,
            json!({"amount": 5000, "description": "in flight", "single_use": single_use}),
        )
        .await;
        let pay = double.start_payment(&id, 5000).unwrap();
        until(&app, &id, Duration::from_secs(2), |b| {
            b["status"] == "paying"
        })
        .await;
        let p = assert_problem(
            app.delete(&format!("/v1/invoicerequests/{id}")).await,
            409,
            "payment_in_flight",
        )
        .await;
        assert_eq!(p["invreq_id"], id.as_str());
        assert_eq!(double.calls("disableinvoicerequest"), probes);
        // Once it settled, the node decides: single-use is paid, multi-use can be disabled.
        assert!(double.complete_payment(&pay.payment_hash));
        until(&app, &id, Duration::from_secs(2), |b| b["used"] == true).await;
        let res = app.delete(&format!("/v1/invoicerequests/{id}")).await;
        if single_use {
            assert_problem(res, 409, "already_inactive").await;
        } else {
            assert_eq!(res.status(), 200);
        }
    }
    assert_eq!(double.calls("disableinvoicerequest"), probes + 1);
    assert!(double.crashed().is_none());
}

#[tokio::test]
async fn a_payment_the_watcher_has_not_seen_yet_still_blocks_the_disable() {
    let double = start_double().await;
    let app = spawn_cln_app(&double).await;
    let id = create(&app, json!({"amount": 5000, "description": "race"})).await;
    let dir = app.stop().await;
    // Paid while no watcher runs: the store still says `open`; only the node knows.
    let pay = double.start_payment(&id, 5000).unwrap();
    let service = service_on(&double, dir.path()).await;
    let err = service
        .disable(invreqd::auth::DEFAULT_TENANT, &id)
        .await
        .unwrap_err();
    assert!(
        matches!(err, invreqd::service::ServiceError::PaymentInFlight(ref i) if *i == id),
        "{err:?}"
    );
    assert_eq!(double.calls("disableinvoicerequest"), RUNE_PROBES);
    assert!(double.fail_payment(&pay.payment_hash));
    drop(service);
    let app = start(cln_args(&double, dir.path()), dir).await;
    until(&app, &id, Duration::from_secs(3), |b| {
        b["payments"][0]["status"] == "failed"
    })
    .await;
    assert_eq!(
        app.delete(&format!("/v1/invoicerequests/{id}"))
            .await
            .status(),
        200
    );
    assert!(double.crashed().is_none());
}

async fn past(expiry: u64) {
    let at = std::time::UNIX_EPOCH + Duration::from_secs(expiry);
    if let Ok(d) = at.duration_since(std::time::SystemTime::now()) {
        tokio::time::sleep(d).await;
    }
}

#[tokio::test]
async fn an_expiry_during_a_pending_payment_ends_paid_when_it_completes_without_a_disable() {
    let double = start_double().await;
    let app = spawn_cln_app(&double).await;
    // Five seconds: the watcher must see the payment `paying` before the expiry, on a loaded machine too.
    let expiry = invreqd::service::unix_now() + 5;
    let id = create(
        &app,
        json!({"amount": 3000, "description": "expiring", "absolute_expiry": expiry}),
    )
    .await;
    let pay = double.start_payment(&id, 3000).unwrap();
    until(&app, &id, Duration::from_secs(4), |b| {
        b["status"] == "paying"
    })
    .await;
    past(expiry).await;
    // Expired from the instant, for the API; the node copy stays active while the payment flies.
    let b = until(&app, &id, Duration::from_secs(1), |b| {
        b["status"] == "expired"
    })
    .await;
    assert_eq!(b["active"], false);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(double.calls("disableinvoicerequest"), RUNE_PROBES);
    assert!(double.complete_payment(&pay.payment_hash));
    let b = until(&app, &id, Duration::from_secs(2), |b| b["status"] == "paid").await;
    assert_eq!(b["used"], true);
    assert_eq!(b["amount_paid_msat"], 3000);
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_eq!(get(&app, &id).await["status"], "paid");
    // Paid single-use is inactive on the node: nothing to disable.
    assert_eq!(double.calls("disableinvoicerequest"), RUNE_PROBES);
    assert!(double.crashed().is_none());
}

#[tokio::test]
async fn an_expiry_during_a_pending_payment_disables_on_the_node_only_after_it_settled() {
    let double = start_double().await;
    let app = spawn_cln_app(&double).await;
    let expiry = invreqd::service::unix_now() + 5;
    let failing = create(
        &app,
        json!({"amount": 3000, "description": "fails", "absolute_expiry": expiry}),
    )
    .await;
    let multi = create(
        &app,
        json!({"amount": 3000, "description": "multi", "absolute_expiry": expiry, "single_use": false}),
    )
    .await;
    let a = double.start_payment(&failing, 3000).unwrap();
    let b = double.start_payment(&multi, 3000).unwrap();
    until(&app, &multi, Duration::from_secs(4), |b| {
        b["status"] == "paying"
    })
    .await;
    until(&app, &failing, Duration::from_secs(4), |b| {
        b["status"] == "paying"
    })
    .await;
    past(expiry).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(double.calls("disableinvoicerequest"), RUNE_PROBES);
    assert_eq!(get(&app, &failing).await["status"], "expired");

    // The failed one is disabled once its payment settled, and stays expired, unused.
    assert!(double.fail_payment(&a.payment_hash));
    let deadline = Instant::now() + Duration::from_secs(3);
    while double.calls("disableinvoicerequest") < RUNE_PROBES + 1 {
        assert!(
            Instant::now() < deadline,
            "disabled after the payment failed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let got = get(&app, &failing).await;
    assert_eq!(
        (got["status"].as_str(), got["used"].as_bool()),
        (Some("expired"), Some(false))
    );

    // The multi-use one completes: used, its payment shown, then disabled on the node.
    assert!(double.complete_payment(&b.payment_hash));
    let got = until(&app, &multi, Duration::from_secs(3), |b| {
        b["used"] == true && b["amount_paid_msat"] == 3000
    })
    .await;
    assert_eq!(got["status"], "expired");
    let deadline = Instant::now() + Duration::from_secs(3);
    while double.calls("disableinvoicerequest") < RUNE_PROBES + 2 {
        assert!(
            Instant::now() < deadline,
            "disabled after the payment completed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let node: Vec<_> = double.invoice_requests();
    assert!(
        node.iter().all(|r| !r.1),
        "both inactive on the node: {node:?}"
    );
    assert!(double.crashed().is_none());
}
