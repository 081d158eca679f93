use invreqd::bolt12::{InvoiceRequest, Network};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{assert_problem, seed_request, spawn_app};

#[tokio::test]
async fn seed_request_gives_a_signed_verifiable_lnr() {
    let app = spawn_app().await;
    let res = app.create(&seed_request()).await;
    assert_eq!(res.status(), 201);
    let location = res.headers()["location"].to_str().unwrap().to_string();
    let body: Value = res.json().await.unwrap();
    for field in ["invreq_id", "active", "single_use", "bolt12", "used"] {
        assert!(body.get(field).is_some(), "missing {field} in {body}");
    }
    assert_eq!(body["active"], true);
    assert_eq!(body["single_use"], true);
    assert_eq!(body["used"], false);
    assert_eq!(body["status"], "open");
    assert_eq!(body["amount_msat"], 10_000_000);
    assert!(body.get("label").is_none(), "no label given: {body}");
    let id = body["invreq_id"].as_str().unwrap();
    assert_eq!(location, format!("/v1/invoicerequests/{id}"));

    let lnr = body["bolt12"].as_str().unwrap();
    assert!(lnr.starts_with("lnr1"));
    let parsed = InvoiceRequest::decode(lnr).expect("decodes, signature valid");
    assert_eq!(parsed.amount_msat(), Some(10_000_000));
    assert_eq!(parsed.description(), Some("simple test"));
    assert_eq!(parsed.issuer(), Some("clightning test suite"));
    assert_eq!(parsed.network(), Some(Network::Regtest));
    assert!(parsed.signature().is_some());
    assert_eq!(hex::encode(parsed.invreq_id()), id);

    // invreq_id is SHA256 of the raw TLV records below type 160, computed independently here.
    let bytes = parsed.bytes();
    let mut i = 0;
    let mut hasher = Sha256::new();
    while i < bytes.len() {
        let start = i;
        let (typ, n) = bigsize(&bytes[i..]);
        i += n;
        let (len, n) = bigsize(&bytes[i..]);
        i += n + len as usize;
        if typ < 160 {
            hasher.update(&bytes[start..i]);
        }
    }
    assert_eq!(hex::encode(hasher.finalize()), id);

    // The payer id is the dev signer's public key, kept in the data directory.
    let key = std::fs::read_to_string(app.data_dir.path().join("dev-signer.key")).unwrap();
    let secret = invreqd::bolt12::SecretKey::from_slice(&hex::decode(key.trim()).unwrap()).unwrap();
    let public = invreqd::bolt12::PublicKey::from_secret_key(invreqd::bolt12::secp(), &secret);
    assert_eq!(parsed.payer_id(), public);
}

fn bigsize(b: &[u8]) -> (u64, usize) {
    match b[0] {
        0xfd => (u16::from_be_bytes([b[1], b[2]]) as u64, 3),
        0xfe => (u32::from_be_bytes(b[1..5].try_into().unwrap()) as u64, 5),
        0xff => (u64::from_be_bytes(b[1..9].try_into().unwrap()), 9),
        v => (v as u64, 1),
    }
}

#[tokio::test]
async fn all_fields_are_encoded_and_echoed() {
    let app = spawn_app().await;
    let expiry = invreqd::service::unix_now() + 3600;
    let body = app
        .create_ok(&json!({
            "amount": "0.00000001btc", "description": "caf\u{e9} \u{2713}", "issuer": "shop",
            "label": "order-1", "absolute_expiry": expiry, "single_use": false
        }))
        .await;
    assert_eq!(body["label"], "order-1");
    assert_eq!(body["single_use"], false);
    assert_eq!(body["amount_msat"], 1000);
    assert_eq!(body["absolute_expiry"], expiry);
    let parsed = InvoiceRequest::decode(body["bolt12"].as_str().unwrap()).unwrap();
    assert_eq!(parsed.absolute_expiry(), Some(expiry));
    assert_eq!(parsed.description(), Some("café ✓"));
    assert_eq!(parsed.amount_msat(), Some(1000));
}

