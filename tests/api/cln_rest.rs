//! The service backed by the CLN REST double over HTTPS: one end-to-end body run against the
//! dev signer and against the double, then the node layer's error mapping.

use std::time::Duration;

use cln_double::{ClnDouble, DoubleOptions, Fault, LabelParam};
use invreqd::bolt12::InvoiceRequest;
use invreqd::config::ServeArgs;
use invreqd::node::{Node, NodeError};
use invreqd::startup::Application;
use serde_json::{Value, json};

use crate::cln_support::{
    NodePath, cln_node, service_on, spawn_cln_app, spawn_cln_app_on, spawn_cln_app_with,
    start_double, start_double_with,
};
use crate::helpers::{TestApp, assert_problem, spawn_app};

/// The life of one invoice request, whatever signs it; `node_view` reports what the node holds
/// (`None` for a backend without node state).
async fn end_to_end(
    app: &TestApp,
    node_view: impl Fn(&str) -> Option<(bool, bool, Option<String>)>,
    path: Option<NodePath>,
) {
    let created = app
        .create_ok(&json!({"amount": "10000sat", "description": "e2e", "issuer": "tests", "label": "e2e-1"}))
        .await;
    let id = created["invreq_id"].as_str().unwrap().to_string();
    assert_eq!(created["active"], true);
    assert_eq!(created["used"], false);
    assert_eq!(created["single_use"], true);
    assert_eq!(created["status"], "open");
    assert_eq!(created["amount_msat"], 10_000_000);
    let signed = InvoiceRequest::decode(created["bolt12"].as_str().unwrap()).expect("decodes");
    assert!(signed.signature().is_some(), "signed");
    signed.verify().expect("signature verifies");
    assert_eq!(hex::encode(signed.invreq_id()), id);
    assert_eq!(signed.description(), Some("e2e"));
    assert_eq!(signed.amount_msat(), Some(10_000_000));
    if let Some((active, used, label)) = node_view(&id) {
        assert!(active && !used);
        if path.is_some_and(NodePath::node_built) {
            // Node-built: the node's label is the service's own key for the record.
            let label = label.expect("a node label");
            assert!(label.starts_with("invreqd-"), "{label}");
        } else {
            assert_eq!(label.as_deref(), Some("e2e-1"));
        }
    }

    let path = format!("/v1/invoicerequests/{id}");
    let got: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(got, created);
    let listed = app.list_all().await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["invreq_id"], id);

    let res = app.delete(&path).await;
    assert_eq!(res.status(), 200);
    let disabled: Value = res.json().await.unwrap();
    assert_eq!(disabled["active"], false);
    assert_eq!(disabled["status"], "disabled");
    if let Some((active, _, _)) = node_view(&id) {
        assert!(!active, "disabled on the node too");
    }
    assert_problem(app.delete(&path).await, 409, "already_inactive").await;
    assert_problem(
        app.get(&format!("/v1/invoicerequests/{}", "0".repeat(64)))
            .await,
        404,
        "not_found",
    )
    .await;
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
}

fn node_view(double: &ClnDouble) -> impl Fn(&str) -> Option<(bool, bool, Option<String>)> + '_ {
    move |id| {
        let all = double.invoice_requests();
        let found = all.into_iter().find(|r| r.0 == id);
        Some(found.map(|r| (r.1, r.2, r.3)).expect("the node holds it"))
    }
}

#[tokio::test]
async fn end_to_end_with_the_dev_signer() {
    let app = spawn_app().await;
    end_to_end(&app, |_| None, None).await;
}

crate::on_every_cln_path!(end_to_end_with_cln, super::end_to_end_on);

async fn end_to_end_on(path: NodePath) {
    let double = start_double().await;
    let app = spawn_cln_app_on(&double, path, |_| {}).await;
    end_to_end(&app, node_view(&double), Some(path)).await;
    // clnrest's start-up probes the rune's create method once; gRPC has no runes to probe.
    let probes = match path {
        NodePath::Grpc => 0,
        _ => crate::cln_support::RUNE_PROBES,
    };
    assert_eq!(double.calls(path.create_method()), probes + 1);
    let other = match path {
        NodePath::RestServiceBuilt => "invoicerequest",
        _ => "createinvoicerequest",
    };
    assert_eq!(double.calls(other), 0, "one create method per path");
}

#[tokio::test]
async fn a_refused_rune_is_502_and_not_ready() {
    let double = start_double().await;
    let app = spawn_cln_app(&double).await;
    double.refuse_runes(true);
    let p = assert_problem(
        app.create(&json!({"amount": 1000, "description": "x"}))
            .await,
        502,
        "node_credentials_refused",
    )
    .await;
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("refused our credentials"),
        "{p}"
    );
    assert_eq!(app.get("/readyz").await.status(), 503);
    // Nothing was left behind: the node never ran the call.
    let listed: Value = app
        .get("/v1/invoicerequests?include_failed=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(listed["invoicerequests"], json!([]));
    assert!(double.invoice_requests().is_empty());
    double.refuse_runes(false);
    app.create_ok(&json!({"amount": 1000, "description": "x"}))
        .await;
}

