//! Claim pages: the payee-facing page of an invoice request at `/claim/<token>`.
//!
//! The token is a fresh random 128-bit secret (22 URL-safe base64 characters), never the
//! `invreq_id`: the `lnr1…` string on the page is a bearer claim on money, while the id shows up
//! in logs, lists and webhooks. A request gets a token when created with `claim_page: true` or
//! later through [`Service::rotate_claim_as`]; rotating or revoking it retires the old one (its
//! page then answers 410 Gone).

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;

use super::PaymentStatus;
use super::payments::aggregate;
use super::{InvoiceRequestView, Service, ServiceError, unix_now};
use crate::auth::ApiClient;
use crate::store::{InvoiceRequestRecord, Status, StoreError};

/// Random bytes in a token: 128 bits.
pub const CLAIM_TOKEN_BYTES: usize = 16;
/// Characters of a token: 16 bytes in unpadded URL-safe base64.
pub const CLAIM_TOKEN_LEN: usize = 22;
/// The longest a status long-poll is held.
pub const MAX_CLAIM_WAIT: Duration = Duration::from_secs(20);
/// How often a held long-poll re-reads the store (replicas share the database, not memory):
/// a page learns of a payment within this, for a few indexed reads a second per open page.
const CLAIM_POLL_EVERY: Duration = Duration::from_millis(500);
/// Gauge: status long-polls being held now.
pub const CLAIM_WAITERS_GAUGE: &str = "claim_status_waiters";

