//! Persistence: SQLite (embedded default) or PostgreSQL, through one portable SQL dialect.
//!
//! Native pools (`SqlitePool`, `PgPool`), with every statement written once: [`on_pools!`] expands
//! a query's code once per backend, so each is compiled against that driver's own types (no
//! `sqlx::Any` row conversion) and the behavioural suite still exercises the very same SQL on
//! both. The SQL is plain and portable (`$N` placeholders, integer times, hex text ids).

mod batch;
mod claims;
mod error;
mod events;
mod keys;
mod leader;
mod model;
mod node_built;
mod sqlite_config;
mod stats;
mod views;

use std::str::FromStr;
use std::time::Duration;

use sqlx::Row;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};

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
pub use views::RecordDetails;

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
    /// Group commit of plain creates and audit lines (see `batch.rs`), on both backends.
    pub group_commit: bool,
}

impl StoreOptions {
    /// Defaults for a URL.
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Duration::from_secs(10),
            group_commit: true,
        }
    }
}

/// SQLite readers: at most two per core (and never more than `max`). A SQLite read is CPU
/// work on this machine's cores, each on its connection's own worker thread; more threads than
/// that only add wake-ups and memory (measured on 2 cores: 4 readers served GET and list pages
/// faster than 16, with 2 MiB less peak RSS; docs/performance.md).
fn sqlite_readers(max: u32) -> u32 {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    u32::try_from(2 * cores)
        .unwrap_or(u32::MAX)
        .clamp(1, max.max(1))
}

/// The native pools of one backend.
#[derive(Clone)]
enum Pools {
    /// Reads use `read`; writes queue for `write`, a single connection (SQLite takes one writer
    /// at a time), except in memory, where both are the same pool.
    Sqlite { read: SqlitePool, write: SqlitePool },
    /// One pool for everything.
    Postgres(PgPool),
}

/// `on_pools!(self, |read, write| body)`: `body` once per backend, with `read` and `write`
/// bound to that backend's native pools (`&SqlitePool` or `&PgPool`; on PostgreSQL both are
/// the same pool). The code, and so the SQL, is written once and compiled twice.
macro_rules! on_pools {
    ($store:expr, |$read:ident, $write:ident| $body:expr) => {
        match &$store.pools {
            #[allow(unused_variables)]
            $crate::store::Pools::Sqlite {
                read: $read,
                write: $write,
            } => $body,
            #[allow(unused_variables)]
            $crate::store::Pools::Postgres(pool) => {
                let ($read, $write) = (pool, pool);
                $body
            }
        }
    };
}
pub(crate) use on_pools;

/// The insert of a new invoice request (shared by the plain and the limited insert and the
/// group commit), as a query for either driver; an optional literal is appended to the SQL
/// (`" ON CONFLICT DO NOTHING"`).
macro_rules! insert_query {
    ($r:expr) => {
        $crate::store::insert_query!($r, "")
    };
    ($r:expr, $suffix:literal) => {{
        let r: &InvoiceRequestRecord = $r;
        $crate::store::bind_record!(sqlx::query(concat!(
            "INSERT INTO invoice_requests (invreq_id, tenant, bolt12, amount_msat, description, issuer, \
             label, absolute_expiry, single_use, active, used, status, created_at, updated_at, submitted) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            $suffix
        )), r)
    }};
}
pub(crate) use insert_query;

/// `bind_record!(query, r)`: binds the 15 columns of a new invoice request, in the order of
/// `insert_query!`'s column list, to a query of either driver (one row, or one row of a
/// multi-row insert).
macro_rules! bind_record {
    ($query:expr, $r:expr) => {{
        let r: &InvoiceRequestRecord = $r;
        $query
            .bind(r.invreq_id.as_str())
            .bind(r.tenant.as_str())
            .bind(r.bolt12.as_str())
            .bind(r.amount_msat as i64)
            .bind(r.description.as_str())
            .bind(r.issuer.as_deref())
            .bind(r.label.as_deref())
            .bind(r.absolute_expiry.map(|e| e as i64))
            .bind(r.single_use)
            .bind(r.active)
            .bind(r.used)
            .bind(r.status.as_str())
            .bind(r.created_at as i64)
            .bind(r.updated_at as i64)
            .bind(r.submitted.as_deref())
    }};
}
pub(crate) use bind_record;

