//! Background work that must run once across replicas: settling pending records, expiring
//! requests, pruning old events (and, with a real node, following payments). Webhook delivery
//! runs on every replica ([`webhook_delivery`]): replicas claim deliveries one by one.
//!
//! [`spawn_all`] starts a supervisor that waits for leadership ([`leader`]), runs the jobs while
//! it holds it, and stops them when it is lost. [`Jobs::stop`] asks every job to return at its
//! next safe point (between units of work); whatever has not returned after [`STOP_GRACE`] is
//! aborted.

mod expiry;
pub mod leader;
mod payment_watcher;
mod reconciler;
mod webhook_delivery;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;

use crate::service::Service;

/// How long [`Jobs::stop`] waits for the jobs to reach a safe point before aborting them.
pub const STOP_GRACE: Duration = Duration::from_secs(10);

/// Settings of the background jobs.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Time between reconciler runs.
    pub reconcile_interval: Duration,
    /// Longest long-poll of the payment watcher.
    pub payment_wait: Duration,
}

/// Tells a job that the process is stopping.
#[derive(Clone)]
pub struct StopSignal(watch::Receiver<bool>);

impl StopSignal {
    /// Whether stopping has been asked.
    pub fn is_stopping(&self) -> bool {
        *self.0.borrow()
    }

    /// Completes once stopping has been asked (use in a `select!` against the job's waits).
    pub async fn stopped(&mut self) {
        let _ = self.0.wait_for(|stop| *stop).await;
    }
}

/// The running supervisor.
pub struct Jobs {
    set: JoinSet<()>,
    stop: watch::Sender<bool>,
}

impl Jobs {
    /// Asks every job to stop at its next safe point, waits up to [`STOP_GRACE`], then aborts
    /// what is left.
    pub async fn stop(mut self) {
        let _ = self.stop.send(true);
        let finished = tokio::time::timeout(STOP_GRACE, async {
            while self.set.join_next().await.is_some() {}
        })
        .await
        .is_ok();
        if !finished {
            tracing::warn!("background jobs did not stop in time; aborting them");
            self.set.abort_all();
            while self.set.join_next().await.is_some() {}
        }
    }
}

/// Starts the supervisor; `is_leader` tells whether this process runs the jobs now.
pub fn spawn_all(service: Service, settings: JobSettings, is_leader: Arc<AtomicBool>) -> Jobs {
    let (stop, stop_rx) = watch::channel(false);
    let mut set = JoinSet::new();
    set.spawn(webhook_delivery::run(
        service.clone(),
        StopSignal(stop_rx.clone()),
    ));
    set.spawn(supervise(service, settings, is_leader, StopSignal(stop_rx)));
    Jobs { set, stop }
}

async fn supervise(
    service: Service,
    settings: JobSettings,
    is_leader: Arc<AtomicBool>,
    mut stop: StopSignal,
) {
    loop {
        let mut guard = tokio::select! {
            guard = leader::acquire(service.store()) => guard,
            () = stop.stopped() => return,
        };
        is_leader.store(true, Ordering::SeqCst);
        tracing::info!("this replica now runs the background jobs");
        let mut jobs = JoinSet::new();
        jobs.spawn(reconciler::run(
            service.clone(),
            settings.reconcile_interval,
            stop.clone(),
        ));
        jobs.spawn(expiry::run(service.clone(), stop.clone()));
        jobs.spawn(webhook_delivery::prune(service.clone(), stop.clone()));
        if service.node().info().can_pay {
            jobs.spawn(payment_watcher::run(
                service.clone(),
                settings.payment_wait,
                stop.clone(),
            ));
        }
        let stopping = tokio::select! {
            () = guard.lost() => false,
            () = stop.stopped() => true,
        };
        if stopping {
            // The jobs saw the same signal: let them reach their safe points.
            while jobs.join_next().await.is_some() {}
            is_leader.store(false, Ordering::SeqCst);
            return;
        }
        // Another replica may take over at once: stop here without waiting.
        is_leader.store(false, Ordering::SeqCst);
        jobs.abort_all();
        while jobs.join_next().await.is_some() {}
        drop(guard);
        tracing::warn!("background jobs stopped: leadership lost; standing by");
    }
}
