//! Prometheus metrics: one process-wide recorder and the functions the layers call.
//!
//! The recorder is installed once per process ([`handle`], behind a `OnceLock`): tests start
//! several applications in one process, and `metrics` allows one global recorder only.
//!
//! Families (all rendered by `GET /metrics`):
//! - `http_requests_total{route,method,status}`, `http_request_duration_seconds{route,method}`:
//!   recorded by the API's middleware; `route` is the matched route template, never a raw path.
//! - `invoice_requests_created_total`, `invoice_requests_disabled_total`,
//!   `invoice_requests_paid_total`: call [`created`], [`disabled`], [`paid`] where it happens.
//! - `node_call_duration_seconds{method}`, `node_call_errors_total{method}`: recorded for every
//!   node transport by [`crate::node::instrumented::Instrumented`], which start-up wraps around
//!   the node; a transport need not call [`node_call`] itself (it would count twice).
//! - `outstanding_amount_msat`, `reconciler_backlog`: gauges computed from the store at scrape
//!   time (so every replica sharing one PostgreSQL reports the same, global value: aggregate
//!   with `max`, not `sum`).
//! - `webhook_deliveries_total{outcome}`: webhook posts by outcome (`delivered`, `http_error`,
//!   `timeout`, `refused`, `connect_error`), by the replica that made them.
//! - `webhook_queue_depth`, `webhook_oldest_undelivered_seconds`: deliveries not yet delivered
//!   nor given up, and the age of the oldest; store gauges read at scrape time.
//! - `claim_status_waiters`: claim page status long-polls held now (one per open claim page);
//!   moved by [`crate::service::Service::wait_claim`].
//! - `build_info{version}`: always 1.

use std::sync::OnceLock;
use std::time::Duration;

use metrics::{counter, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// The node methods, as labels (the [`crate::node::Node`] trait's names).
pub const NODE_METHODS: [&str; 5] = [
    "sign_and_store",
    "list",
    "disable",
    "payments_since",
    "ping",
];

/// How a webhook post can end, as labels.
pub const WEBHOOK_OUTCOMES: [&str; 5] = [
    "delivered",
    "http_error",
    "timeout",
    "refused",
    "connect_error",
];

const LATENCY_BUCKETS: [f64; 14] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process-wide recorder's handle; installs the recorder on first use.
///
/// Panics if another `metrics` recorder was installed first (nothing in this crate does that).
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let handle = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                &LATENCY_BUCKETS,
            )
            .and_then(|b| {
                b.set_buckets_for_metric(
                    Matcher::Full("node_call_duration_seconds".into()),
                    &LATENCY_BUCKETS,
                )
            })
            .expect("non-empty buckets")
            .install_recorder()
            .expect("the only metrics recorder of this process");
        // Without the exporter's async runtime feature nobody drains histogram samples between
        // scrapes: do it here, off the async runtime, so memory stays bounded when nobody scrapes.
        let upkeep = handle.clone();
        std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_secs(5));
                    upkeep.run_upkeep();
                }
            })
            .expect("spawn metrics upkeep thread");
        describe();
        handle
    })
}

/// Installs the recorder (if not yet) and registers every family, so each exists before its
/// first event.
pub fn init() {
    handle();
}