/// `apply_in!(tx, backend, invreq_id, mv, writes, now)`: the status change of a checked
/// lifecycle move inside the caller's write transaction (`&mut Transaction` of either driver):
/// `status`, `active` and `used` as the move says, `bolt12` when given, `updated_at = now`,
/// compare-and-set on the move's `from` statuses (and on `used` when
/// [`MoveWrites::used_before`] is given); then the move's event, if the row moved. Evaluates to
/// `Result<bool, StoreError>` (whether it moved). A macro so that it is written once and
/// compiled per driver, like [`on_pools!`].
macro_rules! apply_in {
    ($tx:expr, $backend:expr, $invreq_id:expr, $mv:expr, $writes:expr, $now:expr) => {
        async {
            let tx = $tx;
            let (invreq_id, mv, writes, now): (
                &str,
                &$crate::domain::lifecycle::Move,
                &$crate::store::MoveWrites<'_>,
                u64,
            ) = ($invreq_id, $mv, $writes, $now);
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
                $crate::domain::lifecycle::sql_status_in(mv.from())
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
                .map_err($crate::store::StoreError::classify)?;
            if done.rows_affected() != 1 {
                return Ok::<bool, $crate::store::StoreError>(false);
            }
            if let Some(event) = writes.event {
                $crate::store::events::insert_event!(tx, $backend, event, now)?;
            }
            Ok(true)
        }
        .await
    };
}
pub(crate) use apply_in;

/// A transaction that writes: SQLite takes its writer lock at once (`BEGIN IMMEDIATE`), so a
/// read inside it can never be made stale by another writer; PostgreSQL a plain `BEGIN`.
trait BeginWrite {
    /// The driver.
    type Db: sqlx::Database;
    /// Starts the transaction on a pooled connection.
    fn begin_write(
        &self,
    ) -> impl Future<Output = Result<sqlx::Transaction<'static, Self::Db>, StoreError>> + Send;
}

impl BeginWrite for SqlitePool {
    type Db = sqlx::Sqlite;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Sqlite>, StoreError> {
        self.begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(StoreError::classify)
    }
}

impl BeginWrite for PgPool {
    type Db = sqlx::Postgres;
    async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, StoreError> {
        self.begin().await.map_err(StoreError::classify)
    }
}

/// Typed column reads shared by both drivers' rows, so that row decoding is written once.
/// Integers are BIGINT on both (read as `i64`); booleans are BOOLEAN on PostgreSQL and 0/1
/// INTEGER on SQLite.
trait Columns {
    /// A BIGINT column.
    fn int(&self, column: &str) -> Result<i64, sqlx::Error>;
    /// A nullable BIGINT column.
    fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error>;
    /// A nullable INTEGER (32-bit) column.
    fn opt_int32(&self, column: &str) -> Result<Option<i32>, sqlx::Error>;
    /// A text column.
    fn text(&self, column: &str) -> Result<String, sqlx::Error>;
    /// A nullable text column.
    fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error>;
    /// A boolean column.
    fn flag(&self, column: &str) -> Result<bool, sqlx::Error>;
}