#[tokio::test]
async fn json_escapes_are_accepted_in_text() {
    let app = spawn_app().await;
    let res = app
        .post_raw(
            "/v1/invoicerequests",
            "application/json",
            r#"{"amount":1000,"description":"caf\u00e9"}"#,
        )
        .await;
    assert_eq!(res.status(), 201);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["description"], "café");
}

#[tokio::test]
async fn every_bad_input_is_a_4xx_problem_and_stores_nothing() {
    let app = spawn_app().await;
    let cases: Vec<(Value, &str, &str)> = vec![
        (json!({"description": "x"}), "invalid_field", "amount"),
        (
            json!({"amount": 0, "description": "x"}),
            "invalid_field",
            "amount",
        ),
        (
            json!({"amount": "10sats", "description": "x"}),
            "invalid_field",
            "amount",
        ),
        (
            json!({"amount": 1.5, "description": "x"}),
            "invalid_field",
            "amount",
        ),
        (
            json!({"amount": "1.5sat", "description": "x"}),
            "invalid_field",
            "amount",
        ),
        (
            json!({"amount": null, "description": "x"}),
            "invalid_field",
            "amount",
        ),
        (
            json!({"amount": "22000000btc", "description": "x"}),
            "invalid_field",
            "amount",
        ),
        (json!({"amount": 1}), "invalid_field", "description"),
        (
            json!({"amount": 1, "description": ""}),
            "invalid_field",
            "description",
        ),
        (
            json!({"amount": 1, "description": "a\u{1}b"}),
            "invalid_field",
            "description",
        ),
        (
            json!({"amount": 1, "description": "x", "issuer": 7}),
            "invalid_field",
            "issuer",
        ),
        (
            json!({"amount": 1, "description": "x", "absolute_expiry": 1}),
            "invalid_field",
            "absolute_expiry",
        ),
        (
            json!({"amount": 1, "description": "x", "single_use": "true"}),
            "invalid_field",
            "single_use",
        ),
        (
            json!({"amount": 1, "description": "x", "extra": 1}),
            "unknown_field",
            "extra",
        ),
    ];
    for (body, code, field) in cases {
        let problem = assert_problem(app.create(&body).await, 400, code).await;
        assert_eq!(problem["field"], field, "{body}: {problem}");
    }
    let raw_cases: Vec<(&str, &str, u16, &str)> = vec![
        ("application/json", "{", 400, "invalid_json"),
        ("application/json", "[1,2]", 400, "invalid_json"),
        ("application/json", "", 400, "invalid_json"),
        (
            "application/json",
            r#"{"amount":1,"description":"x","amount":2}"#,
            400,
            "invalid_json",
        ),
        ("application/json", "null", 400, "invalid_json"),
        ("application/json", r#""text""#, 400, "invalid_json"),
        (
            "application/json",
            r#"{"amount":1,"description":"\ud800"}"#,
            400,
            "invalid_json",
        ),
        (
            "text/plain",
            r#"{"amount":1,"description":"x"}"#,
            415,
            "unsupported_media_type",
        ),
    ];
    for (ct, body, status, code) in raw_cases {
        assert_problem(
            app.post_raw("/v1/invoicerequests", ct, body).await,
            status,
            code,
        )
        .await;
    }
    let huge = format!(r#"{{"amount":1,"description":"{}"}}"#, "a".repeat(100_000));
    assert_problem(
        app.post_raw("/v1/invoicerequests", "application/json", huge)
            .await,
        413,
        "body_too_large",
    )
    .await;
    assert!(app.list_all().await.is_empty(), "nothing stored");
}

#[tokio::test]
async fn a_label_is_unique() {
    let app = spawn_app().await;
    app.create_ok(&json!({"amount": 1, "description": "x", "label": "L"}))
        .await;
    let problem = assert_problem(
        app.create(&json!({"amount": 2, "description": "y", "label": "L"}))
            .await,
        409,
        "label_taken",
    )
    .await;
    assert_eq!(problem["field"], "label");
    assert_eq!(app.list_all().await.len(), 1);
}
