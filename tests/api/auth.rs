//! API keys through HTTP: 401s, scopes, revocation, expiry, bootstrap, CLI, rate limit,
//! timeout, and no secret in the logs.

use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::{TestApp, assert_problem, client_with_key, logs, spawn_app, spawn_app_with};

const ALL_IR: [&str; 3] = [
    "invoicerequests:read",
    "invoicerequests:write",
    "invoicerequests:disable",
];

async fn assert_401(res: reqwest::Response, code: &str) {
    let challenge = res
        .headers()
        .get("www-authenticate")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    assert!(
        challenge.starts_with("Bearer"),
        "WWW-Authenticate: {challenge:?}"
    );
    assert_problem(res, 401, code).await;
}

#[tokio::test]
async fn missing_malformed_and_unknown_keys_are_401() {
    let app = spawn_app().await;
    let url = app.url("/v1/invoicerequests");
    assert_401(app.anon.get(&url).send().await.unwrap(), "unauthenticated").await;
    assert_401(
        app.anon
            .post(&url)
            .json(&json!({"amount": 1, "description": "x"}))
            .send()
            .await
            .unwrap(),
        "unauthenticated",
    )
    .await;
    assert_401(
        app.anon
            .get(&url)
            .basic_auth("u", Some("p"))
            .send()
            .await
            .unwrap(),
        "unauthenticated",
    )
    .await;
    // Right shape, wrong secret; unknown id; and shapes that are not keys at all.
    let (id, secret) = app.key["ird_".len()..].split_once('_').unwrap();
    let wrong_secret = format!("ird_{id}_{}", "A".repeat(secret.len()));
    let unknown_id = format!("ird_0123456789abcdef_{secret}");
    for bad in [
        wrong_secret.as_str(),
        unknown_id.as_str(),
        "ird_",
        "garbage",
        &app.key[..app.key.len() - 1],
        &format!("{}x", app.key),
    ] {
        let res = app.anon.get(&url).bearer_auth(bad).send().await.unwrap();
        assert_401(res, "invalid_api_key").await;
    }
    // A key is needed on decode and key routes too; not on health, docs and the document.
    assert_401(
        app.anon
            .post(app.url("/v1/decode"))
            .json(&json!({"bolt12": "lnr1"}))
            .send()
            .await
            .unwrap(),
        "unauthenticated",
    )
    .await;
    assert_401(
        app.anon.get(app.url("/v1/keys")).send().await.unwrap(),
        "unauthenticated",
    )
    .await;
    for public in ["/healthz", "/readyz", "/openapi.json", "/docs/"] {
        let res = app.anon.get(app.url(public)).send().await.unwrap();
        assert_eq!(res.status(), 200, "{public}");
    }
    // The valid key works.
    assert_eq!(app.get("/v1/invoicerequests").await.status(), 200);
}

#[tokio::test]
async fn revoked_and_expired_keys_are_401() {
    let app = spawn_app().await;
    let (key, created) = app
        .create_key(&json!({"name": "soon revoked", "tenant": "default", "scopes": ALL_IR}))
        .await;
    let client = client_with_key(&key);
    let url = app.url("/v1/invoicerequests");
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    let key_id = created["key"]["key_id"].as_str().unwrap();
    let res = app
        .anon
        .delete(app.url(&format!("/v1/keys/{key_id}")))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["revoked"], true);
    assert_401(client.get(&url).send().await.unwrap(), "api_key_revoked").await;
    // Revoking again is a conflict; an unknown id a 404.
    let again = app
        .anon
        .delete(app.url(&format!("/v1/keys/{key_id}")))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_problem(again, 409, "already_revoked").await;
    let unknown = app
        .anon
        .delete(app.url("/v1/keys/0000000000000000"))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_problem(unknown, 404, "key_not_found").await;

    let expires_at = invreqd::service::unix_now() + 2; // +2: a whole-second boundary may pass before the server reads it
    let (key, _) = app
        .create_key(&json!({"name": "short", "tenant": "default", "scopes": ALL_IR, "expires_at": expires_at}))
        .await;
    let client = client_with_key(&key);
    assert_eq!(client.get(&url).send().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    assert_401(client.get(&url).send().await.unwrap(), "api_key_expired").await;
}

