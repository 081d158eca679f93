//! Background work: settling pending records (and, with a real node, following payments).
//!
//! Each job is a loop in its own module; [`spawn_all`] starts them and [`Jobs::stop`] ends them.
//! A job gets a [`StopSignal`] and returns at its next safe point (between units of work) once
//! it fires; whatever has not returned after [`STOP_GRACE`] is aborted.

mod reconciler;

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

/// The running jobs.
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
            tracing::warn!(
                left = self.set.len(),
                "background jobs did not stop in time; aborting them"
            );
            self.set.abort_all();
            while self.set.join_next().await.is_some() {}
        }
    }
}

/// Starts every background job.
pub fn spawn_all(service: Service, settings: JobSettings) -> Jobs {
    let (stop, stop_rx) = watch::channel(false);
    let mut set = JoinSet::new();
    set.spawn(reconciler::run(
        service.clone(),
        settings.reconcile_interval,
        StopSignal(stop_rx.clone()),
    ));
    Jobs { set, stop }
}
