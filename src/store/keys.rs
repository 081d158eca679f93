//! API keys, the sums of the spending limits taken atomically with the insert (the rule is
//! [`crate::domain::spending`]), the bootstrap claim and the audit trail.
//!
//! The store never sees a key: only its SHA256 (see `crate::auth::token`).

use super::{
    Backend, BeginWrite, Columns, InvoiceRequestRecord, NewEvent, Status, Store, StoreError,
    insert_query, on_pools,
};
use crate::domain::lifecycle::sql_status_in;

/// An idempotency key held by one attempt, to bind to the record it inserts.
#[derive(Debug, Clone, Copy)]
pub struct IdempotencyBinding<'a> {
    /// The client's `Idempotency-Key` (within the record's tenant).
    pub key: &'a str,
    /// The attempt that holds its lease.
    pub owner: &'a str,
}

pub use crate::domain::spending::{DAY_SECS, Limit, LimitExceeded, Spending, SpendingPolicy};

/// An API key as stored: only the SHA256 of its secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKeyRecord {
    /// Public id (hex), the part of the key that names it.
    pub key_id: String,
    /// Lowercase hex SHA256 of the 32 secret bytes.
    pub secret_sha256: String,
    /// A human name.
    pub name: String,
    /// Whose invoice requests it sees.
    pub tenant: String,
    /// Scope names (`invoicerequests:read`, …).
    pub scopes: Vec<String>,
    /// Seconds since 1970 from which it no longer works.
    pub expires_at: Option<u64>,
    /// Whether it was revoked.
    pub revoked: bool,
    /// Its spending ceilings.
    pub policy: SpendingPolicy,
    /// Seconds since 1970.
    pub created_at: u64,
    /// Seconds since 1970, once revoked.
    pub revoked_at: Option<u64>,
}

/// One line of the audit trail. Never holds an `lnr1…` string or a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// Seconds since 1970.
    pub at: u64,
    /// The key that acted (`cli` for the command line, `bootstrap` at first start).
    pub key_id: String,
    /// Its tenant.
    pub tenant: String,
    /// `create`, `disable`, `claim_rotate`, `claim_revoke`, `key_create` or `key_revoke`.
    pub action: String,
    /// The invoice request concerned, when known.
    pub invreq_id: Option<String>,
    /// The amount concerned, msat.
    pub amount_msat: Option<u64>,
    /// The key created or revoked, for key actions.
    pub subject_key: Option<String>,
    /// `ok`, or the problem code of the refusal (`limit_daily`, `not_found`, …).
    pub outcome: String,
}

/// What [`Store::revoke_key`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// The key was active and is now revoked.
    Revoked,
    /// The key was revoked before; nothing changed.
    AlreadyRevoked,
    /// The key is the last active admin key; nothing changed.
    LastAdmin,
}

const KEY_COLUMNS: &str = "key_id, secret_sha256, name, tenant, scopes, expires_at, revoked, \
     max_per_request_msat, max_daily_msat, max_outstanding_msat, created_at, revoked_at";

fn opt_u64(r: &impl Columns, column: &str) -> Result<Option<u64>, sqlx::Error> {
    Ok(r.opt_int(column)?.map(|v| v as u64))
}

