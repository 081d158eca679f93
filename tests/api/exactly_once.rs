//! Exactly once under faults (issue 12; issue 11 item 3): a create whose client vanished, whose
//! node answered late or not at all, or that failed with a 5xx is finished or undone on the
//! server, and a retry with its Idempotency-Key gets the one id — never a wedged 409, never a
//! second request for the same payout, never `label_taken` against itself.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use invreqd::bolt12::InvoiceRequest;
use serde_json::{Value, json};

use crate::cln_support::{service_on, spawn_cln_app_with, start_double};
use crate::helpers::{TestApp, assert_problem, spawn_app};

async fn post_key(
    client: &reqwest::Client,
    app: &TestApp,
    key: &str,
    body: &Value,
) -> (u16, Value, bool) {
    let res = client
        .post(app.url("/v1/invoicerequests"))
        .header("idempotency-key", key)
        .json(body)
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .expect("request sent");
    let status = res.status().as_u16();
    let replayed = res.headers().contains_key("idempotent-replayed");
    (status, res.json().await.unwrap_or(Value::Null), replayed)
}

/// Retries a key until it answers 201 (409 in progress and 504 are retried), within `limit`.
async fn retry_until_201(app: &TestApp, key: &str, body: &Value, limit: Duration) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let (status, b, _) = post_key(&app.client, app, key, body).await;
        if status == 201 {
            return b;
        }
        assert!(
            matches!(status, 409 | 503 | 504) && b["code"] != "idempotency_key_reused",
            "{key}: {status} {b}"
        );
        assert!(
            Instant::now() < deadline,
            "{key} not 201 within {limit:?}: {status} {b}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn store_of(app: &TestApp) -> invreqd::store::Store {
    invreqd::store::Store::connect(&invreqd::store::StoreOptions::new(
        invreqd::config::default_database_url(app.data_dir.path()),
    ))
    .await
    .unwrap()
}

