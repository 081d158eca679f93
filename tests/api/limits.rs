//! Spending limits: each passes exactly at its edge and refuses one msat above it, and
//! concurrent creates never pass a limit together.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app, spawn_app_with};

async fn create(
    client: &reqwest::Client,
    app: &crate::helpers::TestApp,
    amount: u64,
) -> reqwest::Response {
    client
        .post(app.url("/v1/invoicerequests"))
        .json(&json!({"amount": amount, "description": "limit test"}))
        .send()
        .await
        .unwrap()
}

async fn refused(res: reqwest::Response, code: &str, limit: u64, remaining: u64) {
    let p = assert_problem(res, 403, code).await;
    assert_eq!(p["limit_msat"], limit, "{p}");
    assert_eq!(p["remaining_msat"], remaining, "{p}");
}

#[tokio::test]
async fn per_request_limit_edge() {
    let app = spawn_app().await;
    let c = app
        .tenant_client("per-request", json!({"max_per_request_msat": 1000}))
        .await;
    assert_eq!(create(&c, &app, 1000).await.status(), 201);
    refused(
        create(&c, &app, 1001).await,
        "limit_per_request",
        1000,
        1000,
    )
    .await;
    // The string forms count the same: 1sat is 1000 msat, 1.001sat is not allowed.
    let res = c
        .post(app.url("/v1/invoicerequests"))
        .json(&json!({"amount": "1sat", "description": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
}

#[tokio::test]
async fn daily_limit_edge_counts_paid_and_open_but_not_disabled() {
    let app = spawn_app().await;
    let c = app
        .tenant_client("daily", json!({"max_daily_msat": 3000}))
        .await;
    assert_eq!(create(&c, &app, 1000).await.status(), 201);
    refused(create(&c, &app, 2001).await, "limit_daily", 3000, 2000).await;
    let last: Value = create(&c, &app, 2000).await.json().await.unwrap();
    assert_eq!(last["amount_msat"], 2000);
    refused(create(&c, &app, 1).await, "limit_daily", 3000, 0).await;
    // A disabled request promised nothing payable: its amount is free again.
    let id = last["invreq_id"].as_str().unwrap();
    let res = c
        .delete(app.url(&format!("/v1/invoicerequests/{id}")))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(create(&c, &app, 2000).await.status(), 201);
    refused(create(&c, &app, 1).await, "limit_daily", 3000, 0).await;
}

#[tokio::test]
async fn outstanding_limit_edge_and_expiry() {
    let app = spawn_app().await;
    let c = app
        .tenant_client("outstanding", json!({"max_outstanding_msat": 3000}))
        .await;
    let first: Value = create(&c, &app, 1000).await.json().await.unwrap();
    refused(
        create(&c, &app, 2001).await,
        "limit_outstanding",
        3000,
        2000,
    )
    .await;
    assert_eq!(create(&c, &app, 2000).await.status(), 201);
    refused(create(&c, &app, 1).await, "limit_outstanding", 3000, 0).await;
    let id = first["invreq_id"].as_str().unwrap();
    assert_eq!(
        c.delete(app.url(&format!("/v1/invoicerequests/{id}")))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    refused(
        create(&c, &app, 1001).await,
        "limit_outstanding",
        3000,
        1000,
    )
    .await;
    // An expiring request counts until it expires.
    let expiry = invreqd::service::unix_now() + 2; // +2: a whole-second boundary may pass before the server reads it
    let res = c
        .post(app.url("/v1/invoicerequests"))
        .json(&json!({"amount": 1000, "description": "short", "absolute_expiry": expiry}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    refused(create(&c, &app, 1).await, "limit_outstanding", 3000, 0).await;
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    assert_eq!(create(&c, &app, 1000).await.status(), 201);
}

#[tokio::test]
async fn limits_are_per_tenant_and_shared_by_its_keys() {
    let app = spawn_app().await;
    let a1 = app
        .tenant_client("shared", json!({"max_outstanding_msat": 1500}))
        .await;
    let a2 = app
        .tenant_client("shared", json!({"max_outstanding_msat": 1500}))
        .await;
    let b = app
        .tenant_client("elsewhere", json!({"max_outstanding_msat": 1500}))
        .await;
    assert_eq!(create(&a1, &app, 1000).await.status(), 201);
    refused(create(&a2, &app, 501).await, "limit_outstanding", 1500, 500).await;
    assert_eq!(create(&b, &app, 1500).await.status(), 201);
}

async fn hundred_concurrent(limits: Value, code: &str) {
    let app = Arc::new(
        spawn_app_with(|a| {
            a.rate_limit_per_sec = 1000;
            a.rate_limit_burst = 1000;
        })
        .await,
    );
    let c = app.tenant_client("race", limits).await;
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let app = app.clone();
        let c = c.clone();
        tasks.push(tokio::spawn(async move {
            let res = create(&c, &app, 1000).await;
            let status = res.status().as_u16();
            let body: Value = res.json().await.unwrap();
            (status, body)
        }));
    }
    let (mut ok, mut refused) = (0, 0);
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            201 => ok += 1,
            403 => {
                assert_eq!(body["code"], code, "{body}");
                refused += 1;
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert_eq!((ok, refused), (10, 90));
    let page: Value = c
        .get(app.url("/v1/invoicerequests?limit=1000"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(page["invoicerequests"].as_array().unwrap().len(), 10);
}

#[tokio::test]
async fn hundred_concurrent_creates_against_an_outstanding_limit_that_fits_ten() {
    hundred_concurrent(json!({"max_outstanding_msat": 10_000}), "limit_outstanding").await;
}

#[tokio::test]
async fn hundred_concurrent_creates_against_a_daily_limit_that_fits_ten() {
    hundred_concurrent(json!({"max_daily_msat": 10_999}), "limit_daily").await;
}