fn key_record(r: &impl Columns) -> Result<ApiKeyRecord, StoreError> {
    let get = || -> Result<ApiKeyRecord, sqlx::Error> {
        let scopes = r.text("scopes")?;
        Ok(ApiKeyRecord {
            key_id: r.text("key_id")?,
            secret_sha256: r.text("secret_sha256")?,
            name: r.text("name")?,
            tenant: r.text("tenant")?,
            scopes: scopes.split_whitespace().map(str::to_owned).collect(),
            expires_at: opt_u64(r, "expires_at")?,
            revoked: r.flag("revoked")?,
            policy: SpendingPolicy {
                max_per_request_msat: opt_u64(r, "max_per_request_msat")?,
                max_daily_msat: opt_u64(r, "max_daily_msat")?,
                max_outstanding_msat: opt_u64(r, "max_outstanding_msat")?,
            },
            created_at: r.int("created_at")? as u64,
            revoked_at: opt_u64(r, "revoked_at")?,
        })
    };
    get().map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The insert of an audit line, as a query for either driver (the plain write and the
/// group commit's).
macro_rules! audit_query {
    ($e:expr) => {{
        let e: &$crate::store::AuditEntry = $e;
        $crate::store::keys::bind_audit!(
            sqlx::query(
                "INSERT INTO audit_log (at, key_id, tenant, action, invreq_id, amount_msat, subject_key, outcome) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            ),
            e
        )
    }};
}
pub(crate) use audit_query;

/// `bind_audit!(query, e)`: binds the 8 columns of an audit line, in `audit_query!`'s order,
/// to a query of either driver (one line, or one line of a multi-row insert).
macro_rules! bind_audit {
    ($query:expr, $e:expr) => {{
        let e: &$crate::store::AuditEntry = $e;
        $query
            .bind(e.at as i64)
            .bind(e.key_id.as_str())
            .bind(e.tenant.as_str())
            .bind(e.action.as_str())
            .bind(e.invreq_id.as_deref())
            .bind(e.amount_msat.map(|a| a as i64))
            .bind(e.subject_key.as_deref())
            .bind(e.outcome.as_str())
    }};
}
pub(crate) use bind_audit;

fn opt_i64(v: Option<u64>) -> Option<i64> {
    v.map(|v| v.min(i64::MAX as u64) as i64)
}

static INSERT_KEY_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "INSERT INTO api_keys ({KEY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    )
});

/// The insert of a key, as a query for either driver.
macro_rules! insert_key_query {
    ($k:expr) => {{
        let k: &ApiKeyRecord = $k;
        sqlx::query(INSERT_KEY_SQL.as_str())
            .bind(k.key_id.as_str())
            .bind(k.secret_sha256.as_str())
            .bind(k.name.as_str())
            .bind(k.tenant.as_str())
            .bind(k.scopes.join(" "))
            .bind(opt_i64(k.expires_at))
            .bind(k.revoked)
            .bind(opt_i64(k.policy.max_per_request_msat))
            .bind(opt_i64(k.policy.max_daily_msat))
            .bind(opt_i64(k.policy.max_outstanding_msat))
            .bind(k.created_at as i64)
            .bind(opt_i64(k.revoked_at))
    }};
}

/// The tenant's sums in one statement, each as a high part (whole units of [`SUM_UNIT_MSAT`])
/// and a low part (the msat below a unit), so that no SQL sum can overflow a BIGINT however
/// many maximal amounts a tenant holds (issue 12: five requests of 21 000 000 btc overflowed
/// a plain `SUM`); [`wide_sum`] joins them in 128 bits. `SUM` is cast because PostgreSQL sums
/// BIGINT to NUMERIC, which the Any driver cannot read.
static SPENDING_SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let promised = sql_status_in(&Status::PROMISED);
    let outstanding = sql_status_in(&Status::OUTSTANDING);
    format!(
        "SELECT \
     CAST(COALESCE(SUM(CASE WHEN {promised} AND created_at > $2 \
          THEN amount_msat / 1000000000 ELSE 0 END), 0) AS BIGINT) AS daily_hi, \
     CAST(COALESCE(SUM(CASE WHEN {promised} AND created_at > $2 \
          THEN amount_msat % 1000000000 ELSE 0 END), 0) AS BIGINT) AS daily_lo, \
     CAST(COALESCE(SUM(CASE WHEN {outstanding} \
          AND (absolute_expiry IS NULL OR absolute_expiry > $3) \
          THEN amount_msat / 1000000000 ELSE 0 END), 0) AS BIGINT) AS outstanding_hi, \
     CAST(COALESCE(SUM(CASE WHEN {outstanding} \
          AND (absolute_expiry IS NULL OR absolute_expiry > $3) \
          THEN amount_msat % 1000000000 ELSE 0 END), 0) AS BIGINT) AS outstanding_lo \
     FROM invoice_requests WHERE tenant = $1 \
     AND (created_at > $2 OR {outstanding})"
    )
});

/// The unit of the high part of an overflow-proof sum, msat. A BIGINT holds the high parts of
/// more than 4 · 10⁹ maximal amounts (2.1 · 10¹⁸ msat each) and the low parts of more than
/// 9 · 10⁹ rows.
pub(super) const SUM_UNIT_MSAT: u128 = 1_000_000_000;

/// `hi · SUM_UNIT_MSAT + lo`, computed in 128 bits, as u64 (saturating: a sum beyond
/// u64::MAX msat is beyond every ceiling anyway).
pub(super) fn wide_sum(hi: i64, lo: i64) -> u64 {
    let total = u128::from(hi.max(0) as u64) * SUM_UNIT_MSAT + u128::from(lo.max(0) as u64);
    u64::try_from(total).unwrap_or(u64::MAX)
}

fn spending_from(row: &impl Columns) -> Result<Spending, StoreError> {
    let get = |c: &str| row.int(c).map_err(StoreError::classify);
    Ok(Spending {
        daily_msat: wide_sum(get("daily_hi")?, get("daily_lo")?),
        outstanding_msat: wide_sum(get("outstanding_hi")?, get("outstanding_lo")?),
    })
}

impl Store {
    /// Stores a new key.
    pub async fn insert_key(&self, k: &ApiKeyRecord) -> Result<(), StoreError> {
        on_pools!(self, |read, write| insert_key_query!(k)
            .execute(write)
            .await
            .map(|_| ()))
        .map_err(StoreError::classify)?;
        Ok(())
    }