#[tokio::test]
async fn a_missing_scope_is_403() {
    let app = spawn_app().await;
    let reader = client_with_key(
        &app.create_key(
            &json!({"name": "r", "tenant": "default", "scopes": ["invoicerequests:read"]}),
        )
        .await
        .0,
    );
    let writer = client_with_key(
        &app.create_key(
            &json!({"name": "w", "tenant": "default", "scopes": ["invoicerequests:write"]}),
        )
        .await
        .0,
    );
    let created = app
        .create_ok(&json!({"amount": 1, "description": "x"}))
        .await;
    let path = app.url(&format!(
        "/v1/invoicerequests/{}",
        created["invreq_id"].as_str().unwrap()
    ));
    let url = app.url("/v1/invoicerequests");

    let p = assert_problem(
        reader
            .post(&url)
            .json(&json!({"amount": 1, "description": "x"}))
            .send()
            .await
            .unwrap(),
        403,
        "missing_scope",
    )
    .await;
    assert_eq!(p["required_scope"], "invoicerequests:write");
    // The scope is checked before the body: even a broken body gets the 403.
    assert_problem(
        reader
            .post(&url)
            .header("content-type", "application/json")
            .body("{")
            .send()
            .await
            .unwrap(),
        403,
        "missing_scope",
    )
    .await;
    let p = assert_problem(
        reader.delete(&path).send().await.unwrap(),
        403,
        "missing_scope",
    )
    .await;
    assert_eq!(p["required_scope"], "invoicerequests:disable");
    assert_eq!(reader.get(&path).send().await.unwrap().status(), 200);

    let res = writer.get(&url).send().await.unwrap();
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("insufficient_scope"),
        "RFC 6750 challenge"
    );
    assert_problem(res, 403, "missing_scope").await;
    assert_problem(
        writer.get(&path).send().await.unwrap(),
        403,
        "missing_scope",
    )
    .await;
    assert_eq!(
        writer
            .post(&url)
            .json(&json!({"amount": 1, "description": "y"}))
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    // Invoice request scopes are not admin, and admin is not invoice requests.
    assert_problem(app.get("/v1/keys").await, 403, "missing_scope").await;
    let admin = client_with_key(&app.admin_key);
    assert_problem(admin.get(&url).send().await.unwrap(), 403, "missing_scope").await;
    // The still-active request was untouched by the refused delete.
    let got: Value = app
        .get(&format!(
            "/v1/invoicerequests/{}",
            created["invreq_id"].as_str().unwrap()
        ))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(got["active"], true);
}

