//! The leader lock: a PostgreSQL advisory lock held on a connection of its own.
//!
//! The connection is detached from the pool, so when the holder dies its connection closes,
//! PostgreSQL releases the lock and a standby takes it. SQLite serves one process, which needs
//! no lock (the caller checks [`Store::backend`]).

use std::time::Duration;

use sqlx::{AnyConnection, Connection};

use super::{Store, StoreError};

/// The advisory lock key ("invreqd" in ASCII).
const LOCK_KEY: i64 = 0x0069_6e76_7265_7164;

/// A held leader lock; dropping it closes its connection, which gives the lock up.
pub struct LeaderLock {
    conn: AnyConnection,
}

impl Store {
    /// Takes the leader lock if no other process holds it (`pg_try_advisory_lock`); `None`
    /// when another holds it. PostgreSQL only.
    ///
    /// # Errors
    /// [`StoreError`] when the database does not answer.
    pub async fn try_leader_lock(&self) -> Result<Option<LeaderLock>, StoreError> {
        let mut conn = self
            .pool
            .acquire()
            .await
            .map_err(StoreError::classify)?
            .detach();
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LOCK_KEY)
            .fetch_one(&mut conn)
            .await
            .map_err(StoreError::classify)?;
        if got {
            Ok(Some(LeaderLock { conn }))
        } else {
            let _ = conn.close().await;
            Ok(None)
        }
    }
}

impl LeaderLock {
    /// Whether the lock's connection still answers within `within` (if not, the lock may be
    /// gone: PostgreSQL releases it with the session).
    pub async fn alive(&mut self, within: Duration) -> bool {
        matches!(
            tokio::time::timeout(within, self.conn.ping()).await,
            Ok(Ok(()))
        )
    }
}
