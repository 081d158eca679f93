//! Claim pages over HTTP: the token and `claim_url`, the page's content and headers, the
//! friendly pages with their status codes, rotation and revocation, and the status long-poll.
//! (The page in a real browser: `tests/claim_browser.rs`.)

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, seed_request, spawn_app};

fn claim_request() -> Value {
    let mut body = seed_request();
    body["claim_page"] = json!(true);
    body
}

fn token_of(claim_url: &Value) -> String {
    let url = claim_url.as_str().expect("claim_url");
    url.strip_prefix("/claim/")
        .unwrap_or_else(|| panic!("claim_url {url} is not /claim/<token>"))
        .to_owned()
}

async fn anon_get(app: &TestApp, path: &str) -> reqwest::Response {
    app.anon
        .get(app.url(path))
        .send()
        .await
        .expect("request sent")
}

fn header<'a>(res: &'a reqwest::Response, name: &str) -> &'a str {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// A friendly HTML page with this status, and the claim headers.
async fn assert_notice(res: reqwest::Response, status: u16, words: &str) -> String {
    assert_eq!(res.status(), status);
    assert_eq!(header(&res, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&res, "cache-control"), "no-store");
    assert!(header(&res, "x-robots-tag").contains("noindex"));
    let body = res.text().await.unwrap();
    assert!(body.contains(words), "{words:?} not in {body}");
    assert!(!body.contains("lnr1"), "{body}");
    body
}

#[tokio::test]
async fn a_claim_page_has_a_random_token_never_the_id() {
    let app = spawn_app().await;
    let plain = app.create_ok(&seed_request()).await;
    assert!(plain.get("claim_url").is_none(), "{plain}");

    let a = app.create_ok(&claim_request()).await;
    let b = app.create_ok(&claim_request()).await;
    let (ta, tb) = (token_of(&a["claim_url"]), token_of(&b["claim_url"]));
    assert_ne!(ta, tb);
    for (t, body) in [(&ta, &a), (&tb, &b)] {
        assert_eq!(t.len(), 22, "128 bits in URL-safe base64: {t}");
        assert!(
            t.bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
        );
        let id = body["invreq_id"].as_str().unwrap();
        assert!(!id.contains(t.as_str()) && !t.contains(&id[..8]));
    }
    // GET and the list show the same claim_url; explicit false means none.
    let id = a["invreq_id"].as_str().unwrap();
    let got: Value = app
        .get(&format!("/v1/invoicerequests/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got, a);
    let listed = app.list_all().await;
    let row = listed.iter().find(|r| r["invreq_id"] == id).unwrap();
    assert_eq!(row["claim_url"], a["claim_url"]);
    let without = listed
        .iter()
        .find(|r| r["invreq_id"] == plain["invreq_id"])
        .unwrap();
    assert!(without.get("claim_url").is_none());
    let mut off = seed_request();
    off["claim_page"] = json!(false);
    assert!(app.create_ok(&off).await.get("claim_url").is_none());
    off["claim_page"] = json!("yes");
    let p = assert_problem(app.create(&off).await, 400, "invalid_field").await;
    assert_eq!(p["field"], "claim_page");
}

#[tokio::test]
async fn the_page_shows_the_request_under_a_strict_policy() {
    let app = spawn_app().await;
    let created = app.create_ok(&claim_request()).await;
    let lnr = created["bolt12"].as_str().unwrap();
    let url = created["claim_url"].as_str().unwrap();

    // No API key: the token is the credential.
    let res = anon_get(&app, url).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "content-type"), "text/html; charset=utf-8");
    assert_eq!(header(&res, "cache-control"), "no-store");
    assert_eq!(header(&res, "x-robots-tag"), "noindex, nofollow");
    assert_eq!(header(&res, "referrer-policy"), "no-referrer");
    assert_eq!(header(&res, "x-frame-options"), "DENY");
    let csp = header(&res, "content-security-policy").to_owned();
    for directive in [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
    ] {
        assert!(csp.contains(directive), "{directive} missing from {csp}");
    }
    assert!(!csp.contains("unsafe"), "{csp}");
    let page = res.text().await.unwrap();
    assert!(page.contains(&format!(">{lnr}</textarea>")), "{page}");
    assert!(page.contains(&format!("href=\"lightning:{lnr}\"")));
    assert!(page.contains("<span id=\"amount\">10,000 sat</span>"));
    assert!(!page.contains("msat"), "a whole amount shows no msat");
    assert!(page.contains("clightning test suite"));
    assert!(page.contains("simple test"));
    assert!(page.contains("data-status=\"open\">Ready to claim</p>"));
    assert!(page.contains("<label for=\"lnr\">"));
    assert!(page.contains("lang=\"en\""));
    // Nothing inline that the policy would block, nothing from elsewhere.
    assert!(!page.contains("<script>") && !page.contains(" style="));
    assert!(page.contains("<script src=\"assets/claim.js?v="));
    assert!(!page.contains("http://") && !page.contains("https://"));
    // The id never appears on the page.
    assert!(!page.contains(created["invreq_id"].as_str().unwrap()));

    // The page's own assets, same origin, no key.
    let token = token_of(&created["claim_url"]);
    for (path, ct) in [
        ("/claim/assets/claim.js", "text/javascript; charset=utf-8"),
        ("/claim/assets/claim.css", "text/css; charset=utf-8"),
        (&format!("/claim/{token}/qr.svg") as &str, "image/svg+xml"),
    ] {
        let res = anon_get(&app, path).await;
        assert_eq!(res.status(), 200, "{path}");
        assert_eq!(header(&res, "content-type"), ct, "{path}");
        assert_eq!(header(&res, "x-content-type-options"), "nosniff");
    }
}

