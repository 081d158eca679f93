//! Node-built requests: the record is written under the service's own key before the node is
//! called, and takes the node's `invreq_id` once it is known.

use super::{BeginWrite, MoveWrites, NewEvent, Status, Store, StoreError, apply_in, on_pools};
use crate::domain::lifecycle::{Move, sql_status_in};

impl Store {
    /// Gives a pending record (written under `pending_id`) its real `invreq_id` and opens it
    /// with the node's signed string ([`Move::created`], with `event` when given, in the same
    /// transaction); the idempotency key bound to it follows. Returns `false` when no pending
    /// record has that id (already settled elsewhere).
    ///
    /// # Errors
    /// The database's; [`StoreError`] `Conflict`-like when `invreq_id` already exists.
    pub async fn rekey_pending(
        &self,
        pending_id: &str,
        invreq_id: &str,
        bolt12: &str,
        event: Option<&NewEvent>,
        now: u64,
    ) -> Result<bool, StoreError> {
        let sql = format!(
            "UPDATE invoice_requests SET invreq_id = $1 WHERE invreq_id = $2 AND {}",
            sql_status_in(&[Status::Pending])
        );
        let writes = MoveWrites {
            bolt12: Some(bolt12),
            used_before: None,
            event,
        };
        on_pools!(self, |read, write| {
            let mut tx = write.begin_write().await?;
            let renamed = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(invreq_id)
                .bind(pending_id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::classify)?;
            if renamed.rows_affected() != 1
                || !apply_in!(
                    &mut tx,
                    self.backend,
                    invreq_id,
                    &Move::created(),
                    &writes,
                    now
                )?
            {
                tx.rollback().await.map_err(StoreError::classify)?;
                return Ok(false);
            }
            sqlx::query("UPDATE idempotency_keys SET invreq_id = $1 WHERE invreq_id = $2")
                .bind(invreq_id)
                .bind(pending_id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::classify)?;
            tx.commit().await.map_err(StoreError::classify)?;
            Ok(true)
        })
    }
}