/// A new random token.
pub fn new_claim_token() -> String {
    let mut bytes = [0u8; CLAIM_TOKEN_BYTES];
    rand::thread_rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Whether `s` could be a token (checked before any database read).
pub fn is_claim_token(s: &str) -> bool {
    s.len() == CLAIM_TOKEN_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What a claim page shows.
#[derive(Debug, Clone)]
pub struct ClaimView {
    /// The invoice request, with expiry applied.
    pub record: InvoiceRequestRecord,
    /// Seconds since 1970 when its (first complete) payment completed, once paid.
    pub paid_at: Option<u64>,
}

impl Service {
    /// Gives a just-inserted request its first token (create with `claim_page: true`).
    pub(super) async fn issue_claim_token(&self, invreq_id: &str) -> Result<String, StoreError> {
        let token = new_claim_token();
        self.store
            .insert_claim_token(invreq_id, &token, unix_now())
            .await?;
        Ok(token)
    }

    /// The live claim tokens of these requests, by invreq_id.
    pub(super) async fn claim_tokens_of(
        &self,
        records: &[InvoiceRequestRecord],
    ) -> Result<std::collections::HashMap<String, String>, StoreError> {
        let ids: Vec<&str> = records.iter().map(|r| r.invreq_id.as_str()).collect();
        self.store.live_claim_tokens(&ids).await
    }

    /// The request behind a live token.
    ///
    /// # Errors
    /// [`ServiceError::ClaimNotFound`] for a token that never existed (or is malformed),
    /// [`ServiceError::ClaimRevoked`] for one rotated away or revoked.
    pub async fn claim(&self, token: &str) -> Result<ClaimView, ServiceError> {
        if !is_claim_token(token) {
            return Err(ServiceError::ClaimNotFound);
        }
        let found = self
            .store
            .claim_token(token)
            .await?
            .ok_or(ServiceError::ClaimNotFound)?;
        if found.revoked_at.is_some() {
            return Err(ServiceError::ClaimRevoked);
        }
        let record = self
            .store
            .get_any(&found.invreq_id)
            .await?
            .ok_or(ServiceError::ClaimNotFound)?
            .effective(unix_now());
        let paid_at = if record.status == Status::Paid || record.used {
            aggregate(&self.store.payment_parts(&record.invreq_id).await?)
                .iter()
                .filter(|p| p.status == PaymentStatus::Complete)
                .filter_map(|p| p.completed_at)
                .min()
        } else {
            None
        };
        Ok(ClaimView { record, paid_at })
    }

    /// [`Service::claim`], held until the status differs from `since` or `wait` (at most
    /// [`MAX_CLAIM_WAIT`]) passes: a long-poll, so a page learns of a payment within a fraction
    /// of a second without asking every second.
    ///
    /// # Errors
    /// As [`Service::claim`]; a token revoked while waiting ends the wait with
    /// [`ServiceError::ClaimRevoked`].
    pub async fn wait_claim(
        &self,
        token: &str,
        since: Option<Status>,
        wait: Duration,
    ) -> Result<ClaimView, ServiceError> {
        let deadline = tokio::time::Instant::now() + wait.min(MAX_CLAIM_WAIT);
        let mut view = self.claim(token).await?;
        let Some(since) = since else {
            return Ok(view);
        };
        let _waiting = WaiterGauge::enter();
        while view.record.status == since && tokio::time::Instant::now() < deadline {
            tokio::time::sleep_until(
                (tokio::time::Instant::now() + CLAIM_POLL_EVERY).min(deadline),
            )
            .await;
            view = self.claim(token).await?;
        }
        Ok(view)
    }

    /// Gives a request a fresh claim token, retiring the live one (if any): its old page
    /// answers 410 from now on. Audited as `claim_rotate`.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] for another tenant's or an unknown id;
    /// [`ServiceError::AlreadyInactive`] when the request is disabled, expired or failed
    /// (nobody can claim it any more).
    pub async fn rotate_claim_as(
        &self,
        client: &ApiClient,
        invreq_id: &str,
    ) -> Result<InvoiceRequestView, ServiceError> {
        let result = self.rotate_claim(&client.tenant, invreq_id).await;
        self.audit_claim(client, "claim_rotate", invreq_id, &result)
            .await;
        result
    }

    async fn rotate_claim(
        &self,
        tenant: &str,
        invreq_id: &str,
    ) -> Result<InvoiceRequestView, ServiceError> {
        let record = self.current_record(tenant, invreq_id).await?;
        if matches!(
            record.status,
            Status::Disabled | Status::Expired | Status::Failed
        ) {
            return Err(ServiceError::AlreadyInactive(invreq_id.to_owned()));
        }
        // A concurrent rotation may win the one live slot: try again once on top of it.
        let mut tries = 0;
        loop {
            match self
                .store
                .rotate_claim_token(invreq_id, &new_claim_token(), unix_now())
                .await
            {
                Ok(()) => break,
                Err(StoreError::Duplicate) if tries == 0 => tries += 1,
                Err(e) => return Err(e.into()),
            }
        }
        self.get(tenant, invreq_id).await
    }

    /// Revokes a request's claim token (if it has one): its page answers 410 from now on and
    /// `claim_url` is gone from the request. Audited as `claim_revoke`.
    ///
    /// # Errors
    /// [`ServiceError::NotFound`] for another tenant's or an unknown id.
    pub async fn revoke_claim_as(
        &self,
        client: &ApiClient,
        invreq_id: &str,
    ) -> Result<InvoiceRequestView, ServiceError> {
        let result = async {
            self.record_of(&client.tenant, invreq_id).await?;
            self.store.revoke_claim_token(invreq_id, unix_now()).await?;
            self.get(&client.tenant, invreq_id).await
        }
        .await;
        self.audit_claim(client, "claim_revoke", invreq_id, &result)
            .await;
        result
    }

    async fn audit_claim(
        &self,
        client: &ApiClient,
        action: &str,
        invreq_id: &str,
        result: &Result<InvoiceRequestView, ServiceError>,
    ) {
        let (amount, out) = match result {
            Ok(v) => (Some(v.record.amount_msat), "ok"),
            Err(e) => (None, super::audit::outcome(e)),
        };
        self.audit_invreq(client, action, Some(invreq_id.to_owned()), amount, out)
            .await;
    }
}

/// Counts a held long-poll in [`CLAIM_WAITERS_GAUGE`] for as long as it lives.
struct WaiterGauge;

impl WaiterGauge {
    fn enter() -> Self {
        metrics::gauge!(CLAIM_WAITERS_GAUGE).increment(1.0);
        Self
    }
}

impl Drop for WaiterGauge {
    fn drop(&mut self) {
        metrics::gauge!(CLAIM_WAITERS_GAUGE).decrement(1.0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_fresh_128_bit_and_url_safe() {
        let a = new_claim_token();
        let b = new_claim_token();
        assert_ne!(a, b);
        assert_eq!(a.len(), CLAIM_TOKEN_LEN);
        assert!(is_claim_token(&a), "{a}");
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 16);
    }

    #[test]
    fn token_shape() {
        assert!(is_claim_token("AAAAAAAAAAAAAAAAAAAA-_"));
        assert!(!is_claim_token("AAAAAAAAAAAAAAAAAAAA-"));
        assert!(!is_claim_token("AAAAAAAAAAAAAAAAAAAA-/"));
        assert!(!is_claim_token("assets"));
        assert!(!is_claim_token(&"a".repeat(64)));
    }
}
