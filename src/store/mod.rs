//! Persistence: SQLite (embedded default) or PostgreSQL, through one portable SQL dialect.
//!
//! One `Store` over `sqlx::Any` rather than two backends: every statement here is plain SQL that
//! both databases run unchanged (`$N` placeholders, integer times, hex text ids), so the queries
//! exist once and the behavioural suite exercises the very same code on both.

mod claims;
mod error;
mod events;
mod keys;
mod leader;
mod model;
mod node_built;
mod stats;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Row};

pub use claims::ClaimTokenRecord;
pub use error::StoreError;
pub use events::{
    AttemptRecord, ClaimedDelivery, DeliveryNext, EndpointRecord, EventRecord, NewEvent, QueueStats,
};
pub use keys::{
    ApiKeyRecord, AuditEntry, DAY_SECS, IdempotencyBinding, Limit, LimitExceeded, Revocation,
    Spending, SpendingPolicy,
};
pub use leader::LeaderLock;
pub use model::{
    IdempotencyClaim, IdempotencyRecord, InvoiceRequestRecord, ListQuery, PaymentPart,
    PaymentStatus, Status,
};

use crate::domain::lifecycle::{Move, sql_active, sql_status_in};

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A SQLite file (or memory).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// How to connect.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// `sqlite://…` or `postgres://…`.
    pub url: String,
    /// Largest number of pooled connections.
    pub max_connections: u32,
    /// How long to wait for a connection.
    pub acquire_timeout: Duration,
    /// PostgreSQL `statement_timeout` (ignored on SQLite).
    pub statement_timeout: Duration,
}

impl StoreOptions {
    /// Defaults for a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
        }
    }
}

/// The store: invoice requests, their payments, idempotency keys and cursors.
#[derive(Clone)]
pub struct Store {
    /// Reads (and everything on PostgreSQL).
    pool: AnyPool,
    /// Writes: one connection on SQLite, the same pool as `pool` on PostgreSQL.
    writer: AnyPool,
    backend: Backend,
}

/// What a lifecycle move writes besides its status, in its own transaction
/// ([`Store::apply_with`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct MoveWrites<'a> {
    /// The node's signed `lnr1…` string (a pending request the node now holds).
    pub bolt12: Option<&'a str>,
    /// Compare-and-set on `used` as well: the move happens only while `used` still has this
    /// value (the state its event was computed from).
    pub used_before: Option<bool>,
    /// The event the move means (the outbox row and its deliveries), written only if it moved.
    pub event: Option<&'a NewEvent>,
}

const RECORD_COLUMNS: &str = "seq, invreq_id, tenant, bolt12, amount_msat, description, issuer, label, \
     absolute_expiry, single_use, active, used, status, created_at, updated_at, submitted";

