//! The claim page in a real browser (Debian's headless `chromium`): rendered at phone and desktop
//! width (screenshots kept in `target/claim-page/`), the lnr, amount and status in the DOM the
//! browser built, the script running under the page's Content-Security-Policy, the QR as shown
//! on screen read back by an independent decoder, and — after the request is paid through the
//! CLN double — `paid` on the same page without a reload.
//!
//! Its own test binary: it reads process-wide metrics (the long-poll gauge, the page's request
//! count), which no other test may move meanwhile.

#[allow(dead_code)]
#[path = "api/cln_support.rs"]
mod cln_support;
#[allow(dead_code)]
#[path = "api/helpers.rs"]
mod helpers;
#[path = "api/tools.rs"]
mod tools;

use std::time::{Duration, Instant};

use serde_json::json;

use cln_support::{spawn_cln_app, start_double};
use helpers::TestApp;
use tools::{Chromium, artifacts_dir, chromium, decode_qr, qr_python, skip_or_fail};

/// The value of the first metrics line that starts with `name` and contains every label.
async fn metric(app: &TestApp, name: &str, labels: &[&str]) -> f64 {
    let text = app
        .anon
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|w| l.contains(w)))
        .find_map(|l| l.rsplit(' ').next().and_then(|v| v.parse().ok()))
        .unwrap_or(0.0)
}

/// The text of the element with this id in a DOM dump (first text run after its start tag).
fn element<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in {dom}"));
    let rest = &dom[at..];
    let open_end = rest.find('>').unwrap();
    &rest[..open_end + 1 + rest[open_end + 1..].find('<').unwrap()]
}

#[tokio::test]
async fn the_claim_page_in_chromium_turns_paid_without_a_reload() {
    let Some(bin) = chromium() else {
        skip_or_fail(
            "claim_browser::the_claim_page_in_chromium_turns_paid_without_a_reload",
            "chromium not found (apt-get install chromium; .ci/run does)",
            "INVREQD_REQUIRE_BROWSER",
        );
        return;
    };
    let double = start_double().await;
    let app = spawn_cln_app(&double).await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let created = app
        .create_ok(&json!({
            "amount": "10000sat", "description": "Refund for order 4711",
            "issuer": "Example Shop", "absolute_expiry": now + 2 * 3600,
            "claim_page": true
        }))
        .await;
    let id = created["invreq_id"].as_str().unwrap().to_owned();
    let lnr = created["bolt12"].as_str().unwrap().to_owned();
    let url = app.url(created["claim_url"].as_str().unwrap());
    let browser = Chromium::new(bin);
    let dir = artifacts_dir("claim-page");

    // As loaded: the browser's DOM (virtual time stops before the first status poll).
    let dom = browser.dump_dom(&url, 390, 844, 300).await;
    std::fs::write(dir.join("open.html"), &dom).unwrap();
    assert!(dom.contains(&format!(">{lnr}</textarea>")), "lnr in {dom}");
    assert!(element(&dom, "amount").ends_with(">10,000 sat"), "{dom}");
    assert!(element(&dom, "status").contains("data-status=\"open\""));
    assert!(element(&dom, "status").ends_with(">Ready to claim"));
    assert!(element(&dom, "issuer").ends_with(">Example Shop"));
    // The same-origin script ran under the policy: countdown filled, copy button shown.
    let countdown = element(&dom, "countdown");
    assert!(
        countdown.ends_with(" min left)") || countdown.ends_with(" h left)"),
        "{countdown}"
    );
    assert!(!element(&dom, "copy").contains("hidden"), "{dom}");

    // Phone and desktop screenshots; the QR as drawn on the phone reads back to the lnr.
    let phone = dir.join("phone.png");
    let desktop = dir.join("desktop.png");
    browser.screenshot(&url, 390, 844, &phone).await;
    browser.screenshot(&url, 1280, 900, &desktop).await;
    match qr_python() {
        Some(python) => {
            for shot in [&phone, &desktop] {
                let texts = decode_qr(&python, shot);
                assert_eq!(texts, vec![lnr.to_uppercase()], "QR in {}", shot.display());
            }
        }
        None => skip_or_fail(
            "claim_browser: decoding the QR in the screenshots",
            "no Python with zxing-cpp and Pillow (.ci/run installs them into .ci-venv)",
            "INVREQD_REQUIRE_QR_DECODER",
        ),
    }

    // Live: load once more and keep the page open while the request is paid.
    let loads_before = metric(
        &app,
        "http_requests_total",
        &["route=\"/claim/{token}\"", "status=\"200\""],
    )
    .await;
    let live = tokio::spawn({
        let browser_url = url.clone();
        async move { browser.dump_dom(&browser_url, 390, 844, 60_000).await }
    });
    // Pay once the page is waiting on its long-poll, so the change can only reach it there.
    let deadline = Instant::now() + Duration::from_secs(60);
    while metric(&app, "claim_status_waiters", &[]).await < 1.0 {
        assert!(
            Instant::now() < deadline,
            "the page never started its long-poll"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let paid = double.simulate_payment(&id, 10_000_000).expect("paid");
    let dom = live.await.unwrap();
    std::fs::write(dir.join("paid.html"), &dom).unwrap();
    let status = element(&dom, "status");
    assert!(status.contains("data-status=\"paid\""), "{dom}");
    assert!(status.contains(">Paid on "), "{status}");
    assert!(
        element(&dom, "claim-actions").contains("hidden"),
        "QR and lnr hidden once paid"
    );
    let loads_after = metric(
        &app,
        "http_requests_total",
        &["route=\"/claim/{token}\"", "status=\"200\""],
    )
    .await;
    assert_eq!(
        loads_after - loads_before,
        1.0,
        "the page was loaded once, never reloaded"
    );
    let body: serde_json::Value = app
        .get(&format!("/v1/invoicerequests/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["payment"]["payment_hash"], paid.payment_hash);
}
