//! One replica at a time runs the background jobs: the holder of a PostgreSQL advisory lock.
//!
//! The lock ([`crate::store::LeaderLock`]) lives on a connection of its own, so when the holder
//! dies PostgreSQL releases it and a standby takes over within a poll interval. SQLite serves
//! one process, which is always the leader.

use std::time::Duration;

use crate::store::{Backend, LeaderLock, Store};

/// How often a standby tries to take the lock, and the leader checks it still holds it.
pub const POLL: Duration = Duration::from_secs(1);

/// Proof of leadership; dropping it gives the lock up.
pub struct LeaderGuard {
    lock: Option<LeaderLock>,
}

/// Waits until this process is the leader.
pub async fn acquire(store: &Store) -> LeaderGuard {
    if store.backend() == Backend::Sqlite {
        return LeaderGuard { lock: None };
    }
    loop {
        match store.try_leader_lock().await {
            Ok(Some(lock)) => return LeaderGuard { lock: Some(lock) },
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not try the leader lock"),
        }
        tokio::time::sleep(POLL).await;
    }
}

impl LeaderGuard {
    /// Completes when leadership is lost (the lock's connection fails); never for SQLite.
    pub async fn lost(&mut self) {
        let Some(lock) = self.lock.as_mut() else {
            return std::future::pending().await;
        };
        loop {
            tokio::time::sleep(POLL).await;
            if !lock.alive(POLL * 3).await {
                tracing::warn!("lost the leader lock's database connection");
                return;
            }
        }
    }
}