macro_rules! impl_columns {
    ($row:ty, |$r:ident, $c:ident| $flag:expr) => {
        impl Columns for $row {
            fn int(&self, column: &str) -> Result<i64, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_int(&self, column: &str) -> Result<Option<i64>, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_int32(&self, column: &str) -> Result<Option<i32>, sqlx::Error> {
                self.try_get(column)
            }
            fn text(&self, column: &str) -> Result<String, sqlx::Error> {
                self.try_get(column)
            }
            fn opt_text(&self, column: &str) -> Result<Option<String>, sqlx::Error> {
                self.try_get(column)
            }
            fn flag(&self, $c: &str) -> Result<bool, sqlx::Error> {
                let $r = self;
                $flag
            }
        }
    };
}
impl_columns!(SqliteRow, |r, c| Ok(r.try_get::<i64, _>(c)? != 0));
impl_columns!(PgRow, |r, c| r.try_get::<bool, _>(c));

/// The store: invoice requests, their payments, idempotency keys and cursors.
#[derive(Clone)]
pub struct Store {
    pools: Pools,
    backend: Backend,
    /// With group commit: plain inserts and audit lines go through it.
    inserter: Option<batch::Inserter>,
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
        let pools = if opts.url.starts_with("sqlite:") {
            if !sqlite_config::configure_sqlite() {
                tracing::debug!(
                    "SQLite was initialized before the store: memory statistics stay on"
                );
            }
            let connect = SqliteConnectOptions::from_str(&opts.url)?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Normal)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
                // A small page cache per connection: the OS page cache is shared by all
                // connections; each connection's own cache is not.
                .pragma("cache_size", "-64");
            let pool_options = |max: u32| {
                SqlitePoolOptions::new()
                    .max_connections(max)
                    .acquire_timeout(opts.acquire_timeout)
            };
            let read = pool_options(sqlite_readers(opts.max_connections))
                .connect_with(connect.clone())
                .await
                .map_err(StoreError::classify)?;
            // SQLite takes one writer at a time: writes queue for one dedicated connection
            // instead of contending for the file lock (busy-wait sleeps) and never hold a
            // reader's connection.
            let in_memory = opts.url.contains(":memory:") || opts.url.contains("mode=memory");
            let write = if in_memory {
                read.clone()
            } else {
                // The group commit's multi-row inserts differ by group size (1 to 64 rows):
                // room for all of them beside the other writes, so none is compiled again.
                pool_options(1)
                    .connect_with(connect.statement_cache_capacity(256))
                    .await
                    .map_err(StoreError::classify)?
            };
            Pools::Sqlite { read, write }
        } else if opts.url.starts_with("postgres:") || opts.url.starts_with("postgresql:") {
            let statement_timeout_ms = opts.statement_timeout.as_millis().to_string();
            let connect = PgConnectOptions::from_str(&opts.url)?
                .options([("statement_timeout", statement_timeout_ms.as_str())]);
            let pool = PgPoolOptions::new()
                .max_connections(opts.max_connections)
                .acquire_timeout(opts.acquire_timeout)
                .connect_with(connect)
                .await
                .map_err(StoreError::classify)?;
            Pools::Postgres(pool)
        } else {
            return Err(StoreError::Unavailable(format!(
                "unsupported database URL scheme in {:?} (use sqlite:// or postgres://)",
                redact(&opts.url)
            )));
        };
        let backend = match pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        };
        let inserter = opts
            .group_commit
            .then(|| batch::Inserter::spawn(pools.clone()));
        let store = Self {
            pools,
            backend,
            inserter,
        };
        store.migrate().await?;
        Ok(store)
    }

    /// Applies pending migrations (PostgreSQL: sqlx takes an advisory lock, so replicas
    /// starting together migrate once).
    async fn migrate(&self) -> Result<(), StoreError> {
        match &self.pools {
            Pools::Sqlite { write, .. } => SQLITE_MIGRATIONS.run(write).await?,
            Pools::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await?,
        }
        Ok(())
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The SQLite writer pool (`None` on PostgreSQL), for tools and tests that write raw SQL
    /// behind the store's back.
    pub fn sqlite_writer(&self) -> Option<&SqlitePool> {
        match &self.pools {
            Pools::Sqlite { write, .. } => Some(write),
            Pools::Postgres(_) => None,
        }
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        on_pools!(self, |read, write| sqlx::query("SELECT 1")
            .execute(read)
            .await
            .map(|_| ()))
        .map_err(StoreError::classify)?;
        Ok(())
    }

    /// Inserts a new invoice request.
    pub async fn insert(&self, r: &InvoiceRequestRecord) -> Result<(), StoreError> {
        self.insert_emitting(r, None, r.created_at).await
    }

    /// Inserts a new invoice request and, when given, its event (created at `now`) in the
    /// same transaction; with group commit, in the transaction of its group.
    pub async fn insert_emitting(
        &self,
        r: &InvoiceRequestRecord,
        event: Option<&NewEvent>,
        now: u64,
    ) -> Result<(), StoreError> {
        if let Some(inserter) = &self.inserter {
            return inserter.insert(r, event, now).await;
        }
        on_pools!(self, |read, write| {
            let Some(event) = event else {
                return insert_query!(r)
                    .execute(write)
                    .await
                    .map(|_| ())
                    .map_err(StoreError::classify);
            };
            let mut tx = write.begin_write().await?;
            insert_query!(r)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::classify)?;
            events::insert_event!(&mut tx, self.backend, event, now)?;
            tx.commit().await.map_err(StoreError::classify)
        })
    }

    /// One invoice request of a tenant.
    pub async fn get(
        &self,
        tenant: &str,
        invreq_id: &str,
    ) -> Result<Option<InvoiceRequestRecord>, StoreError> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "SELECT {RECORD_COLUMNS} FROM invoice_requests WHERE invreq_id = $1 AND tenant = $2"
            )
        });
        on_pools!(self, |read, write| {
            sqlx::query(SQL.as_str())
                .bind(invreq_id)
                .bind(tenant)
                .fetch_optional(read)
                .await
                .map_err(StoreError::classify)?
                .map(|r| record(&r))
                .transpose()
        })
    }

    /// One invoice request, whoever owns it (background jobs).
    pub async fn get_any(
        &self,
        invreq_id: &str,
    ) -> Result<Option<InvoiceRequestRecord>, StoreError> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!("SELECT {RECORD_COLUMNS} FROM invoice_requests WHERE invreq_id = $1")
        });
        on_pools!(self, |read, write| {
            sqlx::query(SQL.as_str())
                .bind(invreq_id)
                .fetch_optional(read)
                .await
                .map_err(StoreError::classify)?
                .map(|r| record(&r))
                .transpose()
        })
    }

    /// A page of a tenant's invoice requests, newest first; `now` decides what is expired.
    pub async fn list(
        &self,
        tenant: &str,
        q: &ListQuery,
        now: u64,
    ) -> Result<Vec<InvoiceRequestRecord>, StoreError> {
        let sql = format!(
            "SELECT {RECORD_COLUMNS} FROM invoice_requests {}",
            views::list_filter(q)
        );
        on_pools!(self, |read, write| {
            let rows = views::bind_list!(sqlx::query(sqlx::AssertSqlSafe(sql)), tenant, q, now)
                .fetch_all(read)
                .await
                .map_err(StoreError::classify)?;
            rows.iter().map(record).collect()
        })
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
        on_pools!(self, |read, write| {
            let mut tx = write.begin_write().await?;
            if !apply_in!(&mut tx, self.backend, invreq_id, mv, writes, now)? {
                tx.rollback().await.map_err(StoreError::classify)?;
                return Ok(false);
            }
            tx.commit().await.map_err(StoreError::classify)?;
            Ok(true)
        })
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
        on_pools!(self, |read, write| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(older_than as i64)
                .bind(i64::from(limit))
                .fetch_all(read)
                .await
                .map_err(StoreError::classify)?;
            rows.iter().map(record).collect()
        })
    }

    /// The earliest `absolute_expiry` among active requests, if any.
    pub async fn next_expiry(&self) -> Result<Option<u64>, StoreError> {
        let sql = format!(
            "SELECT MIN(absolute_expiry) FROM invoice_requests \
             WHERE absolute_expiry IS NOT NULL AND {}",
            sql_status_in(&Status::LIVE)
        );
        let v: Option<i64> = on_pools!(self, |read, write| {
            sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                .fetch_one(read)
                .await
        })
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
        on_pools!(self, |read, write| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(now as i64)
                .bind(i64::from(limit))
                .fetch_all(read)
                .await
                .map_err(StoreError::classify)?;
            rows.iter().map(record).collect()
        })
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
            let inserted = on_pools!(self, |read, write| {
                sqlx::query(
                    "INSERT INTO idempotency_keys (tenant, idem_key, request_hash, created_at, lease_owner, lease_until) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant, idem_key) DO NOTHING",
                )
                .bind(tenant)
                .bind(key)
                .bind(request_hash)
                .bind(now as i64)
                .bind(owner)
                .bind(lease_until as i64)
                .execute(write)
                .await
                .map(|d| d.rows_affected())
            })
            .map_err(StoreError::classify)?;
            if inserted == 1 {
                return Ok(IdempotencyClaim::Claimed);
            }
            let Some(rec) = self.idempotency(tenant, key).await? else {
                // Released between our insert and read: try again.
                continue;
            };
            if rec.response.is_some() || rec.request_hash != request_hash || rec.lease_until > now {
                return Ok(IdempotencyClaim::Existing(rec));
            }
            let taken = on_pools!(self, |read, write| {
                sqlx::query(
                    "UPDATE idempotency_keys SET lease_owner = $1, lease_until = $2 \
                     WHERE tenant = $3 AND idem_key = $4 AND response_status IS NULL AND lease_until <= $5",
                )
                .bind(owner)
                .bind(lease_until as i64)
                .bind(tenant)
                .bind(key)
                .bind(now as i64)
                .execute(write)
                .await
                .map(|d| d.rows_affected())
            })
            .map_err(StoreError::classify)?;
            if taken == 1 {
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
        fn decode(r: &impl Columns) -> Result<IdempotencyRecord, sqlx::Error> {
            let status = r.opt_int32("response_status")?;
            let body = r.opt_text("response_body")?;
            Ok(IdempotencyRecord {
                request_hash: r.text("request_hash")?,
                invreq_id: r.opt_text("invreq_id")?,
                response: status.zip(body).map(|(s, b)| (s as u16, b)),
                lease_until: r.int("lease_until")?.max(0) as u64,
            })
        }
        on_pools!(self, |read, write| {
            sqlx::query(
                "SELECT request_hash, invreq_id, response_status, response_body, lease_until FROM idempotency_keys \
                 WHERE tenant = $1 AND idem_key = $2",
            )
            .bind(tenant)
            .bind(key)
            .fetch_optional(read)
            .await
            .and_then(|row| row.map(|r| decode(&r)).transpose())
        })
        .map_err(StoreError::classify)
    }

    /// Runs one write statement with string and integer arguments; returns the rows it changed.
    async fn write_rows(&self, sql: &'static str, args: &[Arg<'_>]) -> Result<u64, StoreError> {
        on_pools!(self, |read, write| {
            let mut query = sqlx::query(sql);
            for a in args {
                query = match *a {
                    Arg::Text(t) => query.bind(t),
                    Arg::Int(i) => query.bind(i),
                };
            }
            query.execute(write).await.map(|d| d.rows_affected())
        })
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
        let done = self
            .write_rows(
                "UPDATE idempotency_keys SET lease_until = $1 \
                 WHERE tenant = $2 AND idem_key = $3 AND lease_owner = $4 AND response_status IS NULL",
                &[
                    Arg::Int(lease_until as i64),
                    Arg::Text(tenant),
                    Arg::Text(key),
                    Arg::Text(owner),
                ],
            )
            .await?;
        Ok(done == 1)
    }

    /// Ends `owner`'s lease at once, keeping what the key is bound to: the next retry takes
    /// over and settles the bound request (after an unknown outcome such as a node timeout).
    pub async fn end_idempotency_lease(
        &self,
        tenant: &str,
        key: &str,
        owner: &str,
    ) -> Result<(), StoreError> {
        self.write_rows(
            "UPDATE idempotency_keys SET lease_until = 0 \
             WHERE tenant = $1 AND idem_key = $2 AND lease_owner = $3 AND response_status IS NULL",
            &[Arg::Text(tenant), Arg::Text(key), Arg::Text(owner)],
        )
        .await?;
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
        let done = self
            .write_rows(
                "UPDATE idempotency_keys SET invreq_id = $1 \
                 WHERE tenant = $2 AND idem_key = $3 AND lease_owner = $4 AND response_status IS NULL",
                &[
                    Arg::Text(invreq_id),
                    Arg::Text(tenant),
                    Arg::Text(key),
                    Arg::Text(owner),
                ],
            )
            .await?;
        Ok(done == 1)
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
        on_pools!(self, |read, write| {
            sqlx::query(
                "UPDATE idempotency_keys SET invreq_id = $1, response_status = $2, response_body = $3, lease_until = 0 \
                 WHERE tenant = $4 AND idem_key = $5 AND response_status IS NULL",
            )
            .bind(invreq_id)
            .bind(i32::from(status))
            .bind(body)
            .bind(tenant)
            .bind(key)
            .execute(write)
            .await
            .map(|_| ())
        })
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
        self.write_rows(
            "DELETE FROM idempotency_keys WHERE tenant = $1 AND idem_key = $2 AND lease_owner = $3 \
             AND response_status IS NULL",
            &[Arg::Text(tenant), Arg::Text(key), Arg::Text(owner)],
        )
        .await?;
        Ok(())
    }

    /// Deletes a `pending` record whose create provably never reached the node (no connection,
    /// or refused before running): nothing of it exists anywhere, and its label is free.
    pub async fn delete_pending(&self, invreq_id: &str) -> Result<bool, StoreError> {
        static SQL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "DELETE FROM invoice_requests WHERE invreq_id = $1 AND {}",
                sql_status_in(&[Status::Pending])
            )
        });
        let done = on_pools!(self, |read, write| {
            sqlx::query(SQL.as_str())
                .bind(invreq_id)
                .execute(write)
                .await
                .map(|d| d.rows_affected())
        })
        .map_err(StoreError::classify)?;
        Ok(done == 1)
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
        on_pools!(self, |read, write| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(since as i64)
                .bind(i64::from(limit))
                .fetch_all(read)
                .await
                .map_err(StoreError::classify)?;
            rows.iter().map(record).collect()
        })
    }

    /// Records one part as the node reported it. A part never leaves `complete`, and an older
    /// report (lower `created_index` and `updated_index`) never replaces a newer one, whatever
    /// order the rows arrive in. A real part replaces the legacy row of its hash.
    pub async fn upsert_payment_part(&self, p: &PaymentPart, now: u64) -> Result<(), StoreError> {
        on_pools!(self, |read, write| {
            let mut tx = write.begin().await.map_err(StoreError::classify)?;
            if p.created_index > 0 {
                sqlx::query(
                    "DELETE FROM payment_parts WHERE payment_hash = $1 AND created_index = 0",
                )
                .bind(p.payment_hash.as_str())
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
            .bind(p.payment_hash.as_str())
            .bind(p.groupid as i64)
            .bind(p.partid as i64)
            .bind(p.invreq_id.as_str())
            .bind(p.status.as_str())
            .bind(p.amount_msat.map(|a| a as i64))
            .bind(p.amount_sent_msat as i64)
            .bind(p.preimage.as_deref())
            .bind(p.created_at as i64)
            .bind(p.completed_at.map(|c| c as i64))
            .bind(p.created_index as i64)
            .bind(p.updated_index as i64)
            .bind(now as i64)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::classify)?;
            tx.commit().await.map_err(StoreError::classify)
        })?;
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
        fn decode(r: &impl Columns) -> Result<PaymentPart, sqlx::Error> {
            let u = |c: &str| r.int(c).map(|v| v as u64);
            let opt = |c: &str| r.opt_int(c).map(|v| v.map(|v| v as u64));
            let status = r.text("status")?;
            Ok(PaymentPart {
                payment_hash: r.text("payment_hash")?,
                groupid: u("groupid")?,
                partid: u("partid")?,
                invreq_id: r.text("invreq_id")?,
                status: PaymentStatus::parse(&status).ok_or_else(|| {
                    sqlx::Error::Decode(format!("unknown payment status {status:?}").into())
                })?,
                amount_msat: opt("amount_msat")?,
                amount_sent_msat: u("amount_sent_msat")?,
                preimage: r.opt_text("preimage")?,
                created_at: u("created_at")?,
                completed_at: opt("completed_at")?,
                created_index: u("created_index")?,
                updated_index: u("updated_index")?,
            })
        }
        on_pools!(self, |read, write| {
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in invreq_ids {
                query = query.bind(id.as_str());
            }
            let rows = query.fetch_all(read).await;
            rows.and_then(|rows| rows.iter().map(decode).collect())
        })
        .map_err(StoreError::classify)
    }

    /// Closes every pooled connection (SQLite checkpoints its WAL as the last one closes).
    pub async fn close(&self) {
        match &self.pools {
            Pools::Sqlite { read, write } => {
                write.close().await;
                read.close().await;
            }
            Pools::Postgres(pool) => pool.close().await,
        }
    }

    /// A named counter (e.g. the payment watcher's indexes); 0 when unset.
    pub async fn counter(&self, name: &str) -> Result<u64, StoreError> {
        let v: Option<i64> = on_pools!(self, |read, write| {
            sqlx::query_scalar("SELECT value FROM kv WHERE name = $1")
                .bind(name)
                .fetch_optional(read)
                .await
        })
        .map_err(StoreError::classify)?;
        Ok(v.unwrap_or(0) as u64)
    }

    /// Sets a named counter.
    pub async fn set_counter(&self, name: &str, value: u64) -> Result<(), StoreError> {
        self.write_rows(
            "INSERT INTO kv (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            &[Arg::Text(name), Arg::Int(value as i64)],
        )
        .await?;
        Ok(())
    }
}

