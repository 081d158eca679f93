//! Background work that must run once across replicas: settling pending records (and, with a
//! real node, following payments and expiring requests).
//!
//! [`spawn_all`] starts a supervisor that waits for leadership ([`leader`]), runs the jobs while
//! it holds it, and stops them when it is lost; [`Jobs::stop`] ends everything.

mod expiry;
pub mod leader;
mod reconciler;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::task::JoinSet;

use crate::service::Service;

/// Settings of the background jobs.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Time between reconciler runs.
    pub reconcile_interval: Duration,
}

/// The running supervisor.
pub struct Jobs {
    set: JoinSet<()>,
}

impl Jobs {
    /// Stops every job at its next await point (each step is a database transaction or an
    /// idempotent node call, so stopping between them loses nothing).
    pub async fn stop(mut self) {
        self.set.abort_all();
        while self.set.join_next().await.is_some() {}
    }
}

/// Starts the supervisor; `is_leader` tells whether this process runs the jobs now.
pub fn spawn_all(service: Service, settings: JobSettings, is_leader: Arc<AtomicBool>) -> Jobs {
    let mut set = JoinSet::new();
    set.spawn(supervise(service, settings, is_leader));
    Jobs { set }
}

async fn supervise(service: Service, settings: JobSettings, is_leader: Arc<AtomicBool>) {
    loop {
        let mut guard = leader::acquire(service.store()).await;
        is_leader.store(true, Ordering::SeqCst);
        tracing::info!("this replica now runs the background jobs");
        let mut jobs = JoinSet::new();
        jobs.spawn(reconciler::run(
            service.clone(),
            settings.reconcile_interval,
        ));
        jobs.spawn(expiry::run(service.clone()));
        guard.lost().await;
        is_leader.store(false, Ordering::SeqCst);
        jobs.abort_all();
        while jobs.join_next().await.is_some() {}
        drop(guard);
        tracing::warn!("background jobs stopped: leadership lost; standing by");
    }
}
