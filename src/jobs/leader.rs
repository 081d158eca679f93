//! One replica at a time runs the background jobs: the holder of a PostgreSQL advisory lock.
//!
//! The lock lives on a connection of its own (detached from the pool), so when the holder dies
//! its connection closes, PostgreSQL releases the lock and a standby takes over within a poll
//! interval. SQLite serves one process, which is always the leader.

use std::time::Duration;

use sqlx::AnyConnection;
use sqlx::Connection;

use crate::store::{Backend, Store};

/// The advisory lock key ("invreqd" in ASCII).
const LOCK_KEY: i64 = 0x0069_6e76_7265_7164;

/// How often a standby tries to take the lock, and the leader checks it still holds it.
pub const POLL: Duration = Duration::from_secs(1);

/// Proof of leadership; dropping it gives the lock up.
pub struct LeaderGuard {
    conn: Option<AnyConnection>,
}

/// Waits until this process is the leader.
pub async fn acquire(store: &Store) -> LeaderGuard {
    if store.backend() == Backend::Sqlite {
        return LeaderGuard { conn: None };
    }
    loop {
        match try_acquire(store).await {
            Ok(Some(conn)) => return LeaderGuard { conn: Some(conn) },
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "could not try the leader lock"),
        }
        tokio::time::sleep(POLL).await;
    }
}

async fn try_acquire(store: &Store) -> Result<Option<AnyConnection>, sqlx::Error> {
    let mut conn = store.pool().acquire().await?.detach();
    let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LOCK_KEY)
        .fetch_one(&mut conn)
        .await?;
    if got {
        Ok(Some(conn))
    } else {
        let _ = conn.close().await;
        Ok(None)
    }
}

impl LeaderGuard {
    /// Completes when leadership is lost (the lock's connection fails); never for SQLite.
    pub async fn lost(&mut self) {
        let Some(conn) = self.conn.as_mut() else {
            return std::future::pending().await;
        };
        loop {
            tokio::time::sleep(POLL).await;
            let alive = tokio::time::timeout(POLL * 3, conn.ping()).await;
            if !matches!(alive, Ok(Ok(()))) {
                tracing::warn!("lost the leader lock's database connection");
                return;
            }
        }
    }
}
