//! Aggregates for the operational gauges (`/metrics`).

use super::{Status, Store, StoreError};
use crate::domain::lifecycle::{sql_active, sql_status_in};

impl Store {
    /// Sum of the amounts of active requests (open or paying, not expired at `now`), msat
    /// (saturating at u64::MAX).
    pub async fn outstanding_amount_msat(&self, now: u64) -> Result<u64, StoreError> {
        // SUM(bigint) is NUMERIC on PostgreSQL: cast back so the Any driver reads an i64. Summed
        // in two parts so that no number of maximal amounts overflows (see `wide_sum`).
        let sql = format!(
            "SELECT CAST(COALESCE(SUM(amount_msat / 1000000000), 0) AS BIGINT), \
             CAST(COALESCE(SUM(amount_msat % 1000000000), 0) AS BIGINT) FROM invoice_requests \
             WHERE {}",
            sql_active(1)
        );
        let (hi, lo): (i64, i64) = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(now as i64)
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::classify)?;
        Ok(super::keys::wide_sum(hi, lo))
    }

    /// Number of records still `pending` (the reconciler's backlog).
    pub async fn pending_count(&self) -> Result<u64, StoreError> {
        let sql = format!(
            "SELECT COUNT(*) FROM invoice_requests WHERE {}",
            sql_status_in(&[Status::Pending])
        );
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(self.pool())
            .await
            .map_err(StoreError::classify)?;
        Ok(n.max(0) as u64)
    }
}