/// An argument of [`Store::write_rows`].
#[derive(Debug, Clone, Copy)]
enum Arg<'a> {
    Text(&'a str),
    Int(i64),
}

fn record(r: &impl Columns) -> Result<InvoiceRequestRecord, StoreError> {
    let get = || -> Result<InvoiceRequestRecord, sqlx::Error> {
        let status = r.text("status")?;
        Ok(InvoiceRequestRecord {
            seq: r.int("seq")?,
            invreq_id: r.text("invreq_id")?,
            tenant: r.text("tenant")?,
            bolt12: r.text("bolt12")?,
            amount_msat: r.int("amount_msat")? as u64,
            description: r.text("description")?,
            issuer: r.opt_text("issuer")?,
            label: r.opt_text("label")?,
            absolute_expiry: r.opt_int("absolute_expiry")?.map(|e| e as u64),
            single_use: r.flag("single_use")?,
            active: r.flag("active")?,
            used: r.flag("used")?,
            status: Status::parse(&status)
                .ok_or_else(|| sqlx::Error::Decode(format!("unknown status {status:?}").into()))?,
            created_at: r.int("created_at")? as u64,
            updated_at: r.int("updated_at")? as u64,
            submitted: r.opt_text("submitted")?,
        })
    };
    get().map_err(|e| StoreError::Corrupt(e.to_string()))
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
