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
    // The shortfall shows: 4 000 000 paid of 5 000 000 asked; fees are sent − paid.
    assert_eq!(body["amount_msat"], 5_000_000);
    assert_eq!(body["amount_paid_msat"], 4_000_000);
    assert_eq!(body["amount_sent_msat"], 4_004_001);
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
    let parts = store.store().payment_parts(&id).await.unwrap();
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0].payment_hash, paid.payment_hash);
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
    assert_eq!(store.payment_parts(&a).await.unwrap().len(), 1);
}

/// The request's `payments[0]` once `pred` holds for the body.
async fn poll_body(app: &TestApp, id: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let body = poll(app, id, Duration::from_secs(3), &pred).await;
    assert!(pred(&body), "not reached: {body}");
    body
}

crate::on_every_cln_path!(
    a_two_part_payment_of_2_500_000_sat_reads_exactly_what_the_node_moved,
    super::two_parts_read_as_moved
);

async fn two_parts_read_as_moved(path: NodePath) {
    let double = start_double().await;
    let app = spawn_cln_app_on(&double, path, |_| {}).await;
    let id = app
        .create_ok(&json!({"amount": "2500000sat", "description": "payout", "single_use": false}))
        .await["invreq_id"]
        .as_str()
        .unwrap()
        .to_string();
    // notes/cln-e2e.md F2: two parts, 1 515 000 000 + 985 000 000 msat, no fee (direct channel).
    let paid = double
        .start_split_payment(
            &id,
            &[(1_515_000_000, 1_515_000_000), (985_000_000, 985_000_000)],
        )
        .unwrap();
    assert_eq!(paid.parts, vec![(1, 1), (1, 2)]);
    let body = poll_body(&app, &id, |b| b["status"] == "paying").await;
    assert_eq!(body["payments"][0]["status"], "pending");
    assert_eq!(body["payments"][0]["amount_msat"], 2_500_000_000u64);
    assert_eq!(body["amount_paid_msat"], 0);
    // The parts end out of order: part 2 first.
    assert!(double.complete_part(&paid.payment_hash, 1, 2));
    assert!(double.complete_part(&paid.payment_hash, 1, 1));
    let body = poll_body(&app, &id, |b| b["status"] == "open" && b["used"] == true).await;
    let payments = body["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1, "{body}");
    let p = &payments[0];
    assert_eq!(p["payment_hash"], paid.payment_hash);
    assert_eq!(p["status"], "complete");
    assert_eq!(p["parts"], 2);
    assert_eq!(p["amount_msat"], 2_500_000_000u64);
    assert_eq!(p["amount_sent_msat"], 2_500_000_000u64);
    assert_eq!(p["preimage"], paid.preimage);
    assert_eq!(body["amount_paid_msat"], 2_500_000_000u64);
    assert_eq!(body["amount_sent_msat"], 2_500_000_000u64);
    assert_eq!(body["payment"]["amount_msat"], 2_500_000_000u64);
    assert!(double.crashed().is_none());
}

crate::on_every_cln_path!(
    a_multi_use_request_paid_twice_lists_both_payments_and_their_total,
    super::multi_use_paid_twice
);

async fn multi_use_paid_twice(path: NodePath) {
    let double = start_double().await;
    let app = spawn_cln_app_on(&double, path, |_| {}).await;
    let id = app
        .create_ok(&json!({"amount": "3000sat", "description": "twice", "single_use": false}))
        .await["invreq_id"]
        .as_str()
        .unwrap()
        .to_string();
    let first = double.simulate_payment(&id, 3_000_000).unwrap();
    poll_body(&app, &id, |b| {
        b["payments"].as_array().is_some_and(|p| p.len() == 1)
    })
    .await;
    let second = double.simulate_payment(&id, 3_000_000).unwrap();
    // The parts are recorded before the request moves (and writes its event): wait for both.
    let body = poll_body(&app, &id, |b| {
        b["amount_paid_msat"] == 6_000_000 && b["status"] != "paying"
    })
    .await;
    let payments = body["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 2, "{body}");
    assert_eq!(
        payments[0]["payment_hash"], second.payment_hash,
        "newest first"
    );
    assert_eq!(payments[1]["payment_hash"], first.payment_hash);
    // The double charges amount/1000 + 1 msat of fees per payment: 3 001 each.
    assert_eq!(body["amount_sent_msat"], 6_006_002);
    assert_eq!(body["used"], true);
    assert_eq!(body["status"], "open");
    // The list shows the same.
    let listed = app.list_all().await;
    let row = listed
        .iter()
        .find(|r| r["invreq_id"] == id.as_str())
        .unwrap();
    assert_eq!(row["payments"].as_array().unwrap().len(), 2);
    assert_eq!(row["amount_paid_msat"], 6_000_000);
}

crate::on_every_cln_path!(
    a_single_use_request_refuses_a_split_and_a_retry_under_the_same_hash_pays_it,
    super::single_use_split_and_retry
);

async fn single_use_split_and_retry(path: NodePath) {
    let double = start_double().await;
    let app = spawn_cln_app_on(&double, path, |_| {}).await;
    let id = app
        .create_ok(&json!({"amount": "5000sat", "description": "split"}))
        .await["invreq_id"]
        .as_str()
        .unwrap()
        .to_string();
    // F5: lightningd refuses the second part of a single-use request with 212.
    let paid = double
        .start_split_payment(&id, &[(4_310_000, 4_310_000), (690_000, 690_000)])
        .unwrap();
    assert_eq!(paid.refused.as_ref().and_then(|e| e.code), Some(212));
    let body = poll_body(&app, &id, |b| b["status"] == "paying").await;
    assert_eq!(body["payments"][0]["amount_msat"], 4_310_000);
    // The lone part times out: nothing moved, the request is open again.
    assert!(double.fail_part(&paid.payment_hash, 1, 1));
    let body = poll_body(&app, &id, |b| b["status"] == "open").await;
    assert_eq!(body["payments"][0]["status"], "failed");
    assert_eq!(body["payments"][0]["amount_sent_msat"], 0);
    assert_eq!(
        (body["used"].as_bool(), body["amount_paid_msat"].as_u64()),
        (Some(false), Some(0))
    );
    // xpay retries in one part under the same hash; a late `failed` row never undoes it.
    let retry = double
        .add_parts(&paid.payment_hash, &[(5_000_000, 5_000_050)], false)
        .unwrap();
    assert_eq!(retry, vec![(1, 2)]);
    assert!(double.complete_part(&paid.payment_hash, 1, 2));
    let body = poll_body(&app, &id, |b| b["status"] == "paid").await;
    let payments = body["payments"].as_array().unwrap();
    assert_eq!(payments.len(), 1, "{body}");
    assert_eq!(payments[0]["parts"], 2);
    assert_eq!(payments[0]["amount_msat"], 5_000_000);
    assert_eq!(body["amount_paid_msat"], 5_000_000);
    assert_eq!(body["amount_sent_msat"], 5_000_050);
    assert_eq!(body["used"], true);
    assert!(double.crashed().is_none());
}
