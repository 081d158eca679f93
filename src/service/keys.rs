//! API keys: authentication, management and the bootstrap admin key.

use super::audit::record_audit;
use super::{Service, ServiceError, ValidationError, unix_now};
use crate::auth::{ApiClient, IssuedKey, PresentedKey, Scope, valid_key_name, valid_tenant};
use crate::store::{ApiKeyRecord, AuditEntry, Revocation, SpendingPolicy, Store, StoreError};

/// Why a presented key is refused. Every case is a 401 to the client.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Not of the form `ird_<key id>_<secret>`.
    #[error("the API key is malformed")]
    Malformed,
    /// No such key id, or the secret does not match (the two are not told apart).
    #[error("the API key is not valid")]
    Unknown,
    /// Its expiry has passed (told only to a holder of the right secret).
    #[error("the API key has expired")]
    Expired,
    /// It was revoked (told only to a holder of the right secret).
    #[error("the API key has been revoked")]
    Revoked,
    /// The store could not be asked.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a new key may do and spend.
#[derive(Debug, Clone)]
pub struct NewKey {
    /// A human name (1 to 128 characters).
    pub name: String,
    /// Its tenant (1 to 64 of `A-Z a-z 0-9 . _ -`).
    pub tenant: String,
    /// Its scopes (at least one).
    pub scopes: Vec<Scope>,
    /// Seconds since 1970 from which it no longer works (must lie in the future).
    pub expires_at: Option<u64>,
    /// Its spending ceilings.
    pub policy: SpendingPolicy,
}

impl NewKey {
    fn validate(&self, now: u64) -> Result<(), ValidationError> {
        if !valid_key_name(&self.name) {
            return Err(ValidationError::new(
                "name",
                "name must be 1 to 128 characters without control characters",
            ));
        }
        if !valid_tenant(&self.tenant) {
            return Err(ValidationError::new(
                "tenant",
                "tenant must be 1 to 64 of A-Z a-z 0-9 . _ -",
            ));
        }
        if self.scopes.is_empty() {
            return Err(ValidationError::new(
                "scopes",
                "scopes must name at least one scope",
            ));
        }
        if self.expires_at.is_some_and(|e| e <= now) {
            return Err(ValidationError::new(
                "expires_at",
                format!("expires_at must lie in the future (now is {now})"),
            ));
        }
        let p = &self.policy;
        for (field, v) in [
            ("max_per_request_msat", p.max_per_request_msat),
            ("max_daily_msat", p.max_daily_msat),
            ("max_outstanding_msat", p.max_outstanding_msat),
        ] {
            if v.is_some_and(|v| v > i64::MAX as u64) {
                return Err(ValidationError::new(
                    field,
                    format!("{field} must be at most {}", i64::MAX),
                ));
            }
        }
        Ok(())
    }
}

/// A key just made: `token` is shown once and kept nowhere.
#[derive(Debug)]
pub struct CreatedKey {
    /// `ird_<key id>_<secret>`.
    pub token: String,
    /// What the store keeps.
    pub record: ApiKeyRecord,
}

fn issue(new: NewKey, now: u64) -> CreatedKey {
    let issued = IssuedKey::generate();
    let mut scopes = new.scopes;
    scopes.sort_by_key(|s| Scope::ALL.iter().position(|x| x == s));
    scopes.dedup();
    CreatedKey {
        record: ApiKeyRecord {
            key_id: issued.key_id.clone(),
            secret_sha256: issued.secret_sha256.clone(),
            name: new.name,
            tenant: new.tenant,
            scopes: scopes.iter().map(|s| s.as_str().to_owned()).collect(),
            expires_at: new.expires_at,
            revoked: false,
            policy: new.policy,
            created_at: now,
            revoked_at: None,
        },
        token: issued.token,
    }
}

/// Key records read recently, so that most requests skip one database query.
///
/// Hand-written: a map behind a lock with a time stamp per entry is all it takes, and it keeps
/// invalidation on revoke explicit.
pub(crate) struct KeyCache {
    ttl: std::time::Duration,
    entries:
        std::sync::RwLock<std::collections::HashMap<String, (std::time::Instant, ApiKeyRecord)>>,
}

/// More cached keys than this and the cache starts afresh (it only holds live keys' records).
const KEY_CACHE_MAX: usize = 10_000;

impl KeyCache {
    pub(crate) fn new(ttl: std::time::Duration) -> Self {
        Self {
            ttl,
            entries: Default::default(),
        }
    }

    fn get(&self, key_id: &str) -> Option<ApiKeyRecord> {
        let entries = self.entries.read().unwrap_or_else(|e| e.into_inner());
        entries
            .get(key_id)
            .filter(|(at, _)| at.elapsed() < self.ttl)
            .map(|(_, r)| r.clone())
    }

    fn put(&self, record: &ApiKeyRecord) {
        if self.ttl.is_zero() {
            return;
        }
        let mut entries = self.entries.write().unwrap_or_else(|e| e.into_inner());
        if entries.len() >= KEY_CACHE_MAX {
            entries.clear();
        }
        entries.insert(
            record.key_id.clone(),
            (std::time::Instant::now(), record.clone()),
        );
    }

    fn forget(&self, key_id: &str) {
        self.entries
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(key_id);
    }
}

/// API keys: authentication and management. Needs only the store (the command line uses it
/// without a node, and without a cache).
#[derive(Clone)]
pub struct KeyService {
    store: Store,
    cache: Option<std::sync::Arc<KeyCache>>,
}

