//! `GET /v1/invoicerequests/{id}/qr`: formats, sizes, errors, the version of the longest request
//! the default limits allow, and an independent decoder (zxing-cpp) reading the exact `lnr1…`.

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, seed_request, spawn_app};
use crate::tools::{artifacts_dir, decode_qr, qr_python, skip_or_fail};

async fn qr(app: &TestApp, id: &str, query: &str) -> reqwest::Response {
    app.get(&format!("/v1/invoicerequests/{id}/qr{query}"))
        .await
}

fn png_size(bytes: &[u8]) -> (u32, u32) {
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG signature");
    let be = |o: usize| u32::from_be_bytes(bytes[o..o + 4].try_into().unwrap());
    (be(16), be(20))
}

/// The longest request the default limits allow: 640-byte description and issuer, the largest
/// amount, an expiry.
fn longest_request() -> Value {
    json!({
        "amount": invreqd::service::MAX_MSAT,
        "description": "é".repeat(320),
        "issuer": "x".repeat(640),
        "absolute_expiry": 4_000_000_000u64,
    })
}

#[tokio::test]
async fn svg_and_png_in_the_sizes_asked() {
    let app = spawn_app().await;
    let created = app.create_ok(&seed_request()).await;
    let id = created["invreq_id"].as_str().unwrap();

    let res = qr(&app, id, "").await;
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let version: u32 = res.headers()["x-qr-version"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=40).contains(&version));
    let svg = res.text().await.unwrap();
    assert!(svg.contains("<svg") && svg.contains("shape-rendering=\"crispEdges\""));

    for size in [64, 200, 384, 2048] {
        let res = qr(&app, id, &format!("?format=png&size={size}")).await;
        assert_eq!(res.status(), 200);
        assert_eq!(res.headers()["content-type"], "image/png");
        let (w, h) = png_size(&res.bytes().await.unwrap());
        assert_eq!(w, h);
        // At least the size asked, and whole-pixel modules: a multiple of (version*4+17)+8.
        let side = version * 4 + 17 + 8;
        assert!(w >= size && w < size + side, "{w} for {size}");
        assert_eq!(w % side, 0, "{w} is not a multiple of {side}");
    }

    for bad in [
        "?format=gif",
        "?size=63",
        "?size=2049",
        "?size=big",
        "?colour=red",
        "?size=100&size=200",
    ] {
        assert_problem(qr(&app, id, bad).await, 400, "invalid_parameter").await;
    }
    assert_problem(qr(&app, &"0".repeat(64), "").await, 404, "not_found").await;
    let res = app
        .anon
        .get(app.url(&format!("/v1/invoicerequests/{id}/qr")))
        .send()
        .await
        .unwrap();
    assert_problem(res, 401, "unauthenticated").await;
}

#[tokio::test]
async fn the_longest_request_still_gives_a_readable_code() {
    let app = spawn_app().await;
    let created = app.create_ok(&longest_request()).await;
    let lnr = created["bolt12"].as_str().unwrap();
    let id = created["invreq_id"].as_str().unwrap();
    let res = qr(&app, id, "?format=png&size=600").await;
    assert_eq!(res.status(), 200);
    let version: i16 = res.headers()["x-qr-version"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    // What the module docs promise: at most version 29 (133 modules a side), level L.
    let code = invreqd::qr::Qr::of_bolt12(lnr).unwrap();
    assert_eq!(code.version(), version);
    assert!(
        version <= 29,
        "{} characters gave version {version}",
        lnr.len()
    );
    assert!(
        version > invreqd::qr::MAX_VERSION_AT_M,
        "a long request drops to level L"
    );
    // Lower case would need byte mode: a far bigger code (or none at all).
    assert!(
        lnr.len() > 2000,
        "the longest lnr has {} characters",
        lnr.len()
    );

    let seed = app.create_ok(&seed_request()).await;
    let seed_code = invreqd::qr::Qr::of_bolt12(seed["bolt12"].as_str().unwrap()).unwrap();
    assert!(
        seed_code.version() <= 15,
        "seed: version {}",
        seed_code.version()
    );
}

#[tokio::test]
async fn an_independent_decoder_reads_back_the_exact_lnr() {
    let Some(python) = qr_python() else {
        skip_or_fail(
            "qr::an_independent_decoder_reads_back_the_exact_lnr",
            "no Python with zxing-cpp and Pillow (.ci/run installs them into .ci-venv)",
            "INVREQD_REQUIRE_QR_DECODER",
        );
        return;
    };
    let app = spawn_app().await;
    let dir = artifacts_dir("qr");
    for (name, body) in [("seed", seed_request()), ("longest", longest_request())] {
        let created = app.create_ok(&body).await;
        let lnr = created["bolt12"].as_str().unwrap();
        let id = created["invreq_id"].as_str().unwrap();
        // The smallest image allowed for the seed; a normal one for the longest.
        let size = if name == "seed" { 64 } else { 384 };
        let png = qr(&app, id, &format!("?format=png&size={size}"))
            .await
            .bytes()
            .await
            .unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).unwrap();
        let texts = decode_qr(&python, &path);
        assert_eq!(texts.len(), 1, "{name}: decoded {texts:?}");
        assert_eq!(
            texts[0],
            lnr.to_uppercase(),
            "{name}: upper case in the code"
        );
        assert_eq!(texts[0].to_lowercase(), lnr, "{name}: the exact lnr");
        // And it is still a valid invoice request, read in upper case.
        let decoded = app
            .post_json("/v1/decode", &json!({"bolt12": texts[0]}))
            .await;
        assert_eq!(
            decoded.status(),
            200,
            "{name}: decode the upper-case string"
        );
    }
}
