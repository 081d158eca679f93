use std::collections::HashSet;

use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app};

#[tokio::test]
async fn get_returns_what_create_returned() {
    let app = spawn_app().await;
    let created = app
        .create_ok(&json!({"amount": 5000, "description": "x", "label": "a"}))
        .await;
    let id = created["invreq_id"].as_str().unwrap();
    let res = app.get(&format!("/v1/invoicerequests/{id}")).await;
    assert_eq!(res.status(), 200);
    let got: Value = res.json().await.unwrap();
    assert_eq!(got, created);
    // Uppercase hex names the same record.
    let upper: Value = app
        .get(&format!("/v1/invoicerequests/{}", id.to_uppercase()))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(upper["invreq_id"], id);
}

#[tokio::test]
async fn unknown_and_malformed_ids() {
    let app = spawn_app().await;
    let zero = "0".repeat(64);
    assert_problem(
        app.get(&format!("/v1/invoicerequests/{zero}")).await,
        404,
        "not_found",
    )
    .await;
    assert_problem(
        app.delete(&format!("/v1/invoicerequests/{zero}")).await,
        404,
        "not_found",
    )
    .await;
    for bad in ["xyz", &"0".repeat(63), &"g".repeat(64)] {
        let p = assert_problem(
            app.get(&format!("/v1/invoicerequests/{bad}")).await,
            400,
            "invalid_parameter",
        )
        .await;
        assert_eq!(p["field"], "invreq_id");
        assert_problem(
            app.delete(&format!("/v1/invoicerequests/{bad}")).await,
            400,
            "invalid_parameter",
        )
        .await;
    }
}

#[tokio::test]
async fn disable_once_then_conflict() {
    let app = spawn_app().await;
    let created = app
        .create_ok(&json!({"amount": 5000, "description": "x"}))
        .await;
    let path = format!(
        "/v1/invoicerequests/{}",
        created["invreq_id"].as_str().unwrap()
    );
    let res = app.delete(&path).await;
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["active"], false);
    assert_eq!(body["status"], "disabled");
    assert_eq!(body["bolt12"], created["bolt12"]);
    assert_problem(app.delete(&path).await, 409, "already_inactive").await;
    let got: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(got["active"], false);
}

