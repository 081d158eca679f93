//! Payments followed from the node: a simulated payee's invoice paid by the double shows up on
//! its invoice request; a single-use request cannot be paid twice; a restart resumes.

use std::time::{Duration, Instant};

use cln_double::PayError;
use invreqd::service::{CREATED_COUNTER, UPDATED_COUNTER};
use serde_json::{Value, json};

use crate::cln_support::{NodePath, cln_args_on, service_on_path, spawn_cln_app_on, start_double};
use crate::helpers::{TestApp, start};

/// Polls GET until `pred` holds or `within` passes; returns the last body.
async fn poll(app: &TestApp, id: &str, within: Duration, pred: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let body: Value = app
            .get(&format!("/v1/invoicerequests/{id}"))
            .await
            .json()
            .await
            .unwrap();
        if pred(&body) || Instant::now() >= deadline {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

crate::on_every_cln_path!(
    a_payment_appears_within_one_second_and_a_second_one_is_refused,
    super::payment_appears_and_a_second_is_refused
);

async fn payment_appears_and_a_second_is_refused(path: NodePath) {
    let double = start_double().await;
    let app = spawn_cln_app_on(&double, path, |_| {}).await;
    let created = app
        .create_ok(&json!({"amount": "5000sat", "description": "withdrawal"}))
        .await;
    let id = created["invreq_id"].as_str().unwrap().to_string();
    // Let the watcher reach its long-poll first.
    tokio::time::sleep(Duration::from_millis(100)).await;

    let paid = double.simulate_payment(&id, 4_000_000).expect("paid");
    let started = Instant::now();
    let body = poll(&app, &id, Duration::from_secs(1), |b| b["status"] == "paid").await;
    assert!(
        started.elapsed() <= Duration::from_secs(1),
        "took {:?}",
        started.elapsed()
    );
    assert_eq!(body["status"], "paid", "{body}");
    assert_eq!(body["used"], true);
    assert_eq!(body["active"], false);
    let payment = &body["payment"];
    assert_eq!(payment["payment_hash"], paid.payment_hash);
    assert_eq!(payment["status"], "complete");
    assert_eq!(
        payment["amount_msat"], 4_000_000,
        "less than asked is allowed"
    );
    assert!(payment["amount_sent_msat"].as_u64().unwrap() >= 4_000_000);
    assert_eq!(payment["preimage"], paid.preimage);
    assert!(payment["completed_at"].as_u64().is_some());
    // The payee's invoice answers exactly this request.
    let from_invoice = invreqd::bolt12::invreq_id_of_invoice(&paid.bolt12).unwrap();
    assert_eq!(hex::encode(from_invoice), id);

    // Single-use and paid: the node refuses another payment, and nothing new is recorded.
    let again = double.simulate_payment(&id, 4_000_000);
    assert!(
        matches!(again, Err(PayError::Refused(ref m)) if m == "invoice_request no longer available"),
        "{again:?}"
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let store = service_on_path(&double, app.data_dir.path(), path).await;
    let payments = store.store().payments(&id).await.unwrap();
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].payment_hash, paid.payment_hash);
    // Disabling a paid request: the node says 1001, the API 409.
    crate::helpers::assert_problem(
        app.delete(&format!("/v1/invoicerequests/{id}")).await,
        409,
        "already_inactive",
    )
    .await;
}

crate::on_every_cln_path!(paying_then_failed_then_paid, super::paying_failed_paid);

async fn paying_failed_paid(path: NodePath) {
    let double = start_double().await;
    let app = spawn_cln_app_on(&double, path, |_| {}).await;
    let created = app
        .create_ok(&json!({"amount": 3000, "description": "retry", "single_use": true}))
        .await;
    let id = created["invreq_id"].as_str().unwrap().to_string();

    let first = double.start_payment(&id, 3000).unwrap();
    // One payment at a time for a single-use request.
    assert!(
        matches!(double.start_payment(&id, 3000), Err(PayError::Rpc(e)) if e.code == Some(212))
    );
    let body = poll(&app, &id, Duration::from_secs(1), |b| {
        b["status"] == "paying"
    })
    .await;
    assert_eq!(body["status"], "paying", "{body}");
    assert_eq!(body["payment"]["status"], "pending");
    assert_eq!(body["active"], true);

    assert!(double.fail_payment(&first.payment_hash));
    let body = poll(&app, &id, Duration::from_secs(1), |b| b["status"] == "open").await;
    assert_eq!(body["status"], "open", "{body}");
    assert_eq!(body["used"], false);

    let second = double.simulate_payment(&id, 3000).unwrap();
    let body = poll(&app, &id, Duration::from_secs(1), |b| b["status"] == "paid").await;
    assert_eq!(body["status"], "paid", "{body}");
    assert_eq!(body["payment"]["payment_hash"], second.payment_hash);
}

crate::on_every_cln_path!(
    a_restarted_service_resumes_from_its_stored_indexes,
    super::resumes_from_stored_indexes
);

async fn resumes_from_stored_indexes(path: NodePath) {
    let double = start_double().await;
    let app = spawn_cln_app_on(&double, path, |_| {}).await;
    let a = app
        .create_ok(&json!({"amount": 1000, "description": "a"}))
        .await["invreq_id"]
        .as_str()
        .unwrap()
        .to_string();
    let b = app
        .create_ok(&json!({"amount": 1000, "description": "b", "single_use": false}))
        .await["invreq_id"]
        .as_str()
        .unwrap()
        .to_string();
    double.simulate_payment(&a, 1000).unwrap();
    assert_eq!(
        poll(&app, &a, Duration::from_secs(1), |v| v["status"] == "paid").await["status"],
        "paid"
    );
    let dir = app.stop().await;

    // Paid while the service was down: a multi-use request stays active and becomes used.
    let paid_b = double.simulate_payment(&b, 900).unwrap();
    let app = start(cln_args_on(&double, dir.path(), path), dir).await;
    let body = poll(&app, &b, Duration::from_secs(2), |v| v["used"] == true).await;
    assert_eq!(body["used"], true, "{body}");
    assert_eq!(body["active"], true);
    assert_eq!(body["status"], "open");
    assert_eq!(body["payment"]["payment_hash"], paid_b.payment_hash);
    let service = service_on_path(&double, app.data_dir.path(), path).await;
    let store = service.store();
    assert_eq!(store.counter(CREATED_COUNTER).await.unwrap(), 2);
    assert_eq!(store.counter(UPDATED_COUNTER).await.unwrap(), 2);
    assert_eq!(store.payments(&a).await.unwrap().len(), 1);
}
