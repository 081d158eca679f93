//! Node-built requests (clnrest `--cln-build-mode node`, and cln-grpc): a lost answer settles
//! to exactly one record, blinded paths from an unannounced node are verified and kept, an
//! answer that is not what was asked is refused; cln-grpc's errors and mutual TLS.

use std::time::Duration;

use cln_double::{DoubleOptions, Fault};
use invreqd::bolt12::InvoiceRequest;
use invreqd::node::NodeError;
use invreqd::node::cln_grpc::{ClnGrpc, ClnGrpcConfig};
use serde_json::{Value, json};

use crate::cln_support::{
    NodePath, node_on, service_on_path, spawn_cln_app_on, start_double, start_double_with,
};
use crate::helpers::assert_problem;

/// Every record, failed ones included, newest first.
async fn all_records(app: &crate::helpers::TestApp) -> Vec<Value> {
    let page: Value = app
        .get("/v1/invoicerequests?include_failed=true&limit=1000")
        .await
        .json()
        .await
        .unwrap();
    page["invoicerequests"].as_array().unwrap().clone()
}

/// One `#[tokio::test]` per node-built path.
macro_rules! on_node_built_paths {
    ($name:ident, $body:path) => {
        mod $name {
            use $crate::cln_support::NodePath;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn rest_node_built() {
                $body(NodePath::RestNodeBuilt).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn grpc() {
                $body(NodePath::Grpc).await
            }
        }
    };
}

on_node_built_paths!(
    a_lost_answer_settles_to_exactly_one_record,
    super::lost_answer_settles_once
);

async fn lost_answer_settles_once(path: NodePath) {
    let double = start_double().await;
    let app = spawn_cln_app_on(&double, path, |a| a.node_timeout_ms = Some(500)).await;
    // The node builds and stores it, then the answer is lost.
    double.drop_next(path.create_method(), 1);
    let p = assert_problem(
        app.create(&json!({"amount": 2000, "description": "dropped", "label": "client-label"}))
            .await,
        504,
        "node_timeout",
    )
    .await;
    let pending_id = p["invreq_id"]
        .as_str()
        .expect("the pending key")
        .to_string();
    let pending: Value = app
        .get(&format!("/v1/invoicerequests/{pending_id}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(pending["status"], "pending", "{pending}");
    assert_eq!(pending["bolt12"], "");
    // The node holds it under our key.
    let held = double.invoice_requests();
    assert_eq!(held.len(), 1);
    assert_eq!(
        held[0].3.as_deref(),
        Some(invreqd::service::node_label(&pending_id).as_str())
    );

    double.settled().await;
    let service = service_on_path(&double, app.data_dir.path(), path).await;
    // Settled by this pass, or already by the background settle the 504 started.
    assert!(service.reconcile_pending(0).await.unwrap() <= 1);
    // Settling again finds nothing left to do, and creates nothing.
    assert_eq!(service.reconcile_pending(0).await.unwrap(), 0);

    let listed = all_records(&app).await;
    assert_eq!(listed.len(), 1, "exactly one record: {listed:?}");
    let record = &listed[0];
    assert_eq!(record["status"], "open", "{record}");
    assert_eq!(record["invreq_id"], held[0].0.as_str());
    assert_eq!(record["label"], "client-label");
    assert_eq!(record["amount_msat"], 2000);
    let signed = InvoiceRequest::decode(record["bolt12"].as_str().unwrap()).unwrap();
    assert_eq!(hex::encode(signed.invreq_id()), held[0].0);
    signed.verify().expect("signature verifies");
    let got: Value = app
        .get(&format!("/v1/invoicerequests/{}", held[0].0))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(&got, record);
    assert_eq!(double.invoice_requests().len(), 1, "never created twice");
    // One create, plus clnrest's start-up probe of the rune (which creates nothing).
    let probes = match path {
        NodePath::Grpc => 0,
        _ => crate::cln_support::RUNE_PROBES,
    };
    assert_eq!(double.calls(path.create_method()), 1 + probes);

    // A request lost before the node ran it: the label is nowhere, the record fails.
    double.fault_next(Some(path.create_method()), 1, Fault::LoseRequest);
    assert_problem(
        app.create(&json!({"amount": 3000, "description": "lost"}))
            .await,
        504,
        "node_timeout",
    )
    .await;
    // Not final while the node might still be running it (twice the node timeout); then failed
    // (by the background settle or by the reconciler, whichever runs first).
    let deadline = std::time::Instant::now() + Duration::from_secs(8);
    while all_records(&app).await[0]["status"] == "pending" {
        assert!(std::time::Instant::now() < deadline, "never settled");
        service.reconcile_pending(0).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let listed = all_records(&app).await;
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["status"], "failed", "{}", listed[0]);
    assert_eq!(double.invoice_requests().len(), 1);
}

on_node_built_paths!(
    an_unannounced_node_adds_a_blinded_path_and_its_own_payer_key,
    super::blinded_path_is_verified_and_kept
);

async fn blinded_path_is_verified_and_kept(path: NodePath) {
    let double = start_double_with(DoubleOptions {
        blinded_paths: true,
        ..DoubleOptions::default()
    })
    .await;
    let app = spawn_cln_app_on(&double, path, |_| {}).await;
    let created = app
        .create_ok(
            &json!({"amount": "5sat", "description": "unannounced", "issuer": "shop",
            "absolute_expiry": 4_000_000_000u64, "single_use": false}),
        )
        .await;
    let signed = InvoiceRequest::decode(created["bolt12"].as_str().unwrap()).unwrap();
    assert!(signed.has_paths(), "the node's blinded path is kept");
    assert_ne!(
        signed.payer_id(),
        double.node_id(),
        "signed by the key it names, not the node id"
    );
    signed.verify().expect("signature verifies");
    assert_eq!(hex::encode(signed.invreq_id()), created["invreq_id"]);
    assert_eq!(signed.amount_msat(), Some(5000));
    assert_eq!(signed.issuer(), Some("shop"));
    assert_eq!(signed.absolute_expiry(), Some(4_000_000_000));
    assert_eq!(created["single_use"], false);
    // And it can be paid like any other.
    let id = created["invreq_id"].as_str().unwrap();
    let paid = double.simulate_payment(id, 5000).expect("paid");
    assert_eq!(
        hex::encode(invreqd::bolt12::invreq_id_of_invoice(&paid.bolt12).unwrap()),
        id
    );
}

on_node_built_paths!(
    an_answer_that_is_not_what_was_asked_is_refused,
    super::foreign_answer_is_refused
);

async fn foreign_answer_is_refused(path: NodePath) {
    let double = start_double().await;
    let app = spawn_cln_app_on(&double, path, |_| {}).await;
    double.fault_next(Some(path.create_method()), 1, Fault::ForeignAnswer);
    assert_problem(
        app.create(&json!({"amount": 1000, "description": "asked"}))
            .await,
        502,
        "node_mismatch",
    )
    .await;
    let listed = all_records(&app).await;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["status"], "failed");
    assert_eq!(listed[0]["bolt12"], "", "never handed out");
    let held = double.invoice_requests();
    assert_eq!(held.len(), 1);
    assert!(!held[0].1, "the node's copy was disabled");
}

#[tokio::test]
async fn grpc_maps_cln_errors_from_the_status_text() {
    let double = start_double().await;
    let node = node_on(&double, NodePath::Grpc, Duration::from_secs(5)).await;
    assert_eq!(node.info().id, double.node_id());
    let zero = "0".repeat(64);
    assert!(
        matches!(node.disable(&zero).await, Err(NodeError::UnknownInvoiceRequest(id)) if id == zero)
    );
    assert!(matches!(
        node.list(Some("xyz")).await,
        Err(NodeError::BadParams(m)) if m.starts_with("invreq_id: should be a 32 byte hex value")
    ));
    let app = spawn_cln_app_on(&double, NodePath::Grpc, |_| {}).await;
    let created = app
        .create_ok(&json!({"amount": 1000, "description": "x"}))
        .await;
    let id = created["invreq_id"].as_str().unwrap();
    let held = node.disable(id).await.unwrap();
    assert!(!held.active);
    assert!(matches!(node.disable(id).await, Err(NodeError::NotActive)));
    assert_problem(
        app.delete(&format!("/v1/invoicerequests/{id}")).await,
        409,
        "already_inactive",
    )
    .await;
    // The node refused the parameters: a 502 (no node text in it), and nothing left pending.
    double.fail_next(
        "invoicerequest",
        1,
        -32602,
        "amount: should be a millisatoshi amount",
    );
    let p = assert_problem(
        app.create(&json!({"amount": 1000, "description": "y"}))
            .await,
        502,
        "node_error",
    )
    .await;
    assert!(
        !p["detail"].as_str().unwrap().contains("millisatoshi"),
        "{p}"
    );
    assert_eq!(all_records(&app).await[0]["status"], "failed");
}

#[tokio::test]
async fn grpc_refuses_a_client_certificate_from_another_ca() {
    let double = start_double().await;
    let stranger = start_double().await;
    let refused = ClnGrpc::connect(ClnGrpcConfig {
        url: double.grpc_url(),
        ca_pem: double.ca_pem().as_bytes().to_vec(),
        client_cert_pem: stranger.client_cert_pem().as_bytes().to_vec(),
        client_key_pem: stranger.client_key_pem().as_bytes().to_vec(),
        network: invreqd::bolt12::Network::Regtest,
        timeout: Duration::from_secs(3),
    })
    .await;
    assert!(
        matches!(
            refused,
            Err(NodeError::Unauthorized(_) | NodeError::Unreachable(_))
        ),
        "{:?}",
        refused.err()
    );
    assert_eq!(double.calls("getinfo"), 0, "no call reached the node");
    // The node's own server certificate is checked too: another CA is not trusted.
    let untrusted = ClnGrpc::connect(ClnGrpcConfig {
        url: double.grpc_url(),
        ca_pem: stranger.ca_pem().as_bytes().to_vec(),
        client_cert_pem: double.client_cert_pem().as_bytes().to_vec(),
        client_key_pem: double.client_key_pem().as_bytes().to_vec(),
        network: invreqd::bolt12::Network::Regtest,
        timeout: Duration::from_secs(3),
    })
    .await;
    assert!(untrusted.is_err());
    assert_eq!(double.calls("getinfo"), 0);
}

#[tokio::test]
async fn grpc_is_node_built_only_and_unserved_methods_are_unimplemented() {
    let double = start_double().await;
    let node = node_on(&double, NodePath::Grpc, Duration::from_secs(5)).await;
    assert_eq!(node.build_mode(), invreqd::node::BuildMode::NodeBuilt);
    let fields = invreqd::bolt12::InvreqFields {
        metadata: [1; 16],
        description: "x".into(),
        issuer: None,
        absolute_expiry: None,
        amount_msat: 1,
        network: invreqd::bolt12::Network::Regtest,
        payer_id: double.node_id(),
    };
    let unsigned = invreqd::bolt12::UnsignedInvoiceRequest::build(&fields).unwrap();
    assert!(matches!(
        node.sign_and_store(&unsigned, true, None).await,
        Err(NodeError::Unsupported(_))
    ));
    // The double runs cln-grpc's generated server: what it does not serve is UNIMPLEMENTED.
    let tls = tonic::transport::ClientTlsConfig::new()
        .ca_certificate(tonic::transport::Certificate::from_pem(double.ca_pem()))
        .identity(tonic::transport::Identity::from_pem(
            double.client_cert_pem(),
            double.client_key_pem(),
        ))
        .domain_name("cln");
    let channel = tonic::transport::Endpoint::from_shared(double.grpc_url())
        .unwrap()
        .tls_config(tls)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client = cln_grpc::pb::node_client::NodeClient::new(channel);
    let status = client
        .list_peers(cln_grpc::pb::ListpeersRequest::default())
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unimplemented);
    // CLN's error shape: status UNKNOWN, the RPC error in the text.
    let status = client
        .disable_invoice_request(cln_grpc::pb::DisableinvoicerequestRequest {
            invreq_id: "0".repeat(64),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::Unknown);
    assert_eq!(
        status.message(),
        r#"Error calling method DisableInvoiceRequest: RpcError { code: Some(-1), message: "Unknown invoice_request", data: None }"#
    );
}