#[tokio::test]
async fn admin_routes_create_list_and_validate_keys() {
    let app = spawn_app().await;
    let admin = client_with_key(&app.admin_key);
    let res = admin
        .post(app.url("/v1/keys"))
        .json(&json!({"name": "shop", "tenant": "shop", "scopes": ["invoicerequests:read"], "max_daily_msat": 5000}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()["cache-control"], "no-store");
    let created: Value = res.json().await.unwrap();
    let token = created["api_key"].as_str().unwrap();
    assert!(token.starts_with(&format!(
        "ird_{}_",
        created["key"]["key_id"].as_str().unwrap()
    )));
    assert_eq!(created["key"]["max_daily_msat"], 5000);

    let list: Value = admin
        .get(app.url("/v1/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let keys = list["keys"].as_array().unwrap();
    assert_eq!(
        keys.len(),
        3,
        "bootstrap, the helper's key, and this one: {list}"
    );
    let bootstrap = keys
        .iter()
        .find(|k| k["name"] == "bootstrap-admin")
        .unwrap();
    assert_eq!(bootstrap["scopes"], json!(["admin"]));
    let text = list.to_string();
    assert!(
        !text.contains(token) && !text.contains("api_key") && !text.contains("sha256"),
        "{text}"
    );
    let shop: Value = admin
        .get(app.url("/v1/keys?tenant=shop"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(shop["keys"].as_array().unwrap().len(), 1);

    for (body, field) in [
        (
            json!({"name": "x", "tenant": "t", "scopes": ["root"]}),
            "scopes",
        ),
        (json!({"name": "x", "tenant": "t", "scopes": []}), "scopes"),
        (
            json!({"name": "x", "tenant": "bad tenant", "scopes": ["admin"]}),
            "tenant",
        ),
        (
            json!({"name": "", "tenant": "t", "scopes": ["admin"]}),
            "name",
        ),
        (json!({"tenant": "t", "scopes": ["admin"]}), "name"),
        (
            json!({"name": "x", "tenant": "t", "scopes": ["admin"], "expires_at": 1}),
            "expires_at",
        ),
        (
            json!({"name": "x", "tenant": "t", "scopes": ["admin"], "max_daily_msat": -1}),
            "max_daily_msat",
        ),
        (
            json!({"name": "x", "tenant": "t", "scopes": ["admin"], "colour": 1}),
            "colour",
        ),
    ] {
        let res = admin
            .post(app.url("/v1/keys"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 400, "{body}");
        let p: Value = res.json().await.unwrap();
        assert_eq!(p["field"], field, "{body}: {p}");
    }
    assert_problem(
        admin.delete(app.url("/v1/keys/xyz")).send().await.unwrap(),
        400,
        "invalid_parameter",
    )
    .await;
}

#[tokio::test]
async fn the_bootstrap_key_is_made_once_and_kept_private() {
    let app = spawn_app().await;
    let path = app.data_dir.path().join("bootstrap-admin.key");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let admin_key = app.admin_key.clone();
    let dir = app.stop().await;
    // A restart on the same store makes no new key; the old one still works.
    let args = invreqd::config::ServeArgs::for_tests(dir.path().to_path_buf());
    let app = crate::helpers::start(args, dir).await;
    assert_eq!(app.admin_key, admin_key);
    let admin = client_with_key(&admin_key);
    let list: Value = admin
        .get(app.url("/v1/keys"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bootstrap: Vec<&Value> = list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|k| k["name"] == "bootstrap-admin")
        .collect();
    assert_eq!(bootstrap.len(), 1);
}

#[tokio::test]
async fn concurrent_first_starts_on_one_store_make_one_bootstrap_key() {
    let dir = tempfile::tempdir().unwrap();
    let url = invreqd::config::default_database_url(dir.path());
    let opts = invreqd::store::StoreOptions::new(url);
    // Migrated once, as the first replica would; then each "replica" has its own pool.
    invreqd::store::Store::connect(&opts).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..8 {
        let opts = opts.clone();
        tasks.push(tokio::spawn(async move {
            let store = invreqd::store::Store::connect(&opts).await.unwrap();
            invreqd::service::KeyService::new(store)
                .ensure_bootstrap_key()
                .await
                .unwrap()
                .is_some()
        }));
    }
    let mut made = 0;
    for t in tasks {
        made += usize::from(t.await.unwrap());
    }
    assert_eq!(made, 1);
}

#[tokio::test]
async fn the_cli_creates_lists_and_revokes_keys() {
    let app = spawn_app().await;
    let bin = env!("CARGO_BIN_EXE_invreqd");
    let data_dir = app.data_dir.path().to_str().unwrap().to_string();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin)
            .args(["keys", "--data-dir", &data_dir])
            .args(args)
            .env_remove("INVREQD_DATABASE_URL")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let out = run(&[
        "create",
        "--name",
        "cli key",
        "--tenant",
        "cli-tenant",
        "--scope",
        "invoicerequests:read,invoicerequests:write",
        "--max-per-request-msat",
        "500",
    ]);
    let created: Value = serde_json::from_str(out.trim()).unwrap();
    let key = created["api_key"].as_str().unwrap();
    let key_id = created["key"]["key_id"].as_str().unwrap();
    let client = client_with_key(key);
    let url = app.url("/v1/invoicerequests");
    assert_eq!(
        client
            .post(&url)
            .json(&json!({"amount": 500, "description": "cli"}))
            .send()
            .await
            .unwrap()
            .status(),
        201
    );
    assert_problem(
        client
            .post(&url)
            .json(&json!({"amount": 501, "description": "cli"}))
            .send()
            .await
            .unwrap(),
        403,
        "limit_per_request",
    )
    .await;
    let listed = run(&["list", "--tenant", "cli-tenant"]);
    assert!(listed.contains(key_id) && !listed.contains(key), "{listed}");
    run(&["revoke", key_id]);
    // Another process revoked it: this one trusts its cached record for at most --key-cache-ms.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(3);
    loop {
        let res = client.get(&url).send().await.unwrap();
        if res.status() == 401 || std::time::Instant::now() > deadline {
            assert_401(res, "api_key_revoked").await;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // The audit trail has the key's life and the creates, with the CLI as actor.
    let store = invreqd::store::Store::connect(&invreqd::store::StoreOptions::new(
        invreqd::config::default_database_url(app.data_dir.path()),
    ))
    .await
    .unwrap();
    let trail = store.audit_log(Some("cli-tenant")).await.unwrap();
    let summary: Vec<(String, String, String)> = trail
        .iter()
        .map(|e| (e.key_id.clone(), e.action.clone(), e.outcome.clone()))
        .collect();
    let kid = key_id.to_string();
    assert_eq!(
        summary,
        vec![
            ("cli".into(), "key_create".into(), "ok".into()),
            (kid.clone(), "create".into(), "ok".into()),
            (kid.clone(), "create".into(), "limit_per_request".into()),
            ("cli".into(), "key_revoke".into(), "ok".into()),
        ]
    );
    assert_eq!(trail[1].amount_msat, Some(500));
    assert!(trail[1].invreq_id.is_some());
}

#[tokio::test]
async fn the_rate_limit_answers_429_with_retry_after_and_recovers() {
    let app = spawn_app_with(|a| {
        a.rate_limit_per_sec = 1;
        a.rate_limit_burst = 3;
    })
    .await;
    let url = app.url("/v1/invoicerequests");
    for _ in 0..3 {
        assert_eq!(app.client.get(&url).send().await.unwrap().status(), 200);
    }
    let res = app.client.get(&url).send().await.unwrap();
    let retry: u64 = res.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&retry), "{retry}");
    let p = assert_problem(res, 429, "rate_limited").await;
    assert_eq!(p["retry_after_secs"], retry);
    // Another key has its own bucket.
    let other = app.tenant_client("other", json!({})).await;
    assert_eq!(other.get(&url).send().await.unwrap().status(), 200);
    tokio::time::sleep(Duration::from_secs(retry)).await;
    assert_eq!(app.client.get(&url).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn no_key_and_no_lnr_reach_the_logs() {
    let app = spawn_app().await;
    let (limited, _) = app
        .create_key(&json!({"name": "limited", "tenant": "logs", "scopes": ALL_IR, "max_per_request_msat": 10}))
        .await;
    let limited_client = client_with_key(&limited);
    let url = app.url("/v1/invoicerequests");
    let mut lnrs = Vec::new();
    for i in 0..3 {
        let b = app
            .create_ok(&json!({"amount": 1000 + i, "description": "log test"}))
            .await;
        lnrs.push(b["bolt12"].as_str().unwrap().to_string());
    }
    let id = app
        .create_ok(&json!({"amount": 5, "description": "d"}))
        .await;
    app.delete(&format!(
        "/v1/invoicerequests/{}",
        id["invreq_id"].as_str().unwrap()
    ))
    .await;
    lnrs.push(id["bolt12"].as_str().unwrap().to_string());
    limited_client
        .post(&url)
        .json(&json!({"amount": 11, "description": "x"}))
        .send()
        .await
        .unwrap();
    app.post_json("/v1/decode", &json!({"bolt12": lnrs[0]}))
        .await;
    let wrong = format!("{}B", &app.key[..app.key.len() - 1]);
    app.anon.get(&url).bearer_auth(&wrong).send().await.unwrap();
    let logged = logs();
    assert!(logged.contains("audit"), "the audit events are logged");
    for secret in [&app.key, &app.admin_key, &limited, &wrong] {
        // ird_<id>_<secret>: the secret itself may contain '_' (base64url).
        let secret_part = secret.splitn(3, '_').nth(2).unwrap_or(secret);
        assert!(secret_part.len() >= 40, "whole secret: {secret_part}");
        let needle = secret_part.get(..20).unwrap_or(secret_part);
        let leak = logged.lines().find(|l| l.contains(needle));
        assert!(leak.is_none(), "a key reached the logs: {leak:?}");
    }
    for lnr in &lnrs {
        assert!(
            !logged.contains(&lnr[..40]),
            "an lnr1 string reached the logs"
        );
    }
    let leak = logged.lines().find(|l| l.contains("lnr1"));
    assert!(leak.is_none(), "an lnr1 string reached the logs: {leak:?}");
}

/// Revokes `key_id` with `admin` as the bearer.
async fn revoke_with(app: &TestApp, admin: &str, key_id: &str) -> reqwest::Response {
    app.anon
        .delete(app.url(&format!("/v1/keys/{key_id}")))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_last_active_admin_key_cannot_be_revoked() {
    let app = spawn_app().await;
    let keys: Value = app
        .anon
        .get(app.url("/v1/keys"))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let bootstrap_id = keys["keys"]
        .as_array()
        .expect("a list of keys")
        .iter()
        .find(|k| k["name"] == "bootstrap-admin")
        .expect("the bootstrap admin key is listed")["key_id"]
        .as_str()
        .unwrap()
        .to_owned();
    // The only admin key revoking itself: refused, and it still works.
    let res = revoke_with(&app, &app.admin_key, &bootstrap_id).await;
    let problem = assert_problem(res, 409, "last_admin_key").await;
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("create another admin key"),
        "{problem}"
    );
    let still = app
        .anon
        .get(app.url("/v1/keys"))
        .bearer_auth(&app.admin_key)
        .send()
        .await
        .unwrap();
    assert_eq!(still.status(), 200);
    // An expired admin key does not count as a second admin.
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (_, expired) = app
        .create_key(&json!({"name": "expired admin", "tenant": "default",
                            "scopes": ["admin"], "expires_at": now + 1}))
        .await;
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let res = revoke_with(&app, &app.admin_key, &bootstrap_id).await;
    assert_problem(res, 409, "last_admin_key").await;
    // With a second active admin key, the first can go; then the second is the last one.
    let (second, created) = app
        .create_key(&json!({"name": "second admin", "tenant": "default", "scopes": ["admin"]}))
        .await;
    let second_id = created["key"]["key_id"].as_str().unwrap().to_owned();
    let res = revoke_with(&app, &second, &bootstrap_id).await;
    assert_eq!(res.status(), 200);
    let res = revoke_with(&app, &second, &second_id).await;
    assert_problem(res, 409, "last_admin_key").await;
    // Revoking the expired one is still allowed (it is no admin anyone can use).
    let expired_id = expired["key"]["key_id"].as_str().unwrap();
    assert_eq!(revoke_with(&app, &second, expired_id).await.status(), 200);
    assert_eq!(
        app.anon
            .get(app.url("/v1/keys"))
            .bearer_auth(&second)
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
}
