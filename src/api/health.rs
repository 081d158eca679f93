//! Liveness and readiness.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::service::PaymentWatch;

/// What a probe found.
#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or `unavailable`.
    pub status: &'static str,
    /// Per dependency: `ok` or what is wrong.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checks: Option<Checks>,
}

/// Readiness of each dependency.
#[derive(Serialize, ToSchema)]
pub struct Checks {
    /// The database.
    pub store: String,
    /// The node.
    pub node: String,
    /// The payment watcher: `ok`; `starting`; `standby` (another replica runs it); `none` (this
    /// node cannot pay); or what its last round failed with (`credentials_refused`,
    /// `unreachable`, …: payments are then not being recorded).
    pub payments: String,
    /// Whether the process is draining for shutdown.
    pub draining: bool,
    /// `leader` when this replica runs the background jobs, else `standby`.
    pub jobs: &'static str,
}

/// The process runs.
#[utoipa::path(get, path = "/healthz", tag = "operations", responses((status = 200, description = "Alive.", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        checks: None,
    })
}

/// Store and node reachable, not draining.
#[utoipa::path(get, path = "/readyz", tag = "operations", responses(
    (status = 200, description = "Ready.", body = Health),
    (status = 503, description = "Not ready.", body = Health),
))]
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let timeout = std::time::Duration::from_secs(2);
    let store = match tokio::time::timeout(timeout, state.service.store().ping()).await {
        Ok(Ok(())) => "ok".to_string(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => "timeout".to_string(),
    };
    let node = match tokio::time::timeout(timeout, state.service.node().ping()).await {
        Ok(Ok(())) => "ok".to_string(),
        // The kind only: the error's text can name the node's URL.
        Ok(Err(e)) => e.kind().to_string(),
        Err(_) => "timeout".to_string(),
    };
    let is_leader = state.is_leader.load(std::sync::atomic::Ordering::Relaxed);
    let payments = if !state.service.node().info().can_pay {
        "none".to_string()
    } else if !is_leader {
        "standby".to_string()
    } else {
        match state.service.payment_watch() {
            PaymentWatch::Starting => "starting".to_string(),
            PaymentWatch::Ok => "ok".to_string(),
            PaymentWatch::Failing(kind) => kind.to_string(),
        }
    };
    let payments_ok = matches!(payments.as_str(), "ok" | "starting" | "standby" | "none");
    let draining = state.draining.load(std::sync::atomic::Ordering::Relaxed);
    let ready = store == "ok" && node == "ok" && payments_ok && !draining;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(Health {
            status: if ready { "ok" } else { "unavailable" },
            checks: Some(Checks {
                store,
                node,
                payments,
                draining,
                jobs: if state.is_leader.load(std::sync::atomic::Ordering::Relaxed) {
                    "leader"
                } else {
                    "standby"
                },
            }),
        }),
    )
}