impl Service {
    /// The key service on this service's store, with its key cache.
    pub fn keys(&self) -> KeyService {
        KeyService {
            store: self.store.clone(),
            cache: Some(self.key_cache.clone()),
        }
    }
}

impl KeyService {
    /// Key management on `store`.
    pub fn new(store: Store) -> Self {
        Self { store, cache: None }
    }

    async fn key_record(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, AuthError> {
        if let Some(hit) = self.cache.as_ref().and_then(|c| c.get(key_id)) {
            return Ok(Some(hit));
        }
        let record = self.store.key(key_id).await?;
        if let (Some(cache), Some(r)) = (&self.cache, &record) {
            cache.put(r);
        }
        Ok(record)
    }

    /// Checks a presented key (the bearer token) and returns its client.
    pub async fn authenticate(&self, token: &str) -> Result<ApiClient, AuthError> {
        let presented = PresentedKey::parse(token).ok_or(AuthError::Malformed)?;
        let record = self
            .key_record(presented.key_id())
            .await?
            .ok_or(AuthError::Unknown)?;
        if !presented.matches(&record.secret_sha256) {
            return Err(AuthError::Unknown);
        }
        if record.revoked {
            return Err(AuthError::Revoked);
        }
        if record.expires_at.is_some_and(|e| e <= unix_now()) {
            return Err(AuthError::Expired);
        }
        Ok(ApiClient {
            key_id: record.key_id,
            tenant: record.tenant,
            // A scope this version does not know grants nothing.
            scopes: record
                .scopes
                .iter()
                .filter_map(|s| Scope::parse(s))
                .collect(),
            policy: record.policy,
        })
    }

    /// Makes a key on behalf of `actor`.
    pub async fn create_key(
        &self,
        actor: &ApiClient,
        new: NewKey,
    ) -> Result<CreatedKey, ServiceError> {
        let now = unix_now();
        new.validate(now)?;
        let created = issue(new, now);
        let result = self.store.insert_key(&created.record).await;
        self.audit_key(
            actor,
            "key_create",
            &created.record,
            if result.is_ok() { "ok" } else { "failed" },
        )
        .await;
        result?;
        Ok(created)
    }

    /// Every key (of one tenant, when given), oldest first.
    pub async fn list_keys(&self, tenant: Option<&str>) -> Result<Vec<ApiKeyRecord>, ServiceError> {
        Ok(self.store.keys(tenant).await?)
    }

    /// Revokes a key on behalf of `actor`; it stops working at once here, within the key cache's
    /// time on other replicas.
    ///
    /// # Errors
    /// [`ServiceError::KeyNotFound`], [`ServiceError::KeyAlreadyRevoked`], and
    /// [`ServiceError::LastAdminKey`] for the last active admin key (make another admin key
    /// first), or a store failure.
    pub async fn revoke_key(
        &self,
        actor: &ApiClient,
        key_id: &str,
    ) -> Result<ApiKeyRecord, ServiceError> {
        let Some(record) = self.store.key(key_id).await? else {
            return Err(ServiceError::KeyNotFound(key_id.to_owned()));
        };
        if let Some(cache) = &self.cache {
            cache.forget(key_id);
        }
        match self.store.revoke_key(key_id, unix_now()).await? {
            Revocation::Revoked => {}
            Revocation::AlreadyRevoked => {
                self.audit_key(actor, "key_revoke", &record, "already_revoked")
                    .await;
                return Err(ServiceError::KeyAlreadyRevoked(key_id.to_owned()));
            }
            Revocation::LastAdmin => {
                self.audit_key(actor, "key_revoke", &record, "last_admin_key")
                    .await;
                return Err(ServiceError::LastAdminKey(key_id.to_owned()));
            }
        }
        if let Some(cache) = &self.cache {
            // Again: a request may have cached the record between the first forget and the update.
            cache.forget(key_id);
        }
        self.audit_key(actor, "key_revoke", &record, "ok").await;
        self.store
            .key(key_id)
            .await?
            .ok_or_else(|| ServiceError::KeyNotFound(key_id.to_owned()))
    }

    /// On a store without keys, makes the bootstrap admin key (scope `admin`, tenant
    /// `default`, no expiry) and returns it; `None` when any key exists or one was ever made.
    /// Safe for replicas starting together: exactly one of them gets `Some`.
    pub async fn ensure_bootstrap_key(&self) -> Result<Option<CreatedKey>, ServiceError> {
        if !self.store.keys(None).await?.is_empty() {
            return Ok(None);
        }
        let created = issue(
            NewKey {
                name: "bootstrap-admin".into(),
                tenant: crate::auth::DEFAULT_TENANT.into(),
                scopes: vec![Scope::Admin],
                expires_at: None,
                policy: SpendingPolicy::UNLIMITED,
            },
            unix_now(),
        );
        if !self.store.insert_bootstrap_key(&created.record).await? {
            return Ok(None);
        }
        let actor = ApiClient {
            key_id: "bootstrap".into(),
            ..ApiClient::cli()
        };
        self.audit_key(&actor, "key_create", &created.record, "ok")
            .await;
        Ok(Some(created))
    }

    async fn audit_key(
        &self,
        actor: &ApiClient,
        action: &str,
        subject: &ApiKeyRecord,
        outcome: &str,
    ) {
        record_audit(
            &self.store,
            AuditEntry {
                at: unix_now(),
                key_id: actor.key_id.clone(),
                tenant: subject.tenant.clone(),
                action: action.to_owned(),
                invreq_id: None,
                amount_msat: None,
                subject_key: Some(subject.key_id.clone()),
                outcome: outcome.to_owned(),
            },
        )
        .await;
    }
}
