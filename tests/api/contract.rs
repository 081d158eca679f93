//! The request contract as a client meets it: the faults of "The contract, exact" (issue 13,
//! item 5), each held to its right value.

use serde_json::{Value, json};

use crate::helpers::{assert_problem, spawn_app};

async fn post_raw_with_key(
    app: &crate::helpers::TestApp,
    key: &str,
    raw: &str,
) -> reqwest::Response {
    app.client
        .post(app.url("/v1/invoicerequests"))
        .header("content-type", "application/json")
        .header("idempotency-key", key)
        .body(raw.to_owned())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn idempotency_compares_requests_not_bytes() {
    let app = spawn_app().await;
    let first = post_raw_with_key(
        &app,
        "k",
        r#"{"amount":1000,"description":"a","label":"L"}"#,
    )
    .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    // Members reordered, other whitespace, the same amount spelled otherwise: the same request.
    for same in [
        "{ \"label\" : \"L\",\n  \"description\": \"a\", \"amount\": 1000 }",
        r#"{"description":"a","amount":"1sat","label":"L"}"#,
        r#"{"amount":"1000msat","description":"a","label":"L","issuer":null}"#,
    ] {
        let again = post_raw_with_key(&app, "k", same).await;
        assert_eq!(again.status(), 201, "{same}");
        assert_eq!(again.headers()["idempotent-replayed"], "true", "{same}");
        assert_eq!(again.json::<Value>().await.unwrap(), first, "{same}");
    }
    // Only a different request is a conflict.
    for other in [
        r#"{"amount":1001,"description":"a","label":"L"}"#,
        r#"{"amount":1000,"description":"a ","label":"L"}"#,
        r#"{"amount":1000,"description":"a","label":"L","single_use":false}"#,
    ] {
        assert_problem(
            post_raw_with_key(&app, "k", other).await,
            409,
            "idempotency_key_reused",
        )
        .await;
    }
    assert_eq!(app.list_all().await.len(), 1);
}

#[tokio::test]
async fn a_label_is_any_utf8_string_but_nul_up_to_1024_characters() {
    let app = spawn_app().await;
    let long = "é".repeat(300);
    let max = "x".repeat(1024);
    for label in ["tab\there", "", long.as_str(), "line\nbreak", max.as_str()] {
        let body = app
            .create_ok(&json!({"amount": 1, "description": "x", "label": label}))
            .await;
        assert_eq!(body["label"], label);
        let query: String = form_urlencoded::Serializer::new(String::new())
            .append_pair("label", label)
            .finish();
        let listed: Value = app
            .get(&format!("/v1/invoicerequests?{query}"))
            .await
            .json()
            .await
            .unwrap();
        assert_eq!(
            listed["invoicerequests"].as_array().unwrap().len(),
            1,
            "{label:?}"
        );
        assert_eq!(listed["invoicerequests"][0]["invreq_id"], body["invreq_id"]);
    }
    for label in ["nul\u{0}", &"x".repeat(1025)] {
        let p = assert_problem(
            app.create(&json!({"amount": 1, "description": "x", "label": label}))
                .await,
            400,
            "invalid_field",
        )
        .await;
        assert_eq!(p["field"], "label");
    }
}

#[tokio::test]
async fn every_number_is_accepted_or_refused_naming_its_bound() {
    let app = spawn_app().await;
    for raw in [
        "9223372036854775808",
        "18446744073709551615",
        "18446744073709551616",
        "100000000000000000000000",
    ] {
        let body = format!(r#"{{"amount":1,"description":"x","absolute_expiry":{raw}}}"#);
        let p = assert_problem(
            app.post_raw("/v1/invoicerequests", "application/json", body)
                .await,
            400,
            "invalid_field",
        )
        .await;
        assert_eq!(p["field"], "absolute_expiry", "{raw}");
        let detail = p["detail"].as_str().unwrap();
        assert!(
            detail.contains("too far in the future (at most 9223372036854775807"),
            "{raw}: {detail}"
        );
    }
    for (raw, says) in [
        ("-5", "in the future"),
        ("1.5", "whole number"),
        ("\"1900000000\"", "seconds since 1970"),
        ("1", "in the future"),
    ] {
        let body = format!(r#"{{"amount":1,"description":"x","absolute_expiry":{raw}}}"#);
        let p = assert_problem(
            app.post_raw("/v1/invoicerequests", "application/json", body)
                .await,
            400,
            "invalid_field",
        )
        .await;
        assert_eq!(p["field"], "absolute_expiry", "{raw}");
        assert!(p["detail"].as_str().unwrap().contains(says), "{raw}: {p}");
    }
    let p = assert_problem(
        app.create(&json!({"amount": "21000000.00000000001btc", "description": "x"}))
            .await,
        400,
        "invalid_field",
    )
    .await;
    assert_eq!(p["field"], "amount");
}

#[tokio::test]
async fn server_settings_whose_sums_overflow_are_refused_at_start_up() {
    for (default, max) in [
        (Some(u64::MAX), None),
        (None, Some(u64::MAX)),
        (Some(60), Some(30)),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let mut args = invreqd::config::ServeArgs::for_tests(dir.path().to_path_buf());
        args.default_expiry_secs = default;
        args.max_expiry_secs = max;
        let err = invreqd::startup::Application::build(&args)
            .await
            .err()
            .expect("refused at start-up");
        assert!(err.to_string().contains("-expiry-secs"), "{err}");
    }
}

#[tokio::test]
async fn bodies_and_queries_are_read_strictly_naming_the_field() {
    let app = spawn_app().await;
    let cases = [
        (
            json!({"amount": 1, "description": "x", "colour": "red"}),
            "unknown_field",
            "colour",
        ),
        (json!({"description": "x"}), "invalid_field", "amount"),
        (json!({"amount": 1}), "invalid_field", "description"),
        (
            json!({"amount": 1, "description": "x", "single_use": "yes"}),
            "invalid_field",
            "single_use",
        ),
        (
            json!({"amount": true, "description": "x"}),
            "invalid_field",
            "amount",
        ),
        (
            json!({"amount": 1, "description": ["x"]}),
            "invalid_field",
            "description",
        ),
    ];
    for (body, code, field) in cases {
        let p = assert_problem(app.create(&body).await, 400, code).await;
        assert_eq!(p["field"], field, "{body}");
    }
    // A member given twice, at any depth, is refused.
    for raw in [
        r#"{"amount":1,"amount":2,"description":"x"}"#,
        r#"{"name":"n","tenant":"t","scopes":["admin"],"x":{"a":1,"a":2}}"#,
    ] {
        assert_problem(
            app.post_raw("/v1/invoicerequests", "application/json", raw.to_owned())
                .await,
            400,
            "invalid_json",
        )
        .await;
    }
    for query in [
        "colour=red",
        "limit=1&limit=2",
        "cursor=%2B5",
        "cursor=01",
        "limit=0",
        "active_only=yes",
    ] {
        let res = app.get(&format!("/v1/invoicerequests?{query}")).await;
        let p = assert_problem(res, 400, "invalid_parameter").await;
        assert!(p["field"].is_string(), "{query}: {p}");
    }
}

#[tokio::test]
async fn every_code_the_server_sends_is_in_the_document() {
    let app = spawn_app().await;
    let doc: Value = app.get("/openapi.json").await.json().await.unwrap();
    let codes: Vec<&str> = doc["components"]["schemas"]["ErrorCode"]["enum"]
        .as_array()
        .expect("ErrorCode is an enum")
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let all: Vec<&str> = invreqd::error_code::ErrorCode::ALL
        .iter()
        .map(|c| c.as_str())
        .collect();
    assert_eq!(codes, all);
}