#[tokio::test]
async fn list_pages_newest_first_and_filters() {
    let app = spawn_app().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let b = app
            .create_ok(&json!({"amount": 1000 + i, "description": "x", "label": format!("l{i}")}))
            .await;
        ids.push(b["invreq_id"].as_str().unwrap().to_string());
    }
    // Disable one.
    assert_eq!(
        app.delete(&format!("/v1/invoicerequests/{}", ids[2]))
            .await
            .status(),
        200
    );

    // Pages of 3, with an insert between pages: no row repeats or goes missing.
    let page1: Value = app
        .get("/v1/invoicerequests?limit=3")
        .await
        .json()
        .await
        .unwrap();
    let got1: Vec<&str> = page1["invoicerequests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["invreq_id"].as_str().unwrap())
        .collect();
    assert_eq!(got1, vec![ids[6].as_str(), &ids[5], &ids[4]]);
    app.create_ok(&json!({"amount": 99, "description": "late"}))
        .await;
    let cursor = page1["next_cursor"].as_str().unwrap();
    let page2: Value = app
        .get(&format!("/v1/invoicerequests?limit=3&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    let got2: Vec<&str> = page2["invoicerequests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["invreq_id"].as_str().unwrap())
        .collect();
    assert_eq!(got2, vec![ids[3].as_str(), &ids[2], &ids[1]]);
    let cursor = page2["next_cursor"].as_str().unwrap();
    let page3: Value = app
        .get(&format!("/v1/invoicerequests?limit=3&cursor={cursor}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(page3["invoicerequests"].as_array().unwrap().len(), 1);
    assert!(page3["next_cursor"].is_null());

    let active: Value = app
        .get("/v1/invoicerequests?active_only=true&limit=1000")
        .await
        .json()
        .await
        .unwrap();
    let active_ids: HashSet<&str> = active["invoicerequests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["invreq_id"].as_str().unwrap())
        .collect();
    assert_eq!(active_ids.len(), 7);
    assert!(!active_ids.contains(ids[2].as_str()));

    let labelled: Value = app
        .get("/v1/invoicerequests?label=l4")
        .await
        .json()
        .await
        .unwrap();
    let rows = labelled["invoicerequests"].as_array().unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["invreq_id"], ids[4].as_str());
}

#[tokio::test]
async fn list_parameters_are_checked() {
    let app = spawn_app().await;
    for (q, field) in [
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=x", "limit"),
        ("active_only=yes", "active_only"),
        ("cursor=abc", "cursor"),
        ("colour=red", "colour"),
        ("limit=1&limit=2", "limit"),
    ] {
        let p = assert_problem(
            app.get(&format!("/v1/invoicerequests?{q}")).await,
            400,
            "invalid_parameter",
        )
        .await;
        assert_eq!(p["field"], field, "{q}");
    }
    let ok: Value = app
        .get("/v1/invoicerequests?limit=1000")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(ok["invoicerequests"], json!([]));
    assert!(ok["next_cursor"].is_null());
}

#[tokio::test]
async fn expired_requests_read_inactive_before_any_sweep() {
    let app = spawn_app().await;
    let expiry = invreqd::service::unix_now() + 2; // +2: a whole-second boundary may pass before the server reads it
    let created = app
        .create_ok(&json!({"amount": 1, "description": "x", "absolute_expiry": expiry}))
        .await;
    assert_eq!(created["active"], true);
    tokio::time::sleep(std::time::Duration::from_millis(3100)).await;
    let path = format!(
        "/v1/invoicerequests/{}",
        created["invreq_id"].as_str().unwrap()
    );
    let got: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(got["active"], false);
    assert_eq!(got["status"], "expired");
    let active: Value = app
        .get("/v1/invoicerequests?active_only=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(active["invoicerequests"], json!([]));
}

#[tokio::test]
async fn records_and_the_signer_key_survive_a_restart() {
    let app = spawn_app().await;
    let created = app
        .create_ok(&json!({"amount": 1234, "description": "kept"}))
        .await;
    let dir = app.stop().await;
    let args = invreqd::config::ServeArgs::for_tests(dir.path().to_path_buf());
    let app = crate::helpers::start(args, dir).await;
    let path = format!(
        "/v1/invoicerequests/{}",
        created["invreq_id"].as_str().unwrap()
    );
    let got: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(got, created);
    let again = app
        .create_ok(&json!({"amount": 1, "description": "after restart"}))
        .await;
    let payer = |b: &Value| {
        invreqd::bolt12::InvoiceRequest::decode(b["bolt12"].as_str().unwrap())
            .unwrap()
            .payer_id()
    };
    assert_eq!(
        payer(&again),
        payer(&created),
        "same dev signer key after restart"
    );
}

#[tokio::test]
async fn the_sweeper_marks_expired_requests_in_the_store() {
    let app = spawn_app().await;
    let now = invreqd::service::unix_now();
    let soon = app
        .create_ok(&json!({"amount": 1, "description": "soon", "absolute_expiry": now + 1}))
        .await;
    let later = app
        .create_ok(&json!({"amount": 1, "description": "later", "absolute_expiry": now + 3600}))
        .await;
    let url = format!(
        "sqlite://{}",
        app.data_dir.path().join("invreqd.db").display()
    );
    let store = invreqd::store::Store::connect(&invreqd::store::StoreOptions::new(url))
        .await
        .unwrap();
    let id = soon["invreq_id"].as_str().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let r = store.get_any(id).await.unwrap().unwrap();
        if r.status == invreqd::store::Status::Expired {
            assert!(!r.active);
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "swept within seconds of expiry"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let other = store
        .get_any(later["invreq_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(other.status, invreqd::store::Status::Open);
    // DELETE of an expired request: already inactive.
    crate::helpers::assert_problem(
        app.delete(&format!("/v1/invoicerequests/{id}")).await,
        409,
        "already_inactive",
    )
    .await;
}
