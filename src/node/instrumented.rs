//! A [`Node`] wrapper that measures every call: `node_call_duration_seconds{method}` and
//! `node_call_errors_total{method}`. Start-up wraps whatever transport is configured in it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;

use super::{
    BuildMode, Node, NodeBuiltRequest, NodeError, NodeInfo, NodeInvoiceRequest, NodePayment,
};
use crate::bolt12::{InvoiceRequest, UnsignedInvoiceRequest};
use crate::metrics;

/// Measures the calls of the node it wraps.
pub struct Instrumented {
    inner: Arc<dyn Node>,
}

impl Instrumented {
    /// Wraps a node.
    pub fn new(inner: Arc<dyn Node>) -> Self {
        Self { inner }
    }
}

fn observe<T>(
    method: &'static str,
    started: Instant,
    result: Result<T, NodeError>,
) -> Result<T, NodeError> {
    metrics::node_call(method, started.elapsed(), result.is_ok());
    result
}

#[async_trait]
impl Node for Instrumented {
    fn info(&self) -> &NodeInfo {
        self.inner.info()
    }

    fn signs_locally(&self) -> bool {
        self.inner.signs_locally()
    }

    fn build_mode(&self) -> BuildMode {
        self.inner.build_mode()
    }

    async fn create_built(
        &self,
        request: &NodeBuiltRequest,
    ) -> Result<NodeInvoiceRequest, NodeError> {
        let started = Instant::now();
        let result = self.inner.create_built(request).await;
        observe("create_built", started, result)
    }

    async fn sign_and_store(
        &self,
        unsigned: &UnsignedInvoiceRequest,
        single_use: bool,
        label: Option<&str>,
    ) -> Result<InvoiceRequest, NodeError> {
        let started = Instant::now();
        let result = self.inner.sign_and_store(unsigned, single_use, label).await;
        observe("sign_and_store", started, result)
    }

    async fn list(&self, invreq_id: Option<&str>) -> Result<Vec<NodeInvoiceRequest>, NodeError> {
        let started = Instant::now();
        let result = self.inner.list(invreq_id).await;
        observe("list", started, result)
    }

    async fn disable(&self, invreq_id: &str) -> Result<NodeInvoiceRequest, NodeError> {
        let started = Instant::now();
        let result = self.inner.disable(invreq_id).await;
        observe("disable", started, result)
    }

    async fn payments_since(
        &self,
        created_index: u64,
        updated_index: u64,
        wait: Duration,
    ) -> Result<Vec<NodePayment>, NodeError> {
        let started = Instant::now();
        let result = self
            .inner
            .payments_since(created_index, updated_index, wait)
            .await;
        observe("payments_since", started, result)
    }

    async fn ping(&self) -> Result<(), NodeError> {
        let started = Instant::now();
        let result = self.inner.ping().await;
        observe("ping", started, result)
    }
}