fn describe() {
    use metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        "http_requests_total",
        "HTTP requests answered, by route, method and status."
    );
    describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "Time to answer an HTTP request, by route and method."
    );
    describe_counter!(
        "invoice_requests_created_total",
        "Invoice requests created (active on the node)."
    );
    describe_counter!(
        "invoice_requests_disabled_total",
        "Invoice requests disabled by a client."
    );
    describe_counter!("invoice_requests_paid_total", "Invoice requests paid.");
    describe_counter!(
        "invoice_requests_failed_but_live_total",
        "Invoice requests the store had marked failed that were found active on the node (and disabled there)."
    );
    describe_histogram!(
        "node_call_duration_seconds",
        metrics::Unit::Seconds,
        "Time of a call to the node, by method."
    );
    describe_counter!(
        "node_call_errors_total",
        "Calls to the node that failed, by method."
    );
    describe_gauge!(
        "outstanding_amount_msat",
        "Sum of the amounts of active (open or paying, unexpired) invoice requests, msat."
    );
    describe_gauge!(
        "reconciler_backlog",
        "Invoice requests pending settlement with the node."
    );
    describe_counter!(
        "webhook_deliveries_total",
        "Webhook posts, by outcome (delivered, http_error, timeout, refused, connect_error)."
    );
    describe_gauge!(
        "webhook_queue_depth",
        "Webhook deliveries not yet delivered nor given up."
    );
    describe_gauge!(
        "webhook_oldest_undelivered_seconds",
        metrics::Unit::Seconds,
        "Age of the oldest webhook delivery not yet delivered nor given up (0: none)."
    );
    describe_gauge!(
        "claim_status_waiters",
        "Claim page status long-polls held now (about one per open claim page)."
    );
    describe_gauge!("build_info", "Always 1; the labels tell the build.");

    counter!("invoice_requests_created_total").absolute(0);
    counter!("invoice_requests_disabled_total").absolute(0);
    counter!("invoice_requests_paid_total").absolute(0);
    counter!("invoice_requests_failed_but_live_total").absolute(0);
    for outcome in WEBHOOK_OUTCOMES {
        counter!("webhook_deliveries_total", "outcome" => outcome).absolute(0);
    }
    for method in NODE_METHODS {
        counter!("node_call_errors_total", "method" => method).absolute(0);
    }
    gauge!("claim_status_waiters").set(0.0);
    gauge!("build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
}

/// An invoice request became active on the node.
pub fn created() {
    counter!("invoice_requests_created_total").increment(1);
}

/// A client disabled an invoice request.
pub fn disabled() {
    counter!("invoice_requests_disabled_total").increment(1);
}

/// An invoice request was paid.
pub fn paid() {
    counter!("invoice_requests_paid_total").increment(1);
}

/// A request the store had marked `failed` was found active on the node (and disabled there).
pub fn failed_but_live() {
    counter!("invoice_requests_failed_but_live_total").increment(1);
}

/// One call to the node finished (`method`: one of [`NODE_METHODS`] or the transport's name).
pub fn node_call(method: &'static str, duration: Duration, ok: bool) {
    histogram!("node_call_duration_seconds", "method" => method).record(duration.as_secs_f64());
    if !ok {
        counter!("node_call_errors_total", "method" => method).increment(1);
    }
}

/// One HTTP request answered (`route`: the matched route template).
pub fn http_request(route: String, method: String, status: u16, duration: Duration) {
    histogram!("http_request_duration_seconds", "route" => route.clone(), "method" => method.clone())
        .record(duration.as_secs_f64());
    counter!("http_requests_total", "route" => route, "method" => method, "status" => status.to_string())
        .increment(1);
}

/// Sets the store-derived gauges (called at scrape time).
pub fn set_store_gauges(outstanding_msat: u64, backlog: u64) {
    gauge!("outstanding_amount_msat").set(outstanding_msat as f64);
    gauge!("reconciler_backlog").set(backlog as f64);
}

/// One webhook post ended (`outcome`: one of [`WEBHOOK_OUTCOMES`]).
pub fn webhook_delivery(outcome: &'static str) {
    counter!("webhook_deliveries_total", "outcome" => outcome).increment(1);
}

/// Sets the webhook queue gauges (called at scrape time): pending deliveries and the age of
/// the oldest, seconds.
pub fn set_webhook_gauges(depth: u64, oldest_age_secs: f64) {
    gauge!("webhook_queue_depth").set(depth as f64);
    gauge!("webhook_oldest_undelivered_seconds").set(oldest_age_secs);
}
