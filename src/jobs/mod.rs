//! Background work: settling pending records and, with a node that pays, following payments.
//!
//! Each job is a loop in its own module; [`spawn_all`] starts them and [`Jobs::stop`] ends them.

mod payment_watcher;
mod reconciler;

use std::time::Duration;

use tokio::task::JoinSet;

use crate::service::Service;

/// Settings of the background jobs.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Time between reconciler runs.
    pub reconcile_interval: Duration,
    /// Longest long-poll of the payment watcher.
    pub payment_wait: Duration,
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
    if service.node().info().can_pay {
        set.spawn(payment_watcher::run(service.clone(), settings.payment_wait));
    }
    Jobs { set }
}
