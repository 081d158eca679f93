use serde_json::{Value, json};

use crate::helpers::{assert_problem, seed_request, spawn_app};

const SEED_LNR: &str = "lnr1qqgteyhfyp40c79a5y3gfe33nxfs6zstwd5k6urvv5s8getnwsfp2cmvd9nksarwd9hxwgr5v4ehggrnw45hge2syqrzymjxzydqkkw24ufxqslttwlj3s608f0rx2slc7etw0833zgs75srnztgqkppqfnwgkvdr57yzh6h92zg3qctvrm7w38djg67kzcm4yeg8vc4cq633uzq99smfawuu6pz0zh9jl6dl8v25u3kzes975x2j9tr0qp0ux0tlzcxjrgehxh9luz5vwjpk92tys9f9zlm038krcz4uqfxgelwf43tgfc";

#[tokio::test]
async fn decode_reads_the_seed() {
    let app = spawn_app().await;
    let res = app
        .post_json("/v1/decode", &json!({"bolt12": SEED_LNR}))
        .await;
    assert_eq!(res.status(), 200);
    let d: Value = res.json().await.unwrap();
    assert_eq!(
        d["invreq_id"],
        "715484ead84bcdae5b33e3015c686fa1bdd4ae9ade3c4729b58257a98cfcd9b5"
    );
    assert_eq!(d["signature_valid"], true);
    assert_eq!(d["offer_description"], "simple test");
    assert_eq!(d["offer_issuer"], "clightning test suite");
    assert_eq!(d["invreq_amount_msat"], 10_000_000);
    assert_eq!(d["network"], "regtest");
    assert_eq!(d["invreq_metadata"], "bc92e9206afc78bda12284e63199930d");
    assert_eq!(
        d["invreq_payer_id"],
        "0266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c03518"
    );
    // Uppercase is the same request.
    let up: Value = app
        .post_json("/v1/decode", &json!({"bolt12": SEED_LNR.to_uppercase()}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(up["invreq_id"], d["invreq_id"]);
}

#[tokio::test]
async fn decode_of_our_own_output_and_of_garbage() {
    let app = spawn_app().await;
    let created = app.create_ok(&seed_request()).await;
    let d: Value = app
        .post_json("/v1/decode", &json!({"bolt12": created["bolt12"]}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(d["invreq_id"], created["invreq_id"]);
    assert_eq!(d["signature_valid"], true);

    // A flipped character breaks the signature (or the encoding): a 400, never a 5xx.
    let lnr = SEED_LNR.to_string();
    let mut tampered: Vec<char> = lnr.chars().collect();
    let i = 60;
    tampered[i] = if tampered[i] == 'q' { 'p' } else { 'q' };
    let tampered: String = tampered.into_iter().collect();
    for bad in [
        tampered.as_str(),
        "lnr1",
        "lno1qgsqvgnwgcg35z6ee2h3yczraddm72xrfua9uve2rlrm9deu7xyfzrc",
        "LnR1qq",
        "hello",
    ] {
        let p = assert_problem(
            app.post_json("/v1/decode", &json!({"bolt12": bad})).await,
            400,
            "invalid_bolt12",
        )
        .await;
        assert_eq!(p["field"], "bolt12");
    }
    assert_problem(
        app.post_json("/v1/decode", &json!({})).await,
        400,
        "invalid_field",
    )
    .await;
    assert_problem(
        app.post_json("/v1/decode", &json!({"bolt12": 5})).await,
        400,
        "invalid_field",
    )
    .await;
    assert_problem(
        app.post_json("/v1/decode", &json!({"bolt12": SEED_LNR, "x": 1}))
            .await,
        400,
        "unknown_field",
    )
    .await;
}

#[tokio::test]
async fn openapi_is_served_and_matches_the_committed_copy() {
    let app = spawn_app().await;
    let served: Value = app.get("/openapi.json").await.json().await.unwrap();
    assert_eq!(served["openapi"], "3.1.0");
    for path in [
        "/v1/invoicerequests",
        "/v1/invoicerequests/{invreq_id}",
        "/v1/decode",
    ] {
        assert!(served["paths"].get(path).is_some(), "{path} documented");
    }
    let committed_path = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json");
    let committed: Value = serde_json::from_str(&std::fs::read_to_string(committed_path).expect(
        "openapi/openapi.json is committed; regenerate with `cargo run -- openapi > openapi/openapi.json`",
    ))
    .unwrap();
    assert_eq!(
        served, committed,
        "openapi/openapi.json is stale: regenerate with `cargo run -- openapi > openapi/openapi.json`"
    );
}

#[tokio::test]
async fn docs_work_offline() {
    let app = spawn_app().await;
    let res = app.get("/docs/").await;
    assert_eq!(res.status(), 200);
    let html = res.text().await.unwrap();
    assert!(html.contains("swagger"), "swagger ui page");
    assert!(
        !html.contains("https://"),
        "no external URL in the docs page"
    );
    let js = app.get("/docs/swagger-ui-bundle.js").await;
    assert_eq!(js.status(), 200);
    let init = app
        .get("/docs/swagger-initializer.js")
        .await
        .text()
        .await
        .unwrap();
    assert!(init.contains("/openapi.json"), "{init}");
}

#[tokio::test]
async fn unknown_routes_and_methods_are_problems() {
    let app = spawn_app().await;
    assert_problem(app.get("/nope").await, 404, "route_not_found").await;
    let res = app
        .client
        .put(app.url("/v1/invoicerequests"))
        .send()
        .await
        .unwrap();
    assert_problem(res, 405, "method_not_allowed").await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["status"], "ok");
}
