use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app};

async fn post_with_key(
    app: &crate::helpers::TestApp,
    key: &str,
    body: &Value,
) -> reqwest::Response {
    app.client
        .post(app.url("/v1/invoicerequests"))
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn same_key_same_body_gives_the_first_response_and_one_record() {
    let app = spawn_app().await;
    let body = json!({"amount": 1000, "description": "payout 7"});
    let first = post_with_key(&app, "k-1", &body).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = post_with_key(&app, "k-1", &body).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: Value = again.json().await.unwrap();
    assert_eq!(first, again);
    assert_eq!(app.list_all().await.len(), 1);
}

#[tokio::test]
async fn same_key_other_body_is_a_conflict() {
    let app = spawn_app().await;
    assert_eq!(
        post_with_key(&app, "k", &json!({"amount": 1000, "description": "a"}))
            .await
            .status(),
        201
    );
    assert_problem(
        post_with_key(&app, "k", &json!({"amount": 2000, "description": "a"})).await,
        409,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(app.list_all().await.len(), 1);
}

#[tokio::test]
async fn a_failed_request_does_not_burn_the_key() {
    let app = spawn_app().await;
    app.create_ok(&json!({"amount": 1, "description": "x", "label": "taken"}))
        .await;
    let body = json!({"amount": 1, "description": "x", "label": "taken"});
    assert_problem(post_with_key(&app, "k2", &body).await, 409, "label_taken").await;
    let fixed = json!({"amount": 1, "description": "x", "label": "free"});
    // The key is free again, for a corrected body.
    assert_eq!(post_with_key(&app, "k2", &fixed).await.status(), 201);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_make_one_record() {
    let app = std::sync::Arc::new(spawn_app().await);
    let body = json!({"amount": 4242, "description": "concurrent"});
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let app = app.clone();
        let body = body.clone();
        tasks.push(tokio::spawn(async move {
            let res = post_with_key(&app, "same", &body).await;
            (res.status().as_u16(), res.json::<Value>().await.unwrap())
        }));
    }
    let mut ids = std::collections::HashSet::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 201, "{body}");
        ids.insert(body["invreq_id"].as_str().unwrap().to_string());
    }
    assert_eq!(ids.len(), 1);
    assert_eq!(app.list_all().await.len(), 1);
}

#[tokio::test]
async fn malformed_keys_are_refused() {
    let app = spawn_app().await;
    let long = "k".repeat(256);
    for key in ["", long.as_str(), "has space"] {
        let p = assert_problem(
            post_with_key(&app, key, &json!({"amount": 1, "description": "x"})).await,
            400,
            "invalid_parameter",
        )
        .await;
        assert_eq!(p["field"], "Idempotency-Key");
    }
}
