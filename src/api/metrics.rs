//! `GET /metrics`: Prometheus text exposition.

use std::time::Duration;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;

use super::AppState;
use crate::service::unix_now;

/// Prometheus metrics (text format 0.0.4).
#[utoipa::path(get, path = "/metrics", tag = "operations", responses(
    (status = 200, description = "Prometheus text exposition format 0.0.4.", content_type = "text/plain", body = String),
))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // The store-derived gauges are read now; if the store does not answer quickly, the last
    // values stay (the scrape itself must not fail because the database is slow).
    let store = state.service.store();
    let timeout = Duration::from_secs(2);
    let outstanding =
        tokio::time::timeout(timeout, store.outstanding_amount_msat(unix_now())).await;
    let backlog = tokio::time::timeout(timeout, store.pending_count()).await;
    match (outstanding, backlog) {
        (Ok(Ok(outstanding)), Ok(Ok(backlog))) => {
            crate::metrics::set_store_gauges(outstanding, backlog);
        }
        _ => tracing::warn!("metrics: could not read the store gauges; serving the last values"),
    }
    if let Ok(Ok(q)) = tokio::time::timeout(timeout, store.delivery_queue()).await {
        let now_ms = crate::service::webhooks::now_ms();
        let age = q
            .oldest_ms
            .map_or(0.0, |o| now_ms.saturating_sub(o) as f64 / 1000.0);
        crate::metrics::set_webhook_gauges(q.pending, age);
    }
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        crate::metrics::handle().render(),
    )
}
