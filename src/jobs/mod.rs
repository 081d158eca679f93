//! Background work: settling pending records (and, with a real node, following payments).
//!
//! Each job is a loop in its own module; [`spawn_all`] starts them and [`Jobs::stop`] ends them.

mod reconciler;

use std::time::Duration;

use tokio::task::JoinSet;

use crate::service::Service;

/// Settings of the background jobs.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Time between reconciler runs.
    pub reconcile_interval: Duration,
}

/// The running jobs.
pub struct Jobs {
    set: JoinSet<()>,
}

impl Jobs {
    /// Stops every job (they hold no state that a stop at an await point could corrupt).
    pub async fn stop(mut self) {
        self.set.abort_all();
        while self.set.join_next().await.is_some() {}
    }
}

/// Starts every background job.
pub fn spawn_all(service: Service, settings: JobSettings) -> Jobs {
    let mut set = JoinSet::new();
    set.spawn(reconciler::run(
        service.clone(),
        settings.reconcile_interval,
    ));
    Jobs { set }
}