async fn list_with_failed(app: &TestApp) -> Vec<Value> {
    let page: Value = app
        .get("/v1/invoicerequests?limit=1000&include_failed=true")
        .await
        .json()
        .await
        .unwrap();
    page["invoicerequests"].as_array().unwrap().clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_whose_clients_disconnect_finish_on_the_server_and_replay_their_one_id() {
    const N: usize = 60;
    let double = start_double().await;
    let app = spawn_cln_app_with(&double, |a| {
        a.node_timeout_ms = Some(5000);
        a.rate_limit_per_sec = 0;
    })
    .await;
    // Every create reaches the node and waits there; each client gives up after 150 ms.
    double.delay_next("createinvoicerequest", N, Duration::from_millis(700));
    let impatient = crate::helpers::client_with_key(&app.key);
    let body = |i: usize| json!({"amount": 1000 + i, "description": format!("dc {i}"), "label": format!("dc-{i}")});
    let mut tasks = Vec::new();
    for i in 0..N {
        let req = impatient
            .post(app.url("/v1/invoicerequests"))
            .header("idempotency-key", format!("dc-{i}"))
            .json(&body(i))
            .timeout(Duration::from_millis(150));
        tasks.push(tokio::spawn(async move { req.send().await.is_err() }));
    }
    for t in tasks {
        assert!(t.await.unwrap(), "the client gave up before the answer");
    }
    // A few seconds later every key answers 201 with one id, and nothing was made twice.
    let started = Instant::now();
    let mut ids = HashSet::new();
    for i in 0..N {
        let b = retry_until_201(&app, &format!("dc-{i}"), &body(i), Duration::from_secs(15)).await;
        assert_eq!(b["status"], "open", "{b}");
        assert!(ids.insert(b["invreq_id"].as_str().unwrap().to_owned()));
    }
    println!(
        "{N} keys settled in {:?} after their clients left",
        started.elapsed()
    );
    let all = list_with_failed(&app).await;
    assert_eq!(all.len(), N, "records == keys");
    double.settled().await;
    let held: HashSet<String> = double.invoice_requests().into_iter().map(|r| r.0).collect();
    assert_eq!(held, ids, "the node holds exactly the ids the keys answer");
    // Every create was audited with its id, though no client heard the answer.
    let trail = store_of(&app)
        .await
        .audit_log(Some("default"))
        .await
        .unwrap();
    let created: Vec<&String> = trail
        .iter()
        .filter(|e| e.action == "create" && e.outcome == "ok")
        .filter_map(|e| e.invreq_id.as_ref())
        .collect();
    assert_eq!(created.len(), N, "one create audited per key");
    assert_eq!(created.into_iter().cloned().collect::<HashSet<_>>(), ids);
    // Retries that found the settled result are audited as replays, with the id. (A client that
    // left before its request was read at all has its create made by the retry instead.)
    let replays: Vec<_> = trail
        .iter()
        .filter(|e| e.action == "create" && e.outcome == "replayed")
        .collect();
    assert!(replays.len() >= N / 2, "{} replays", replays.len());
    assert!(
        replays
            .iter()
            .all(|e| e.invreq_id.as_ref().is_some_and(|id| ids.contains(id)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_late_node_answer_ends_active_with_the_nodes_copy_and_the_key_returns_its_one_id() {
    let double = start_double().await;
    let app = Arc::new(
        spawn_cln_app_with(&double, |a| {
            a.node_timeout_ms = Some(400);
            // The periodic reconciler stays out of the way: the background settle must do it.
            a.reconcile_interval_secs = 3600;
        })
        .await,
    );
    // The node is slower than the service's timeout, twice (the first resubmission too).
    double.delay_next("createinvoicerequest", 2, Duration::from_millis(1200));
    let body = json!({"amount": 5000, "description": "late", "label": "late-1"});
    let (status, p, _) = post_key(&app.client, &app, "late-key", &body).await;
    assert_eq!(status, 504, "{p}");
    let id = p["invreq_id"].as_str().unwrap().to_owned();
    // Watch the record the whole time: never `failed` (the node is about to hold it active).
    let watcher = {
        let app = app.clone();
        let path = format!("/v1/invoicerequests/{id}");
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let until = Instant::now() + Duration::from_secs(6);
            while Instant::now() < until {
                let r: Value = app.get(&path).await.json().await.unwrap();
                let s = r["status"].as_str().unwrap().to_owned();
                if seen.last() != Some(&s) {
                    seen.push(s);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            seen
        })
    };
    // A retry a couple of seconds later gets the settled 201, same id.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let settled = retry_until_201(&app, "late-key", &body, Duration::from_secs(8)).await;
    assert_eq!(settled["invreq_id"], id.as_str());
    assert_eq!(settled["status"], "open");
    let seen = watcher.await.unwrap();
    assert!(!seen.iter().any(|s| s == "failed"), "{seen:?}");
    assert_eq!(seen.last().map(String::as_str), Some("open"), "{seen:?}");
    double.settled().await;
    let held = double.invoice_requests();
    assert_eq!(held.len(), 1, "one request on the node: {held:?}");
    assert_eq!(held[0].0, id);
    assert!(held[0].1, "active on the node");
    let signed = InvoiceRequest::decode(settled["bolt12"].as_str().unwrap()).unwrap();
    assert_eq!(hex::encode(signed.invreq_id()), id);
    assert_eq!(signed.payer_id(), double.node_id());
    // And again: the stored answer.
    let (status, again, replayed) = post_key(&app.client, &app, "late-key", &body).await;
    assert_eq!((status, replayed), (201, true));
    assert_eq!(again["invreq_id"], id.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_is_settled_in_the_background_within_seconds() {
    let double = start_double().await;
    let app = spawn_cln_app_with(&double, |a| a.reconcile_interval_secs = 3600).await;
    double.drop_next("createinvoicerequest", 1);
    let p = assert_problem(
        app.create(&json!({"amount": 2000, "description": "dropped"}))
            .await,
        504,
        "node_timeout",
    )
    .await;
    let path = format!("/v1/invoicerequests/{}", p["invreq_id"].as_str().unwrap());
    let started = Instant::now();
    loop {
        let r: Value = app.get(&path).await.json().await.unwrap();
        if r["status"] == "open" {
            break;
        }
        assert_eq!(r["status"], "pending", "{r}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "still pending: {r}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("settled {:?} after the 504", started.elapsed());
    assert_eq!(double.invoice_requests().len(), 1);
}

#[tokio::test]
async fn a_503_create_retried_with_its_key_and_label_gets_201() {
    let double = start_double().await;
    let app = spawn_cln_app_with(&double, |_| {}).await;
    double.go_down().await;
    let body = json!({"amount": "1000sat", "description": "node down idem", "label": "down-2"});
    let (status, p, _) = post_key(&app.client, &app, "idem-down-2", &body).await;
    assert_eq!(status, 503, "{p}");
    assert_eq!(p["code"], "node_unavailable");
    // Without a key too: the label stays free.
    let plain = json!({"amount": "1000sat", "description": "node down", "label": "down-1"});
    assert_problem(app.create(&plain).await, 503, "node_unavailable").await;
    assert!(
        list_with_failed(&app).await.is_empty(),
        "nothing of them remains"
    );
    double.come_back().await.unwrap();
    let (status, b, _) = post_key(&app.client, &app, "idem-down-2", &body).await;
    assert_eq!(status, 201, "{b}");
    assert_eq!(b["label"], "down-2");
    app.create_ok(&plain).await;
    let by_label: Value = app
        .get("/v1/invoicerequests?label=down-2")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(by_label["invoicerequests"].as_array().unwrap().len(), 1);
    assert_eq!(double.invoice_requests().len(), 2);
}

#[tokio::test]
async fn a_create_the_node_refused_frees_its_label_and_is_left_out_of_lists() {
    let double = start_double().await;
    let app = spawn_cln_app_with(&double, |_| {}).await;
    double.fail_next("createinvoicerequest", 1, -32602, "bolt12: refused");
    let body = json!({"amount": 1000, "description": "refused", "label": "refused-1"});
    let (status, p, _) = post_key(&app.client, &app, "refused", &body).await;
    assert_eq!(status, 502, "{p}");
    assert!(
        app.list_all().await.is_empty(),
        "failed records are not listed"
    );
    let failed = list_with_failed(&app).await;
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["status"], "failed");
    // The same key and label run again, and win.
    let (status, b, replayed) = post_key(&app.client, &app, "refused", &body).await;
    assert_eq!((status, replayed), (201, false), "{b}");
    assert_eq!(b["label"], "refused-1");
    assert_ne!(b["invreq_id"], failed[0]["invreq_id"]);
    assert_eq!(double.invoice_requests().len(), 1);
}

#[tokio::test]
async fn a_failed_record_found_active_on_the_node_is_disabled_there() {
    let double = start_double().await;
    let app = spawn_cln_app_with(&double, |_| {}).await;
    let created = app
        .create_ok(&json!({"amount": 1000, "description": "will be failed"}))
        .await;
    let id = created["invreq_id"].as_str().unwrap();
    // A store that once gave up on it (as older versions did after a late answer).
    let store = store_of(&app).await;
    // Written behind the lifecycle's back: no move leads from open to failed.
    let moved = sqlx::query(
        "UPDATE invoice_requests SET status = 'failed', active = $1 WHERE invreq_id = $2",
    )
    .bind(false)
    .bind(id)
    .execute(store.pool())
    .await
    .unwrap();
    assert_eq!(moved.rows_affected(), 1);
    let service = service_on(&double, app.data_dir.path()).await;
    assert_eq!(service.disable_failed_but_live().await.unwrap(), 1);
    let held = double.invoice_requests();
    assert_eq!(held.len(), 1);
    assert!(!held[0].1, "disabled on the node");
    assert_eq!(service.disable_failed_but_live().await.unwrap(), 0);
}

#[tokio::test]
async fn five_maximal_amounts_then_a_limited_create_is_403_not_500() {
    let app = spawn_app().await;
    let unlimited = app.tenant_client("whale", json!({})).await;
    for i in 0..5 {
        let res = unlimited
            .post(app.url("/v1/invoicerequests"))
            .json(&json!({"amount": "21000000btc", "description": format!("max {i}")}))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201);
    }
    let limited = app
        .tenant_client("whale", json!({"max_outstanding_msat": 1_000_000_000u64}))
        .await;
    let res = limited
        .post(app.url("/v1/invoicerequests"))
        .json(&json!({"amount": 1000, "description": "small"}))
        .send()
        .await
        .unwrap();
    let p = assert_problem(res, 403, "limit_outstanding").await;
    assert_eq!(p["remaining_msat"], 0);
    let daily = app
        .tenant_client("whale", json!({"max_daily_msat": 1_000_000_000u64}))
        .await;
    let res = daily
        .post(app.url("/v1/invoicerequests"))
        .json(&json!({"amount": 1000, "description": "small"}))
        .send()
        .await
        .unwrap();
    assert_problem(res, 403, "limit_daily").await;
    let metrics = app.anon.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(metrics.status(), 200);
    let text = metrics.text().await.unwrap();
    let line = text
        .lines()
        .find(|l| l.starts_with("outstanding_amount_msat"))
        .expect("gauge");
    let value: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
    assert!(value >= 5.0 * 2.1e18 * 0.999, "{line}");
}

async fn fifty_deletes(app: &Arc<TestApp>, id: &str) -> HashMap<u16, usize> {
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let app = app.clone();
        let path = format!("/v1/invoicerequests/{id}");
        tasks.push(tokio::spawn(async move {
            app.delete(&path).await.status().as_u16()
        }));
    }
    let mut by_status = HashMap::new();
    for t in tasks {
        *by_status.entry(t.await.unwrap()).or_insert(0) += 1;
    }
    by_status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_concurrent_deletes_give_one_200_on_the_dev_signer_and_on_the_double() {
    let dev = Arc::new(spawn_app().await);
    let double = start_double().await;
    // Fifty node round trips at once on a loaded machine: a node timeout (504) is not what
    // this test is about, so give the node time.
    let cln = Arc::new(
        spawn_cln_app_with(&double, |a| {
            a.rate_limit_per_sec = 0;
            a.node_timeout_ms = Some(10_000);
        })
        .await,
    );
    for app in [&dev, &cln] {
        let created = app
            .create_ok(&json!({"amount": 1000, "description": "delete me"}))
            .await;
        let id = created["invreq_id"].as_str().unwrap();
        let by_status = fifty_deletes(app, id).await;
        assert_eq!(by_status.get(&200), Some(&1), "{by_status:?}");
        assert_eq!(by_status.get(&409), Some(&49), "{by_status:?}");
        let trail = store_of(app)
            .await
            .audit_log(Some("default"))
            .await
            .unwrap();
        let ok = trail
            .iter()
            .filter(|e| e.action == "disable" && e.outcome == "ok")
            .count();
        assert_eq!(ok, 1, "one disable audited as done");
    }
    assert!(!double.invoice_requests()[0].1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creates_cut_off_by_the_request_timeout_finish_and_their_keys_replay() {
    const N: usize = 20;
    let double = start_double().await;
    let app = spawn_cln_app_with(&double, |a| {
        a.request_timeout_ms = 200;
        a.node_timeout_ms = Some(5000);
        a.rate_limit_per_sec = 0;
    })
    .await;
    double.delay_next("createinvoicerequest", N, Duration::from_millis(600));
    let body = |i: usize| json!({"amount": 3000 + i, "description": format!("rt {i}")});
    for i in 0..N {
        let (status, p, _) = post_key(&app.client, &app, &format!("rt-{i}"), &body(i)).await;
        assert_eq!(
            (status, p["code"].as_str()),
            (503, Some("request_timeout")),
            "{p}"
        );
    }
    let mut ids = HashSet::new();
    for i in 0..N {
        let b = retry_until_201(&app, &format!("rt-{i}"), &body(i), Duration::from_secs(15)).await;
        assert!(ids.insert(b["invreq_id"].as_str().unwrap().to_owned()));
    }
    assert_eq!(list_with_failed(&app).await.len(), N);
    double.settled().await;
    assert_eq!(double.invoice_requests().len(), N);
}