#[tokio::test]
async fn a_node_that_is_down_is_503_then_recovers() {
    let double = start_double().await;
    let app = spawn_cln_app(&double).await;
    double.go_down().await;
    let p = assert_problem(
        app.create(&json!({"amount": 1000, "description": "x"}))
            .await,
        503,
        "node_unavailable",
    )
    .await;
    assert!(p.get("invreq_id").is_none());
    let ready: Value = app.get("/readyz").await.json().await.unwrap();
    assert_eq!(ready["status"], "unavailable", "{ready}");
    double.come_back().await.unwrap();
    app.create_ok(&json!({"amount": 1000, "description": "x"}))
        .await;
    assert_eq!(double.invoice_requests().len(), 1);
}

#[tokio::test]
async fn a_timeout_is_504_with_the_id_and_get_shows_the_outcome() {
    let double = start_double().await;
    let app = spawn_cln_app_with(&double, |a| a.node_timeout_ms = Some(300)).await;
    double.delay_next("createinvoicerequest", 1, Duration::from_millis(700));
    let p = assert_problem(
        app.create(&json!({"amount": 2000, "description": "slow"}))
            .await,
        504,
        "node_timeout",
    )
    .await;
    let id = p["invreq_id"].as_str().expect("invreq_id").to_string();
    let path = format!("/v1/invoicerequests/{id}");
    let pending: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(pending["status"], "pending");
    assert_eq!(pending["bolt12"], "");
    double.settled().await;
    let settled = service_on(&double, app.data_dir.path())
        .await
        .reconcile_pending(0)
        .await
        .unwrap();
    assert!(settled <= 1, "the background settle may have been first");
    let done: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(done["status"], "open", "{done}");
    assert_eq!(done["active"], true);
    let signed = InvoiceRequest::decode(done["bolt12"].as_str().unwrap()).unwrap();
    assert_eq!(hex::encode(signed.invreq_id()), id);
}

#[tokio::test]
async fn a_lost_request_and_a_lost_answer_are_504_then_open_by_resubmitting_the_same_bytes() {
    let double = start_double().await;
    let app = spawn_cln_app(&double).await;
    // The connection dies before the node ran the call: nothing exists on the node, yet
    // "absent" is no proof it never will (a late create): settling resubmits the same bytes.
    double.fault_next(Some("createinvoicerequest"), 1, Fault::LoseRequest);
    let lost = assert_problem(
        app.create(&json!({"amount": 2000, "description": "lost"}))
            .await,
        504,
        "node_timeout",
    )
    .await;
    // The node ran it, then the connection died: it exists on the node.
    double.drop_next("createinvoicerequest", 1);
    let dropped = assert_problem(
        app.create(&json!({"amount": 2000, "description": "dropped"}))
            .await,
        504,
        "node_timeout",
    )
    .await;
    let settled = service_on(&double, app.data_dir.path())
        .await
        .reconcile_pending(0)
        .await
        .unwrap();
    // The background settle (1 s after each 504) may have been first.
    assert!(settled <= 2);
    let status = |p: Value| {
        let path = format!("/v1/invoicerequests/{}", p["invreq_id"].as_str().unwrap());
        let app = &app;
        async move { app.get(&path).await.json::<Value>().await.unwrap()["status"].clone() }
    };
    let lost_id = lost["invreq_id"].as_str().unwrap().to_owned();
    assert_eq!(status(lost).await, "open");
    assert_eq!(status(dropped).await, "open");
    let held = double.invoice_requests();
    assert_eq!(held.len(), 2);
    assert!(held.iter().any(|r| r.0 == lost_id && r.1));
}

#[tokio::test]
async fn an_answer_that_does_not_match_fails_the_record_and_disables_the_node_copy() {
    let double = start_double().await;
    let app = spawn_cln_app(&double).await;
    double.fault_next(Some("createinvoicerequest"), 1, Fault::ForeignAnswer);
    assert_problem(
        app.create(&json!({"amount": 1000, "description": "asked"}))
            .await,
        502,
        "node_mismatch",
    )
    .await;
    assert!(
        app.list_all().await.is_empty(),
        "failed records are not listed"
    );
    let listed: Value = app
        .get("/v1/invoicerequests?include_failed=true")
        .await
        .json()
        .await
        .unwrap();
    let listed = listed["invoicerequests"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "failed");
    assert_eq!(listed[0]["bolt12"], "", "never handed out");
    let held = double.invoice_requests();
    assert_eq!(held.len(), 1);
    assert_eq!(
        held[0].0, listed[0]["invreq_id"],
        "the node stored what we sent"
    );
    assert!(!held[0].1, "and its copy was disabled");
}

