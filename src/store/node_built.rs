//! Node-built requests: the record is written under the service's own key before the node is
//! called, and takes the node's `invreq_id` once it is known.

use super::{Store, StoreError};

impl Store {
    /// Gives a pending record (written under `pending_id`) its real `invreq_id` and signed
    /// string, and opens it; the idempotency key bound to it follows. Returns `false` when no
    /// pending record has that id (already settled elsewhere).
    ///
    /// # Errors
    /// The database's; [`StoreError`] `Conflict`-like when `invreq_id` already exists.
    pub async fn rekey_pending(
        &self,
        pending_id: &str,
        invreq_id: &str,
        bolt12: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        let done = sqlx::query(
            "UPDATE invoice_requests SET invreq_id = $1, bolt12 = $2, status = 'open', \
             active = $3, updated_at = $4 WHERE invreq_id = $5 AND status = 'pending'",
        )
        .bind(invreq_id)
        .bind(bolt12)
        .bind(true)
        .bind(now as i64)
        .bind(pending_id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::classify)?;
        if done.rows_affected() != 1 {
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
    }
}