    /// Stores the bootstrap admin key unless one was ever made or any key exists; returns
    /// whether it was stored. Replicas starting together on one PostgreSQL make one: the
    /// `bootstrap` row (a single allowed id) is the claim, inserted in the same transaction.
    pub async fn insert_bootstrap_key(&self, k: &ApiKeyRecord) -> Result<bool, StoreError> {
        on_pools!(self, |read, write| {
            let mut tx = write.begin_write().await?;
            let claimed = sqlx::query(
                "INSERT INTO bootstrap (id, key_id, created_at) VALUES (1, $1, $2) ON CONFLICT (id) DO NOTHING",
            )
            .bind(k.key_id.as_str())
            .bind(k.created_at as i64)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::classify)?;
            if claimed.rows_affected() != 1 {
                return Ok(false);
            }
            let existing: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM api_keys")
                .fetch_one(&mut *tx)
                .await
                .map_err(StoreError::classify)?;
            if existing > 0 {
                // Keys were made (e.g. on the command line) before the first start: none is needed.
                return Ok(false);
            }
            insert_key_query!(k)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::classify)?;
            tx.commit().await.map_err(StoreError::classify)?;
            Ok(true)
        })
    }

    /// One key by id.
    pub async fn key(&self, key_id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!("SELECT {KEY_COLUMNS} FROM api_keys WHERE key_id = $1")
        });
        on_pools!(self, |read, write| {
            sqlx::query(SQL.as_str())
                .bind(key_id)
                .fetch_optional(read)
                .await
                .map_err(StoreError::classify)?
                .map(|r| key_record(&r))
                .transpose()
        })
    }

    /// Every key (of one tenant, when given), oldest first.
    pub async fn keys(&self, tenant: Option<&str>) -> Result<Vec<ApiKeyRecord>, StoreError> {
        let sql = match tenant {
            Some(_) => format!(
                "SELECT {KEY_COLUMNS} FROM api_keys WHERE tenant = $1 ORDER BY created_at, key_id"
            ),
            None => format!("SELECT {KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_id"),
        };
        on_pools!(self, |read, write| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            if let Some(t) = tenant {
                query = query.bind(t);
            }
            let rows = query.fetch_all(read).await.map_err(StoreError::classify)?;
            rows.iter().map(key_record).collect()
        })
    }

    /// Revokes a key unless it is the last active admin key (not revoked, not expired at `now`,
    /// scope `admin`): refusing keeps the service manageable over HTTP.
    ///
    /// One transaction: PostgreSQL first locks the rows of every active admin key
    /// (`SELECT … FOR UPDATE`), SQLite takes its writer lock (`BEGIN IMMEDIATE`), so two
    /// concurrent revocations of the last two admin keys cannot both pass the check.
    pub async fn revoke_key(&self, key_id: &str, now: u64) -> Result<Revocation, StoreError> {
        let lock = match self.backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let sql = format!(
            "SELECT key_id FROM api_keys WHERE revoked = $1 \
             AND (expires_at IS NULL OR expires_at > $2) \
             AND (' ' || scopes || ' ') LIKE '% admin %'{lock}"
        );
        on_pools!(self, |read, write| {
            let mut tx = write.begin_write().await?;
            let admins: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .bind(false)
                .bind(now as i64)
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::classify)?;
            if admins.len() == 1 && admins[0] == key_id {
                return Ok(Revocation::LastAdmin);
            }
            let done = sqlx::query(
                "UPDATE api_keys SET revoked = $1, revoked_at = $2 WHERE key_id = $3 AND revoked = $4",
            )
            .bind(true)
            .bind(now as i64)
            .bind(key_id)
            .bind(false)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::classify)?;
            tx.commit().await.map_err(StoreError::classify)?;
            Ok(if done.rows_affected() == 1 {
                Revocation::Revoked
            } else {
                Revocation::AlreadyRevoked
            })
        })
    }

    /// What a tenant has promised at `now`.
    pub async fn spending(&self, tenant: &str, now: u64) -> Result<Spending, StoreError> {
        on_pools!(self, |read, write| {
            let row = sqlx::query(SPENDING_SQL.as_str())
                .bind(tenant)
                .bind(now.saturating_sub(DAY_SECS) as i64)
                .bind(now as i64)
                .fetch_one(read)
                .await
                .map_err(StoreError::classify)?;
            spending_from(&row)
        })
    }

    /// Inserts a new invoice request if it fits its key's `policy` at `now`; with `binding`,
    /// binds that idempotency key to the request in the same transaction (and inserts nothing
    /// if its owner lost the key to a retry that took it over: [`StoreError::LeaseLost`]).
    ///
    /// The sums and the insert share one transaction that first takes the tenant's lock row
    /// (`tenant_locks`): PostgreSQL holds the row lock of the upsert until commit, so a tenant's
    /// limited creates run one after another; SQLite starts the transaction with
    /// `BEGIN IMMEDIATE`, its single writer lock. Concurrent creates therefore can never together
    /// pass a ceiling that only some of them fit.
    pub async fn insert_within_policy(
        &self,
        r: &InvoiceRequestRecord,
        policy: &SpendingPolicy,
        now: u64,
        binding: Option<&IdempotencyBinding<'_>>,
    ) -> Result<Result<(), LimitExceeded>, StoreError> {
        self.insert_within_policy_emitting(r, policy, now, binding, None)
            .await
    }

    /// [`Store::insert_within_policy`], inserting `event` in the same transaction.
    pub async fn insert_within_policy_emitting(
        &self,
        r: &InvoiceRequestRecord,
        policy: &SpendingPolicy,
        now: u64,
        binding: Option<&IdempotencyBinding<'_>>,
        event: Option<&NewEvent>,
    ) -> Result<Result<(), LimitExceeded>, StoreError> {
        if let Err(e) = policy.check_amount(r.amount_msat) {
            return Ok(Err(e));
        }
        let limited = policy.needs_sums();
        if !limited && binding.is_none() {
            return self.insert_emitting(r, event, now).await.map(Ok);
        }
        on_pools!(self, |read, write| {
            let mut tx = write.begin_write().await?;
            if limited {
                sqlx::query(
                    "INSERT INTO tenant_locks (tenant, version) VALUES ($1, 1) \
                     ON CONFLICT (tenant) DO UPDATE SET version = tenant_locks.version + 1",
                )
                .bind(r.tenant.as_str())
                .execute(&mut *tx)
                .await
                .map_err(StoreError::classify)?;
                let row = sqlx::query(SPENDING_SQL.as_str())
                    .bind(r.tenant.as_str())
                    .bind(now.saturating_sub(DAY_SECS) as i64)
                    .bind(now as i64)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(StoreError::classify)?;
                let spent = spending_from(&row)?;
                if let Err(e) = policy.admits(r.amount_msat, &spent) {
                    // Dropping the transaction rolls it back and frees the lock.
                    return Ok(Err(e));
                }
            }
            if let Some(b) = binding {
                let bound = sqlx::query(
                    "UPDATE idempotency_keys SET invreq_id = $1 \
                     WHERE tenant = $2 AND idem_key = $3 AND lease_owner = $4 AND response_status IS NULL",
                )
                .bind(r.invreq_id.as_str())
                .bind(r.tenant.as_str())
                .bind(b.key)
                .bind(b.owner)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::classify)?;
                if bound.rows_affected() != 1 {
                    return Err(StoreError::LeaseLost);
                }
            }
            insert_query!(r)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::classify)?;
            if let Some(event) = event {
                super::events::insert_event!(&mut tx, self.backend, event, now)?;
            }
            tx.commit().await.map_err(StoreError::classify)?;
            Ok(Ok(()))
        })
    }

    /// Appends a line to the audit trail.
    pub async fn append_audit(&self, e: &AuditEntry) -> Result<(), StoreError> {
        if let Some(inserter) = &self.inserter {
            return inserter.audit(e).await;
        }
        on_pools!(self, |read, write| audit_query!(e)
            .execute(write)
            .await
            .map(|_| ()))
        .map_err(StoreError::classify)?;
        Ok(())
    }

    /// The audit trail (of one tenant, when given), oldest first.
    pub async fn audit_log(&self, tenant: Option<&str>) -> Result<Vec<AuditEntry>, StoreError> {
        const COLUMNS: &str =
            "at, key_id, tenant, action, invreq_id, amount_msat, subject_key, outcome";
        let sql = match tenant {
            Some(_) => format!("SELECT {COLUMNS} FROM audit_log WHERE tenant = $1 ORDER BY seq"),
            None => format!("SELECT {COLUMNS} FROM audit_log ORDER BY seq"),
        };
        fn decode(r: &impl Columns) -> Result<AuditEntry, sqlx::Error> {
            Ok(AuditEntry {
                at: r.int("at")? as u64,
                key_id: r.text("key_id")?,
                tenant: r.text("tenant")?,
                action: r.text("action")?,
                invreq_id: r.opt_text("invreq_id")?,
                amount_msat: opt_u64(r, "amount_msat")?,
                subject_key: r.opt_text("subject_key")?,
                outcome: r.text("outcome")?,
            })
        }
        on_pools!(self, |read, write| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            if let Some(t) = tenant {
                query = query.bind(t);
            }
            let rows = query.fetch_all(read).await;
            rows.and_then(|rows| rows.iter().map(decode).collect())
        })
        .map_err(StoreError::classify)
    }
}