#[tokio::test]
async fn disable_maps_unknown_to_404_and_inactive_to_409() {
    let double = start_double().await;
    let node = cln_node(&double, Duration::from_secs(5)).await;
    let zero = "0".repeat(64);
    assert!(
        matches!(node.disable(&zero).await, Err(NodeError::UnknownInvoiceRequest(id)) if id == zero)
    );

    let app = spawn_cln_app(&double).await;
    let created = app
        .create_ok(&json!({"amount": 1000, "description": "x"}))
        .await;
    let id = created["invreq_id"].as_str().unwrap();
    // Disabled on the node behind the service's back: the node says 1001.
    let held = node.disable(id).await.unwrap();
    assert!(!held.active);
    assert!(matches!(node.disable(id).await, Err(NodeError::NotActive)));
    let path = format!("/v1/invoicerequests/{id}");
    assert_problem(app.delete(&path).await, 409, "already_inactive").await;
    let got: Value = app.get(&path).await.json().await.unwrap();
    assert_eq!(
        got["status"], "disabled",
        "the store follows the node: {got}"
    );
    assert_eq!(got["active"], false);
}

#[tokio::test]
async fn the_same_bytes_twice_are_could_not_create() {
    let double = start_double().await;
    let node = cln_node(&double, Duration::from_secs(5)).await;
    let fields = invreqd::bolt12::InvreqFields {
        metadata: [9; 16],
        description: "dup".into(),
        issuer: None,
        absolute_expiry: None,
        amount_msat: 5000,
        network: invreqd::bolt12::Network::Regtest,
        payer_id: node.info().id,
    };
    let unsigned = invreqd::bolt12::UnsignedInvoiceRequest::build(&fields).unwrap();
    let signed = node
        .sign_and_store(&unsigned, true, Some("a"))
        .await
        .unwrap();
    assert!(signed.same_records_as(&unsigned));
    assert_eq!(signed.payer_id(), double.node_id());
    assert!(matches!(
        node.sign_and_store(&unsigned, true, Some("a")).await,
        Err(NodeError::CouldNotCreate(m)) if m == "Could not create invoice_request!"
    ));
    let held = node
        .list(Some(&hex::encode(unsigned.invreq_id())))
        .await
        .unwrap();
    assert_eq!(held.len(), 1);
    assert!(node.list(Some(&"1".repeat(64))).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_label_parameter_is_retried_once_under_its_other_name() {
    for (version, accepts, first) in [
        ("v26.06.6", LabelParam::Label, "recurrence_label"),
        ("v26.09.1-modded", LabelParam::RecurrenceLabel, "label"),
    ] {
        let double = start_double_with(DoubleOptions {
            version: version.into(),
            label_param: accepts,
            ..DoubleOptions::default()
        })
        .await;
        let node = cln_node(&double, Duration::from_secs(5)).await;
        assert_eq!(node.label_param().name(), first, "{version}");
        let app = spawn_cln_app(&double).await;
        let a = app
            .create_ok(&json!({"amount": 1000, "description": "x", "label": "L1"}))
            .await;
        app.create_ok(&json!({"amount": 1000, "description": "x", "label": "L2"}))
            .await;
        // One refused call, then the right name sticks.
        assert_eq!(
            double.calls("createinvoicerequest"),
            crate::cln_support::RUNE_PROBES + 3,
            "{version}"
        );
        let held = double.invoice_requests();
        let first_held = held.iter().find(|r| r.0 == a["invreq_id"]).unwrap();
        assert_eq!(first_held.3.as_deref(), Some("L1"));
    }
}

#[tokio::test]
async fn a_node_on_another_network_is_refused_at_start() {
    let double = start_double().await;
    let dir = tempfile::tempdir().unwrap();
    let mut args: ServeArgs = crate::cln_support::cln_args(&double, dir.path());
    args.network = invreqd::config::NetworkArg::Signet;
    let err = Application::build(&args).await.err().expect("refused");
    let text = format!("{err:#}");
    assert!(
        text.contains("regtest") && text.contains("signet"),
        "{text}"
    );
    assert!(!text.contains(&double.rune()), "the rune is never shown");
}

#[tokio::test]
async fn the_double_speaks_clnrest() {
    let double = start_double().await;
    let client = reqwest::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(double.ca_pem().as_bytes()).unwrap()])
        .build()
        .unwrap();
    let url = |m: &str| format!("{}/v1/{m}", double.url());
    let call = |m: &str, rune: Option<String>, body: Value| {
        let mut req = client.post(url(m)).json(&body);
        if let Some(r) = rune {
            req = req.header("Rune", r);
        }
        async move {
            let res = req.send().await.unwrap();
            let status = res.status().as_u16();
            (status, res.json::<Value>().await.unwrap())
        }
    };
    let rune = Some(double.rune());
    let (s, b) = call("getinfo", None, json!({})).await;
    assert_eq!((s, b["code"].as_i64()), (403, Some(1501)));
    assert_eq!(b["data"], Value::Null);
    let (s, b) = call("getinfo", Some("notarune!".into()), json!({})).await;
    assert_eq!((s, b["code"].as_i64()), (401, Some(-32602)));
    let (s, b) = call("withdraw", rune.clone(), json!({})).await;
    assert_eq!((s, b["code"].as_i64()), (401, Some(1502)));
    let (s, b) = call("nosuchmethod", Some(double.rune_for(&[])), json!({})).await;
    assert_eq!((s, b["code"].as_i64()), (404, Some(-32601)));
    let res = client
        .get(url("getinfo"))
        .header("Rune", double.rune())
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 405);
    let (s, b) = call("getinfo", rune.clone(), json!({})).await;
    assert_eq!(s, 201);
    assert_eq!(b["network"], "regtest");
    assert_eq!(b["id"], double.node_id().to_string());
    let (s, b) = call(
        "listinvoicerequests",
        rune.clone(),
        json!({"invreq_id": "0".repeat(64)}),
    )
    .await;
    assert_eq!((s, b), (201, json!({"invoicerequests": []})));
    let (s, b) = call(
        "disableinvoicerequest",
        rune.clone(),
        json!({"invreq_id": "0".repeat(64)}),
    )
    .await;
    assert_eq!(
        (s, b),
        (
            500,
            json!({"code": -1, "message": "Unknown invoice_request", "data": null})
        )
    );
    let (s, b) = call(
        "wait",
        rune.clone(),
        json!({"subsystem": "sendpays", "indexname": "created", "nextvalue": 0}),
    )
    .await;
    assert_eq!(
        (s, b),
        (201, json!({"subsystem": "sendpays", "created": 0}))
    );
    let (s, b) = call("listsendpays", rune.clone(), json!({})).await;
    assert_eq!((s, b), (201, json!({"payments": []})));

    // createinvoicerequest: CLN's checks and texts.
    let other_key = invreqd::bolt12::Keypair::from_secret_key(
        invreqd::bolt12::secp(),
        &invreqd::bolt12::SecretKey::from_slice(&[3; 32]).unwrap(),
    );
    let build = |payer| {
        invreqd::bolt12::UnsignedInvoiceRequest::build(&invreqd::bolt12::InvreqFields {
            metadata: [1; 16],
            description: "d".into(),
            issuer: None,
            absolute_expiry: None,
            amount_msat: 1000,
            network: invreqd::bolt12::Network::Regtest,
            payer_id: payer,
        })
        .unwrap()
    };
    let foreign =
        invreqd::bolt12::encode_bech32_no_checksum("lnr", build(other_key.public_key()).bytes());
    let (s, b) = call(
        "createinvoicerequest",
        rune.clone(),
        json!({"bolt12": foreign, "savetodb": true}),
    )
    .await;
    assert_eq!((s, b["code"].as_i64()), (500, Some(-32602)));
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .starts_with("payer_id did not match invreq_metadata derivation 0"),
        "{b}"
    );
    let ours = invreqd::bolt12::encode_bech32_no_checksum("lnr", build(double.node_id()).bytes());
    let (s, b) = call(
        "createinvoicerequest",
        rune.clone(),
        json!({"bolt12": ours, "savetodb": true, "label": "x"}),
    )
    .await;
    assert_eq!((s, b["code"].as_i64()), (500, Some(-32602)));
    assert!(
        b["message"]
            .as_str()
            .unwrap()
            .starts_with("unknown parameter: label"),
        "{b}"
    );
    let (s, b) = call(
        "createinvoicerequest",
        rune.clone(),
        json!({"bolt12": ours}),
    )
    .await;
    assert_eq!(
        (s, b["message"].as_str()),
        (500, Some("missing required parameter: savetodb"))
    );
    let (s, b) = call(
        "createinvoicerequest",
        rune.clone(),
        json!({"bolt12": ours, "savetodb": true, "recurrence_label": "x"}),
    )
    .await;
    assert_eq!(s, 201, "{b}");
    assert_eq!(b["label"], "x");
    let (s, b) = call(
        "createinvoicerequest",
        rune.clone(),
        json!({"bolt12": ours, "savetodb": true}),
    )
    .await;
    assert_eq!(
        (s, b),
        (
            500,
            json!({"code": -1, "message": "Could not create invoice_request!", "data": null})
        )
    );
}