#[tokio::test]
async fn text_is_escaped_and_msat_shown_when_not_whole() {
    let app = spawn_app().await;
    let created = app
        .create_ok(&json!({
            "amount": 10_000_500, "description": "<script>alert(\"x\")</script> & co",
            "issuer": "O'Brien <b>", "claim_page": true
        }))
        .await;
    let page = anon_get(&app, created["claim_url"].as_str().unwrap())
        .await
        .text()
        .await
        .unwrap();
    assert!(page.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"));
    assert!(page.contains("O&#39;Brien &lt;b&gt;"));
    assert!(!page.contains("<script>alert"));
    assert!(page.contains("10,000.5 sat"));
    assert!(page.contains("10,000,500 msat"));
}

#[tokio::test]
async fn unknown_revoked_disabled_and_expired_tokens_get_friendly_pages() {
    let app = spawn_app().await;
    // Unknown (well-formed) and malformed tokens: 404.
    assert_notice(
        anon_get(&app, "/claim/AAAAAAAAAAAAAAAAAAAAAA").await,
        404,
        "not found",
    )
    .await;
    assert_notice(anon_get(&app, "/claim/not-a-token").await, 404, "not found").await;
    assert_problem(
        anon_get(&app, "/claim/AAAAAAAAAAAAAAAAAAAAAA/status").await,
        404,
        "claim_not_found",
    )
    .await;

    // Disabled: 410, and the status endpoint says so (a live page learns it).
    let created = app.create_ok(&claim_request()).await;
    let url = created["claim_url"].as_str().unwrap().to_owned();
    let id = created["invreq_id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/v1/invoicerequests/{id}"))
            .await
            .status(),
        200
    );
    assert_notice(anon_get(&app, &url).await, 410, "withdrawn").await;
    let status: Value = anon_get(&app, &format!("{url}/status"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(status["status"], "disabled");
    assert_problem(
        anon_get(&app, &format!("{url}/qr.svg")).await,
        410,
        "claim_unavailable",
    )
    .await;

    // Expired: 410 with the time it ended.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut body = claim_request();
    // Three seconds to create and look on a loaded machine, then wait past the expiry.
    body["absolute_expiry"] = json!(now + 3);
    let soon = app.create_ok(&body).await;
    let soon_url = soon["claim_url"].as_str().unwrap();
    assert_eq!(anon_get(&app, soon_url).await.status(), 200);
    let ended = std::time::UNIX_EPOCH + Duration::from_secs(now + 4);
    if let Ok(d) = ended.duration_since(std::time::SystemTime::now()) {
        tokio::time::sleep(d).await;
    }
    assert_notice(anon_get(&app, soon_url).await, 410, "expired").await;
}

#[tokio::test]
async fn rotation_retires_the_old_link_and_revocation_removes_it() {
    let app = spawn_app().await;
    let created = app.create_ok(&claim_request()).await;
    let id = created["invreq_id"].as_str().unwrap();
    let old = created["claim_url"].as_str().unwrap().to_owned();
    let claim = format!("/v1/invoicerequests/{id}/claim");

    let res = app.post_json(&claim, &json!({})).await;
    assert_eq!(res.status(), 200);
    let rotated: Value = res.json().await.unwrap();
    let new = rotated["claim_url"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_eq!(anon_get(&app, &new).await.status(), 200);
    assert_notice(anon_get(&app, &old).await, 410, "no longer valid").await;
    assert_problem(
        anon_get(&app, &format!("{old}/status")).await,
        410,
        "claim_revoked",
    )
    .await;

    let res = app.delete(&claim).await;
    assert_eq!(res.status(), 200);
    let revoked: Value = res.json().await.unwrap();
    assert!(revoked.get("claim_url").is_none(), "{revoked}");
    assert_notice(anon_get(&app, &new).await, 410, "no longer valid").await;
    let got: Value = app
        .get(&format!("/v1/invoicerequests/{id}"))
        .await
        .json()
        .await
        .unwrap();
    assert!(got.get("claim_url").is_none());
    // Revoking again changes nothing; a request without a page can be given one.
    assert_eq!(app.delete(&claim).await.status(), 200);
    let plain = app.create_ok(&seed_request()).await;
    let plain_claim = format!(
        "/v1/invoicerequests/{}/claim",
        plain["invreq_id"].as_str().unwrap()
    );
    let given: Value = app
        .post_json(&plain_claim, &json!({}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        anon_get(&app, given["claim_url"].as_str().unwrap())
            .await
            .status(),
        200
    );

    // Nothing left to claim: 409. Other tenants and read-only keys: 404 and 403.
    assert_eq!(
        app.delete(&format!("/v1/invoicerequests/{id}"))
            .await
            .status(),
        200
    );
    assert_problem(
        app.post_json(&claim, &json!({})).await,
        409,
        "already_inactive",
    )
    .await;
    let other = app.tenant_client("other", json!({})).await;
    let res = other.post(app.url(&plain_claim)).send().await.unwrap();
    assert_problem(res, 404, "not_found").await;
    let (reader, _) = app
        .create_key(&json!({"name": "r", "tenant": "default", "scopes": ["invoicerequests:read"]}))
        .await;
    let reader = crate::helpers::client_with_key(&reader);
    let res = reader.delete(app.url(&plain_claim)).send().await.unwrap();
    assert_problem(res, 403, "missing_scope").await;
    let res = reader.post(app.url(&plain_claim)).send().await.unwrap();
    assert_problem(res, 403, "missing_scope").await;
    // Without a key the management routes are closed.
    let res = app.anon.post(app.url(&plain_claim)).send().await.unwrap();
    assert_problem(res, 401, "unauthenticated").await;

    // Each rotation and revocation is in the audit trail, refusals with their reason.
    let store = invreqd::store::Store::connect(&invreqd::store::StoreOptions::new(
        invreqd::config::default_database_url(app.data_dir.path()),
    ))
    .await
    .unwrap();
    let trail: Vec<(String, String)> = store
        .audit_log(Some("default"))
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action.starts_with("claim_"))
        .map(|e| (e.action, e.outcome))
        .collect();
    let pair = |a: &str, o: &str| (a.to_owned(), o.to_owned());
    assert_eq!(
        trail,
        vec![
            pair("claim_rotate", "ok"),
            pair("claim_revoke", "ok"),
            pair("claim_revoke", "ok"),
            pair("claim_rotate", "ok"),
            pair("claim_rotate", "already_inactive"),
        ]
    );
}

#[tokio::test]
async fn the_status_long_poll_answers_at_once_on_change_and_after_wait_otherwise() {
    let app = spawn_app().await;
    let created = app.create_ok(&claim_request()).await;
    let url = created["claim_url"].as_str().unwrap().to_owned();
    let id = created["invreq_id"].as_str().unwrap().to_owned();

    let res = anon_get(&app, &format!("{url}/status")).await;
    assert_eq!(res.status(), 200);
    assert_eq!(header(&res, "cache-control"), "no-store");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["status"], "open");
    assert!(body["paid_at"].is_null());
    assert!(body["now"].as_u64().is_some());

    // Held for `wait` while nothing changes.
    let started = Instant::now();
    let body: Value = anon_get(&app, &format!("{url}/status?since=open&wait=1"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["status"], "open");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );

    // A change ends the wait early.
    let held = tokio::spawn({
        let client = app.anon.clone();
        let u = app.url(&format!("{url}/status?since=open&wait=20"));
        async move {
            let started = Instant::now();
            let body: Value = client.get(u).send().await.unwrap().json().await.unwrap();
            (body, started.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.delete(&format!("/v1/invoicerequests/{id}"))
            .await
            .status(),
        200
    );
    let (body, took) = held.await.unwrap();
    assert_eq!(body["status"], "disabled");
    assert!(took < Duration::from_secs(3), "{took:?}");

    // A link revoked while a page waits on it: 410 at once.
    let other = app.create_ok(&claim_request()).await;
    let other_id = other["invreq_id"].as_str().unwrap().to_owned();
    let held = tokio::spawn({
        let client = app.anon.clone();
        let u = app.url(&format!(
            "{}/status?since=open&wait=20",
            other["claim_url"].as_str().unwrap()
        ));
        async move {
            let started = Instant::now();
            let res = client.get(u).send().await.unwrap();
            (res, started.elapsed())
        }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let revoke = app
        .delete(&format!("/v1/invoicerequests/{other_id}/claim"))
        .await;
    assert_eq!(revoke.status(), 200);
    let (res, took) = held.await.unwrap();
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_problem(res, 410, "claim_revoked").await;

    for bad in ["since=nope", "wait=21", "wait=-1", "colour=red"] {
        assert_problem(
            anon_get(&app, &format!("{url}/status?{bad}")).await,
            400,
            "invalid_parameter",
        )
        .await;
    }
}

#[tokio::test]
async fn tokens_and_lnr_strings_stay_out_of_the_logs() {
    let app = spawn_app().await;
    let created = app.create_ok(&claim_request()).await;
    let url = created["claim_url"].as_str().unwrap();
    let token = token_of(&created["claim_url"]);
    for path in [
        url.to_owned(),
        format!("{url}/status"),
        format!("{url}/qr.svg"),
    ] {
        assert_eq!(anon_get(&app, &path).await.status(), 200, "{path}");
    }
    let logs = crate::helpers::logs();
    assert!(
        logs.contains("/claim/{token}"),
        "the route template is logged"
    );
    assert!(!logs.contains(&token), "a claim token reached the logs");
}