impl Store {
    /// Connects and applies the migrations.
    pub async fn connect(opts: &StoreOptions) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if opts.url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if opts.url.starts_with("postgres:") || opts.url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Unavailable(format!(
                "unsupported database URL scheme in {:?} (use sqlite:// or postgres://)",
                redact(&opts.url)
            )));
        };
        let connect = AnyConnectOptions::from_str(&opts.url)?;
        let pool = pool_options(backend, opts, opts.max_connections)
            .connect_with(connect.clone())
            .await
            .map_err(StoreError::classify)?;
        // SQLite takes one writer at a time: writes queue for one dedicated connection instead of
        // contending for the file lock (busy-wait sleeps) and never hold a reader's connection.
        let in_memory = opts.url.contains(":memory:") || opts.url.contains("mode=memory");
        let writer = if backend == Backend::Sqlite && !in_memory {
            pool_options(backend, opts, 1)
                .connect_with(connect)
                .await
                .map_err(StoreError::classify)?
        } else {
            pool.clone()
        };
        let store = Self {
            pool,
            writer,
            backend,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations (PostgreSQL: sqlx takes an advisory lock, so replicas
    /// starting together migrate once).
    async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.writer).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for jobs that need a raw connection (advisory locks).
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }

    /// Inserts a new invoice request.
    pub async fn insert(&self, r: &InvoiceRequestRecord) -> Result<(), StoreError> {
        insert_query(r)
            .execute(&self.writer)
            .await
            .map_err(StoreError::classify)?;
        Ok(())
    }

    /// One invoice request of a tenant.
    pub async fn get(
        &self,
        tenant: &str,
        invreq_id: &str,
    ) -> Result<Option<InvoiceRequestRecord>, StoreError> {
        self.fetch_record(invreq_id, Some(tenant)).await
    }

    /// One invoice request, whoever owns it (background jobs).
    pub async fn get_any(
        &self,
        invreq_id: &str,
    ) -> Result<Option<InvoiceRequestRecord>, StoreError> {
        self.fetch_record(invreq_id, None).await
    }

    async fn fetch_record(
        &self,
        invreq_id: &str,
        tenant: Option<&str>,
    ) -> Result<Option<InvoiceRequestRecord>, StoreError> {
        let mut sql = format!("SELECT {RECORD_COLUMNS} FROM invoice_requests WHERE invreq_id = $1");
        if tenant.is_some() {
            sql.push_str(" AND tenant = $2");
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(invreq_id);
        if let Some(t) = tenant {
            query = query.bind(t);
        }
        let row = query
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        row.map(|r| record(&r)).transpose()
    }

    /// A page of a tenant's invoice requests, newest first; `now` decides what is expired.
    pub async fn list(
        &self,
        tenant: &str,
        q: &ListQuery,
        now: u64,
    ) -> Result<Vec<InvoiceRequestRecord>, StoreError> {
        let mut sql =
            format!("SELECT {RECORD_COLUMNS} FROM invoice_requests WHERE tenant = $1 AND seq < $2");
        let mut n = 2;
        if !q.include_failed {
            sql.push_str(&format!(" AND status <> '{}'", Status::Failed.as_str()));
        }
        if q.active_only {
            n += 1;
            sql.push_str(&format!(" AND {}", sql_active(n)));
        }
        if q.label.is_some() {
            n += 1;
            sql.push_str(&format!(" AND label = ${n}"));
        }
        sql.push_str(&format!(" ORDER BY seq DESC LIMIT ${}", n + 1));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(tenant)
            .bind(q.before_seq.unwrap_or(i64::MAX));
        if q.active_only {
            query = query.bind(now as i64);
        }
        if let Some(label) = &q.label {
            query = query.bind(label);
        }
        let rows = query
            .bind(i64::from(q.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        rows.iter().map(record).collect()
    }

    /// Applies a checked lifecycle move if the request is in one of its `from` statuses
    /// (compare-and-set); returns whether it moved. Nothing else is written: the service
    /// moves requests with [`Store::apply_with`], which writes the move's event with it.
    pub async fn apply(&self, invreq_id: &str, mv: &Move, now: u64) -> Result<bool, StoreError> {
        self.apply_with(invreq_id, mv, &MoveWrites::default(), now)
            .await
    }

    /// Marks a pending request `open` with the node's signed `lnr1…` string
    /// ([`Move::created`]); returns whether it moved.
    pub async fn activate(
        &self,
        invreq_id: &str,
        bolt12: &str,
        now: u64,
    ) -> Result<bool, StoreError> {
        let writes = MoveWrites {
            bolt12: Some(bolt12),
            ..MoveWrites::default()
        };
        self.apply_with(invreq_id, &Move::created(), &writes, now)
            .await
    }

    /// Applies a checked lifecycle move (compare-and-set on its `from` statuses, and on
    /// `used` when [`MoveWrites::used_before`] is given) together with what `writes` adds, in
    /// one write transaction: the event (outbox) is committed with the move or not at all, and
    /// only when the move happened. Returns whether it moved.
    pub async fn apply_with(
        &self,
        invreq_id: &str,
        mv: &Move,
        writes: &MoveWrites<'_>,
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.begin_write().await?;
        if !self.apply_in(&mut tx, invreq_id, mv, writes, now).await? {
            tx.rollback().await.map_err(StoreError::classify)?;
            return Ok(false);
        }
        tx.commit().await.map_err(StoreError::classify)?;
        Ok(true)
    }

    /// The status change itself, inside the caller's transaction: `status`, `active` and
    /// `used` as the move says, `bolt12` when given; `updated_at = now`; then the event, if the
    /// row moved.
    async fn apply_in(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        invreq_id: &str,
        mv: &Move,
        writes: &MoveWrites<'_>,
        now: u64,
    ) -> Result<bool, StoreError> {
        let mut sql = String::from(
            "UPDATE invoice_requests SET status = $1, active = $2, used = $3, updated_at = $4",
        );
        let mut n = 5;
        if writes.bolt12.is_some() {
            n += 1;
            sql.push_str(&format!(", bolt12 = ${n}"));
        }
        sql.push_str(&format!(
            " WHERE invreq_id = $5 AND {}",
            sql_status_in(mv.from())
        ));
        if writes.used_before.is_some() {
            n += 1;
            sql.push_str(&format!(" AND used = ${n}"));
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(mv.to().as_str())
            .bind(mv.active())
            .bind(mv.used())
            .bind(now as i64)
            .bind(invreq_id);
        if let Some(b) = writes.bolt12 {
            query = query.bind(b);
        }
        if let Some(u) = writes.used_before {
            query = query.bind(u);
        }
        let done = query
            .execute(&mut **tx)
            .await
            .map_err(StoreError::classify)?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        if let Some(event) = writes.event {
            events::insert_event(tx, self.backend, event, now).await?;
        }
        Ok(true)
    }

    /// Pending requests older than `older_than` (seconds since 1970), oldest first.
    pub async fn pending(
        &self,
        older_than: u64,
        limit: u32,
    ) -> Result<Vec<InvoiceRequestRecord>, StoreError> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM invoice_requests WHERE {} AND created_at <= $1 \
             ORDER BY seq LIMIT $2",
            sql_status_in(&[Status::Pending])
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(older_than as i64)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        rows.iter().map(record).collect()
    }

    /// The earliest `absolute_expiry` among active requests, if any.
    pub async fn next_expiry(&self) -> Result<Option<u64>, StoreError> {
        let sql = format!(
            "SELECT MIN(absolute_expiry) FROM invoice_requests \
             WHERE absolute_expiry IS NOT NULL AND {}",
            sql_status_in(&Status::LIVE)
        );
        let v: Option<i64> = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
            .fetch_one(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        Ok(v.map(|e| e as u64))
    }

    /// Active requests whose expiry is at or before `now`, earliest first.
    pub async fn expired_active(
        &self,
        now: u64,
        limit: u32,
    ) -> Result<Vec<InvoiceRequestRecord>, StoreError> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM invoice_requests WHERE absolute_expiry IS NOT NULL \
             AND absolute_expiry <= $1 AND {} ORDER BY absolute_expiry LIMIT $2",
            sql_status_in(&Status::LIVE)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(now as i64)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        rows.iter().map(record).collect()
    }

    /// Claims an idempotency key for a request body hash as `owner` until `lease_until`, or
    /// returns what it holds. A key without a response whose lease has passed (its attempt died,
    /// was cut off or gave up) is taken over: the caller becomes its owner.
    pub async fn claim_idempotency(
        &self,
        tenant: &str,
        key: &str,
        request_hash: &str,
        owner: &str,
        now: u64,
        lease_until: u64,
    ) -> Result<IdempotencyClaim, StoreError> {
        for _ in 0..3 {
            let inserted = sqlx::query(
                "INSERT INTO idempotency_keys (tenant, idem_key, request_hash, created_at, lease_owner, lease_until) \
                 VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant, idem_key) DO NOTHING",
            )
            .bind(tenant)
            .bind(key)
            .bind(request_hash)
            .bind(now as i64)
            .bind(owner)
            .bind(lease_until as i64)
            .execute(&self.writer)
            .await
            .map_err(StoreError::classify)?;
            if inserted.rows_affected() == 1 {
                return Ok(IdempotencyClaim::Claimed);
            }
            let Some(rec) = self.idempotency(tenant, key).await? else {
                // Released between our insert and read: try again.
                continue;
            };
            if rec.response.is_some() || rec.request_hash != request_hash || rec.lease_until > now {
                return Ok(IdempotencyClaim::Existing(rec));
            }
            let taken = sqlx::query(
                "UPDATE idempotency_keys SET lease_owner = $1, lease_until = $2 \
                 WHERE tenant = $3 AND idem_key = $4 AND response_status IS NULL AND lease_until <= $5",
            )
            .bind(owner)
            .bind(lease_until as i64)
            .bind(tenant)
            .bind(key)
            .bind(now as i64)
            .execute(&self.writer)
            .await
            .map_err(StoreError::classify)?;
            if taken.rows_affected() == 1 {
                // Read again: the previous owner may have bound an id since our read.
                let rec = self.idempotency(tenant, key).await?.unwrap_or(rec);
                return Ok(IdempotencyClaim::TakenOver(rec));
            }
            // Another retry took it over first: report what it holds now.
        }
        match self.idempotency(tenant, key).await? {
            Some(rec) => Ok(IdempotencyClaim::Existing(rec)),
            None => Err(StoreError::Unavailable(
                "idempotency key kept changing under us".into(),
            )),
        }
    }

    /// What an idempotency key holds.
    pub async fn idempotency(
        &self,
        tenant: &str,
        key: &str,
    ) -> Result<Option<IdempotencyRecord>, StoreError> {
        let row = sqlx::query(
            "SELECT request_hash, invreq_id, response_status, response_body, lease_until FROM idempotency_keys \
             WHERE tenant = $1 AND idem_key = $2",
        )
        .bind(tenant)
        .bind(key)
        .fetch_optional(&self.pool)
        .await
        .map_err(StoreError::classify)?;
        row.map(|r| {
            let status: Option<i32> = r.try_get("response_status")?;
            let body: Option<String> = r.try_get("response_body")?;
            Ok(IdempotencyRecord {
                request_hash: r.try_get("request_hash")?,
                invreq_id: r.try_get("invreq_id")?,
                response: status.zip(body).map(|(s, b)| (s as u16, b)),
                lease_until: r.try_get::<i64, _>("lease_until")?.max(0) as u64,
            })
        })
        .transpose()
        .map_err(StoreError::classify)
    }

    /// Extends `owner`'s lease on a key that holds no response yet; returns whether it still
    /// owns it.
    pub async fn renew_idempotency_lease(
        &self,
        tenant: &str,
        key: &str,
        owner: &str,
        lease_until: u64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE idempotency_keys SET lease_until = $1 \
             WHERE tenant = $2 AND idem_key = $3 AND lease_owner = $4 AND response_status IS NULL",
        )
        .bind(lease_until as i64)
        .bind(tenant)
        .bind(key)
        .bind(owner)
        .execute(&self.writer)
        .await
        .map_err(StoreError::classify)?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends `owner`'s lease at once, keeping what the key is bound to: the next retry takes
    /// over and settles the bound request (after an unknown outcome such as a node timeout).
    pub async fn end_idempotency_lease(
        &self,
        tenant: &str,
        key: &str,
        owner: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idempotency_keys SET lease_until = 0 \
             WHERE tenant = $1 AND idem_key = $2 AND lease_owner = $3 AND response_status IS NULL",
        )
        .bind(tenant)
        .bind(key)
        .bind(owner)
        .execute(&self.writer)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    /// Records which invoice request an idempotency key is creating (before anything about it
    /// leaves the process); returns whether `owner` still held the key.
    pub async fn bind_idempotency(
        &self,
        tenant: &str,
        key: &str,
        owner: &str,
        invreq_id: &str,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE idempotency_keys SET invreq_id = $1 \
             WHERE tenant = $2 AND idem_key = $3 AND lease_owner = $4 AND response_status IS NULL",
        )
        .bind(invreq_id)
        .bind(tenant)
        .bind(key)
        .bind(owner)
        .execute(&self.writer)
        .await
        .map_err(StoreError::classify)?;
        Ok(done.rows_affected() == 1)
    }

    /// Stores the first response, and the invoice request it created, under an idempotency key
    /// (a response stored before is kept).
    pub async fn complete_idempotency(
        &self,
        tenant: &str,
        key: &str,
        invreq_id: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idempotency_keys SET invreq_id = $1, response_status = $2, response_body = $3, lease_until = 0 \
             WHERE tenant = $4 AND idem_key = $5 AND response_status IS NULL",
        )
        .bind(invreq_id)
        .bind(i32::from(status))
        .bind(body)
        .bind(tenant)
        .bind(key)
        .execute(&self.writer)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    /// Frees an idempotency key held by `owner` whose request created nothing, so that a
    /// retry runs afresh.
    pub async fn release_idempotency(
        &self,
        tenant: &str,
        key: &str,
        owner: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "DELETE FROM idempotency_keys WHERE tenant = $1 AND idem_key = $2 AND lease_owner = $3 \
             AND response_status IS NULL",
        )
        .bind(tenant)
        .bind(key)
        .bind(owner)
        .execute(&self.writer)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }

    /// Deletes a `pending` record whose create provably never reached the node (no connection,
    /// or refused before running): nothing of it exists anywhere, and its label is free.
    pub async fn delete_pending(&self, invreq_id: &str) -> Result<bool, StoreError> {
        let sql = format!(
            "DELETE FROM invoice_requests WHERE invreq_id = $1 AND {}",
            sql_status_in(&[Status::Pending])
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(invreq_id)
            .execute(&self.writer)
            .await
            .map_err(StoreError::classify)?;
        Ok(done.rows_affected() == 1)
    }

    /// `failed` records changed at or after `since` (seconds since 1970), newest first: the
    /// ones to check once more against the node.
    pub async fn recently_failed(
        &self,
        since: u64,
        limit: u32,
    ) -> Result<Vec<InvoiceRequestRecord>, StoreError> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM invoice_requests WHERE {} AND updated_at >= $1 \
             ORDER BY seq DESC LIMIT $2",
            sql_status_in(&[Status::Failed])
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(since as i64)
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        rows.iter().map(record).collect()
    }

    /// Records one part as the node reported it. A part never leaves `complete`, and an older
    /// report (lower `created_index` and `updated_index`) never replaces a newer one, whatever
    /// order the rows arrive in. A real part replaces the legacy row of its hash.
    pub async fn upsert_payment_part(&self, p: &PaymentPart, now: u64) -> Result<(), StoreError> {
        let mut tx = self.writer.begin().await.map_err(StoreError::classify)?;
        if p.created_index > 0 {
            sqlx::query("DELETE FROM payment_parts WHERE payment_hash = $1 AND created_index = 0")
                .bind(&p.payment_hash)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::classify)?;
        }
        sqlx::query(
            "INSERT INTO payment_parts (payment_hash, groupid, partid, invreq_id, status, amount_msat, \
             amount_sent_msat, preimage, created_at, completed_at, created_index, updated_index, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (payment_hash, groupid, partid) DO UPDATE SET status = excluded.status, \
             amount_msat = excluded.amount_msat, amount_sent_msat = excluded.amount_sent_msat, \
             preimage = excluded.preimage, created_at = excluded.created_at, \
             completed_at = excluded.completed_at, created_index = excluded.created_index, \
             updated_index = excluded.updated_index, updated_at = excluded.updated_at \
             WHERE payment_parts.status <> 'complete' AND (excluded.created_index > payment_parts.created_index \
             OR (excluded.created_index = payment_parts.created_index \
                 AND excluded.updated_index >= payment_parts.updated_index))",
        )
        .bind(&p.payment_hash)
        .bind(p.groupid as i64)
        .bind(p.partid as i64)
        .bind(&p.invreq_id)
        .bind(p.status.as_str())
        .bind(p.amount_msat.map(|a| a as i64))
        .bind(p.amount_sent_msat as i64)
        .bind(&p.preimage)
        .bind(p.created_at as i64)
        .bind(p.completed_at.map(|c| c as i64))
        .bind(p.created_index as i64)
        .bind(p.updated_index as i64)
        .bind(now as i64)
        .execute(&mut *tx)
        .await
        .map_err(StoreError::classify)?;
        tx.commit().await.map_err(StoreError::classify)?;
        Ok(())
    }

    /// The payment parts of an invoice request, in the node's order (`created_index`).
    pub async fn payment_parts(&self, invreq_id: &str) -> Result<Vec<PaymentPart>, StoreError> {
        self.payment_parts_of(&[invreq_id.to_owned()]).await
    }

    /// The payment parts of several invoice requests (a page of a list), in the node's order.
    pub async fn payment_parts_of(
        &self,
        invreq_ids: &[String],
    ) -> Result<Vec<PaymentPart>, StoreError> {
        if invreq_ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=invreq_ids.len()).map(|i| format!("${i}")).collect();
        let sql = format!(
            "SELECT payment_hash, groupid, partid, invreq_id, status, amount_msat, amount_sent_msat, \
             preimage, created_at, completed_at, created_index, updated_index FROM payment_parts \
             WHERE invreq_id IN ({}) ORDER BY created_index, payment_hash, groupid, partid",
            placeholders.join(", ")
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for id in invreq_ids {
            query = query.bind(id);
        }
        let rows = query
            .fetch_all(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        let u = |r: &AnyRow, c: &str| r.try_get::<i64, _>(c).map(|v| v as u64);
        let opt = |r: &AnyRow, c: &str| r.try_get::<Option<i64>, _>(c).map(|v| v.map(|v| v as u64));
        rows.iter()
            .map(|r| {
                Ok(PaymentPart {
                    payment_hash: r.try_get("payment_hash")?,
                    groupid: u(r, "groupid")?,
                    partid: u(r, "partid")?,
                    invreq_id: r.try_get("invreq_id")?,
                    status: {
                        let s: String = r.try_get("status")?;
                        PaymentStatus::parse(&s).ok_or_else(|| {
                            sqlx::Error::Decode(format!("unknown payment status {s:?}").into())
                        })?
                    },
                    amount_msat: opt(r, "amount_msat")?,
                    amount_sent_msat: u(r, "amount_sent_msat")?,
                    preimage: r.try_get("preimage")?,
                    created_at: u(r, "created_at")?,
                    completed_at: opt(r, "completed_at")?,
                    created_index: u(r, "created_index")?,
                    updated_index: u(r, "updated_index")?,
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(StoreError::classify)
    }

    /// Closes every pooled connection (SQLite checkpoints its WAL as the last one closes).
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }

    /// A named counter (e.g. the payment watcher's indexes); 0 when unset.
    pub async fn counter(&self, name: &str) -> Result<u64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar("SELECT value FROM kv WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await
            .map_err(StoreError::classify)?;
        Ok(v.unwrap_or(0) as u64)
    }

    /// Sets a named counter.
    pub async fn set_counter(&self, name: &str, value: u64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO kv (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        )
        .bind(name)
        .bind(value as i64)
        .execute(&self.writer)
        .await
        .map_err(StoreError::classify)?;
        Ok(())
    }
}

/// The insert of a new invoice request (shared by the plain and the limited insert).
fn insert_query(
    r: &InvoiceRequestRecord,
) -> sqlx::query::Query<'static, sqlx::Any, sqlx::any::AnyArguments> {
    sqlx::query(
        "INSERT INTO invoice_requests (invreq_id, tenant, bolt12, amount_msat, description, issuer, \
         label, absolute_expiry, single_use, active, used, status, created_at, updated_at, submitted) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
    )
    .bind(r.invreq_id.clone())
    .bind(r.tenant.clone())
    .bind(r.bolt12.clone())
    .bind(r.amount_msat as i64)
    .bind(r.description.clone())
    .bind(r.issuer.clone())
    .bind(r.label.clone())
    .bind(r.absolute_expiry.map(|e| e as i64))
    .bind(r.single_use)
    .bind(r.active)
    .bind(r.used)
    .bind(r.status.as_str())
    .bind(r.created_at as i64)
    .bind(r.updated_at as i64)
    .bind(r.submitted.clone())
}

/// Pool settings; SQLite connections get WAL, `synchronous=NORMAL` and a small page cache (the
/// OS page cache is shared by all connections; each connection's own cache is not).
fn pool_options(backend: Backend, opts: &StoreOptions, max_connections: u32) -> AnyPoolOptions {
    let statement_timeout_ms = opts.statement_timeout.as_millis();
    AnyPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(opts.acquire_timeout)
        .after_connect(move |conn, _| {
            Box::pin(async move {
                use sqlx::Executor;
                match backend {
                    Backend::Sqlite => {
                        conn.execute(
                            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; \
                             PRAGMA busy_timeout=5000; PRAGMA foreign_keys=ON; \
                             PRAGMA cache_size=-64;",
                        )
                        .await?;
                    }
                    Backend::Postgres => {
                        let sql = format!("SET statement_timeout = {statement_timeout_ms}");
                        conn.execute(sqlx::AssertSqlSafe(sql)).await?;
                    }
                }
                Ok(())
            })
        })
}

fn record(r: &AnyRow) -> Result<InvoiceRequestRecord, StoreError> {
    let get = || -> Result<InvoiceRequestRecord, sqlx::Error> {
        let status: String = r.try_get("status")?;
        Ok(InvoiceRequestRecord {
            seq: r.try_get("seq")?,
            invreq_id: r.try_get("invreq_id")?,
            tenant: r.try_get("tenant")?,
            bolt12: r.try_get("bolt12")?,
            amount_msat: r.try_get::<i64, _>("amount_msat")? as u64,
            description: r.try_get("description")?,
            issuer: r.try_get("issuer")?,
            label: r.try_get("label")?,
            absolute_expiry: r
                .try_get::<Option<i64>, _>("absolute_expiry")?
                .map(|e| e as u64),
            single_use: get_bool(r, "single_use")?,
            active: get_bool(r, "active")?,
            used: get_bool(r, "used")?,
            status: Status::parse(&status)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown status {status:?}").into()))?,
            created_at: r.try_get::<i64, _>("created_at")? as u64,
            updated_at: r.try_get::<i64, _>("updated_at")? as u64,
            submitted: r.try_get("submitted")?,
        })
    };
    get().map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A boolean column: BOOLEAN on PostgreSQL, a 0/1 integer on SQLite.
fn get_bool(r: &AnyRow, column: &str) -> Result<bool, sqlx::Error> {
    r.try_get::<bool, _>(column)
        .or_else(|_| r.try_get::<i64, _>(column).map(|v| v != 0))
}

/// A database URL with its password hidden, for messages and logs.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}://{user}:***@{}", &url[..s], &url[at + 1..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}
