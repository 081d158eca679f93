//! Claim tokens: the secret in a claim page's URL (`/claim/<token>`), one live per invoice
//! request, kept after rotation or revocation (with `revoked_at`) so an old link can be told
//! apart from one that never existed.
//!
//! Tokens are stored as they are, not hashed: the `lnr1…` string a token leads to is stored
//! in clear next to it (a reader of the database has the claim either way), and the API shows
//! the live `claim_url` again on every read.

use std::collections::HashMap;

use sqlx::Row;

use super::{Store, StoreError};

/// A claim token as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimTokenRecord {
    /// The token (URL-safe text).
    pub token: String,
    /// The invoice request it shows.
    pub invreq_id: String,
    /// Seconds since 1970.
    pub created_at: u64,
    /// Seconds since 1970 when it was rotated away or revoked; `None` while live.
    pub revoked_at: Option<u64>,
}

impl Store {
    /// Adds a live token for a request that has none.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] if the request already has a live token (or the token exists).
    pub async fn insert_claim_token(
        &self,
        invreq_id: &str,
        token: &str,
        now: u64,
    ) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO claim_tokens (token, invreq_id, created_at) VALUES ($1, $2, $3)")
            .bind(token)
            .bind(invreq_id)
            .bind(now as i64)
            .execute(&self.writer)
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }

    /// Revokes the request's live token (if any) and makes `token` its live one, atomically.
    ///
    /// # Errors
    /// [`StoreError::Duplicate`] when a concurrent rotation won the race.
    pub async fn rotate_claim_token(
        &self,
        invreq_id: &str,
        token: &str,
        now: u64,
    ) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(StoreError::classify)?;
        sqlx::query(
            "UPDATE claim_tokens SET revoked_at = $1 WHERE invreq_id = $2 AND revoked_at IS NULL",
        )
        .bind(now as i64)
        .bind(invreq_id)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::classify)?;
        sqlx::query("INSERT INTO claim_tokens (token, invreq_id, created_at) VALUES ($1, $2, $3)")
            .bind(token)
            .bind(invreq_id)
            .bind(now as i64)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::classify)?;
        tx.commit().await.map_err(StoreError::classify)?;
        Ok(())
    }

    /// Revokes the request's live token; returns whether there was one.
    pub async fn revoke_claim_token(&self, invreq_id: &str, now: u64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE claim_tokens SET revoked_at = $1 WHERE invreq_id = $2 AND revoked_at IS NULL",
        )
        .bind(now as i64)
        .bind(invreq_id)
        .execute(&self.writer)
        .await
        .map_err(StoreError::classify)?;
        Ok(done.rows_affected() > 0)
    }

    /// A token, live or revoked.
    pub async fn claim_token(&self, token: &str) -> Result<Option<ClaimTokenRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT token, invreq_id, created_at, revoked_at FROM claim_tokens WHERE token = $1",
        )
        .bind(token)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::classify)?;
        row.map(|r| {
            Ok(ClaimTokenRecord {
                token: r.try_get("token")?,
                invreq_id: r.try_get("invreq_id")?,
                created_at: r.try_get::<i64, _>("created_at")? as u64,
                revoked_at: r.try_get::<Option<i64>, _>("revoked_at")?.map(|t| t as u64),
            })
        })
        .transpose()
        .map_err(|e: sqlx::Error| StoreError::Corrupt(e.to_string()))
    }

    /// The live tokens of these requests (those that have one), by invreq_id.
    pub async fn live_claim_tokens(
        &self,
        invreq_ids: &[&str],
    ) -> Result<HashMap<String, String>, StoreError> {
        if invreq_ids.is_empty() {
            return Ok(HashMap::new());
        }
        let placeholders: Vec<String> = (1..=invreq_ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT invreq_id, token FROM claim_tokens WHERE revoked_at IS NULL AND invreq_id IN ({})",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in invreq_ids {
            query = query.bind(*id);
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        rows.iter()
            .map(|r| Ok((r.try_get("invreq_id")?, r.try_get("token")?)))
            .collect::<Result<_, sqlx::Error>>()
            .map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}
