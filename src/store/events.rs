//! Events (the outbox), webhook endpoints and the webhook delivery queue.
//!
//! An event is inserted by the very transaction that makes the change it reports
//! ([`Store::apply_with`] and the inserts take an `Option<&NewEvent>`), and fans out in
//! that transaction into one `webhook_deliveries` row per subscribed endpoint: a change is never
//! committed without its event, nor an event without its deliveries.
//!
//! Order: on PostgreSQL the insert first takes a transaction-scoped advisory lock of the
//! tenant, so a tenant's events get their `seq` in commit order (a reader paging with
//! `after=` never skips one committed late); SQLite has one writer at a time anyway.

use sqlx::Row;

use super::{BeginWrite, Columns, Store, StoreError, on_pools};

/// Advisory lock class (first key of the two-key form) of a tenant's event inserts.
pub(super) const EVENT_LOCK_CLASS: i32 = 0x1408;

/// An event to insert with a change.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The tenant it belongs to.
    pub tenant: String,
    /// `invoicerequest.created`, `invoicerequest.paid`, …
    pub kind: String,
    /// The invoice request's id (or the endpoint's, for endpoint events): deliveries of one
    /// subject keep their order.
    pub subject: String,
    /// The JSON payload (`data`).
    pub data: String,
    /// Deliver only to this endpoint (a test event).
    pub only_endpoint: Option<String>,
    /// Deliver to every subscribed endpoint but this one.
    pub except_endpoint: Option<String>,
}

impl NewEvent {
    /// An event for every subscribed endpoint of `tenant`.
    pub fn new(tenant: &str, kind: &str, subject: &str, data: String) -> Self {
        Self {
            tenant: tenant.to_owned(),
            kind: kind.to_owned(),
            subject: subject.to_owned(),
            data,
            only_endpoint: None,
            except_endpoint: None,
        }
    }
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    /// Insertion order (the public id is derived from it).
    pub seq: i64,
    /// Its tenant.
    pub tenant: String,
    /// Its type.
    pub kind: String,
    /// What it is about.
    pub subject: String,
    /// Seconds since 1970.
    pub created_at: u64,
    /// The JSON payload.
    pub data: String,
}

/// A webhook endpoint as stored (the secret included: handle with care).
#[derive(Clone, PartialEq, Eq)]
pub struct EndpointRecord {
    /// `wh_…`.
    pub id: String,
    /// Its tenant.
    pub tenant: String,
    /// Where deliveries go.
    pub url: String,
    /// Subscribed types; empty: every type.
    pub event_types: Vec<String>,
    /// Whether new events are queued for it.
    pub enabled: bool,
    /// `whsec_…`.
    pub secret: String,
    /// Whether a delivery to it ran out of attempts since its last success.
    pub failing: bool,
    /// Seconds since 1970.
    pub created_at: u64,
}

impl std::fmt::Debug for EndpointRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EndpointRecord")
            .field("id", &self.id)
            .field("tenant", &self.tenant)
            .field("url", &self.url)
            .field("event_types", &self.event_types)
            .field("enabled", &self.enabled)
            .field("secret", &"whsec_***")
            .field("failing", &self.failing)
            .finish()
    }
}

/// A delivery a deliverer has claimed (holds the lease of), with what it needs to send it.
#[derive(Clone)]
pub struct ClaimedDelivery {
    /// The queue row.
    pub seq: i64,
    /// Which attempt this is (1 for the first).
    pub attempt: u32,
    /// The event.
    pub event: EventRecord,
    /// The endpoint.
    pub endpoint: EndpointRecord,
}

/// How one attempt ended.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// The endpoint.
    pub endpoint_id: String,
    /// The event's seq.
    pub event_seq: i64,
    /// 1 for the first.
    pub attempt: u32,
    /// When it started, ms since 1970.
    pub started_ms: u64,
    /// How long it took, ms.
    pub latency_ms: u64,
    /// The receiver's HTTP status, if it answered.
    pub status_code: Option<u16>,
    /// `delivered`, `http_error`, `timeout`, `refused` or `connect_error`.
    pub outcome: String,
    /// What went wrong, for the operator (never a secret).
    pub error: Option<String>,
}

/// What to do with a delivery after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryNext {
    /// Delivered: done.
    Delivered,
    /// Try again at this instant (ms since 1970).
    RetryAt(u64),
    /// Out of attempts: failed, and the endpoint is failing.
    GiveUp,
}

/// The delivery queue's size and age.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueStats {
    /// Deliveries not yet delivered nor given up.
    pub pending: u64,
    /// When the oldest of them was queued, ms since 1970.
    pub oldest_ms: Option<u64>,
}

const EVENT_COLUMNS: &str = "seq, tenant, type, subject, created_at, data";
const ENDPOINT_COLUMNS: &str = "id, tenant, url, event_types, enabled, secret, failing, created_at";

/// `insert_event!(tx, backend, event, now)`: inserts an event and its deliveries inside `tx`
/// (a write transaction of either driver, `&mut Transaction`); evaluates to
/// `Result<i64, StoreError>` (its seq). On PostgreSQL it first takes the tenant's event lock,
/// unless a fifth argument says `tx` already holds it (`false`: the group commit takes it once
/// per tenant). A macro so that it is written once and compiled per driver, like `on_pools!`.
macro_rules! insert_event {
    ($tx:expr, $backend:expr, $e:expr, $now:expr) => {
        $crate::store::events::insert_event!($tx, $backend, $e, $now, true)
    };
    ($tx:expr, $backend:expr, $e:expr, $now:expr, $lock:expr) => {
        async {
            use $crate::store::StoreError;
            let tx = $tx;
            let (e, now, lock): (&$crate::store::NewEvent, u64, bool) = ($e, $now, $lock);
            if lock && $backend == $crate::store::Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1, hashtext($2))")
                    .bind($crate::store::events::EVENT_LOCK_CLASS)
                    .bind(e.tenant.as_str())
                    .execute(&mut **tx)
                    .await
                    .map_err(StoreError::classify)?;
            }
            let seq: i64 = sqlx::query_scalar(
                "INSERT INTO events (tenant, type, subject, created_at, data) \
                 VALUES ($1, $2, $3, $4, $5) RETURNING seq",
            )
            .bind(e.tenant.as_str())
            .bind(e.kind.as_str())
            .bind(e.subject.as_str())
            .bind(now as i64)
            .bind(e.data.as_str())
            .fetch_one(&mut **tx)
            .await
            .map_err(StoreError::classify)?;
            let (sql, pattern) = $crate::store::events::deliveries_sql(e);
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(seq)
                .bind(e.subject.as_str())
                .bind($crate::store::events::now_ms_i64())
                .bind(e.tenant.as_str())
                .bind(true)
                .bind(pattern);
            if let Some(id) = e.only_endpoint.as_ref().or(e.except_endpoint.as_ref()) {
                q = q.bind(id.as_str());
            }
            q.execute(&mut **tx).await.map_err(StoreError::classify)?;
            Ok::<i64, StoreError>(seq)
        }
        .await
    };
}
pub(crate) use insert_event;

/// The fan-out of an event into `webhook_deliveries` (binds: seq, subject, now in ms, tenant,
/// `true`, the escaped type, then the endpoint id when the event names one) and the escaped type.
///
/// The `LIKE` pattern is built in SQL (`'%,' || $6 || ',%'`), not bound whole: SQLite marks a
/// statement whose `LIKE` pattern is a bare parameter as expired at every new binding (its
/// LIKE optimization depends on the value) and compiles it again — once per event, measured at
/// 6 % of a create's CPU (docs/performance.md).
pub(super) fn deliveries_sql(e: &NewEvent) -> (String, String) {
    let mut sql = String::from(
        "INSERT INTO webhook_deliveries (endpoint_id, event_seq, subject, state, attempts, \
         next_attempt_ms, lease_until_ms, created_ms) \
         SELECT id, $1, $2, 'pending', 0, $3, 0, $3 FROM webhook_endpoints \
         WHERE tenant = $4 AND enabled = $5 \
         AND (event_types = '*' OR event_types LIKE '%,' || $6 || ',%' ESCAPE '\\')",
    );
    if e.only_endpoint.is_some() {
        sql.push_str(" AND id = $7");
    } else if e.except_endpoint.is_some() {
        sql.push_str(" AND id <> $7");
    }
    (sql, like_escape(&e.kind))
}

fn like_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_")
}

pub(super) fn now_ms_i64() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn event(r: &impl Columns) -> Result<EventRecord, sqlx::Error> {
    Ok(EventRecord {
        seq: r.int("seq")?,
        tenant: r.text("tenant")?,
        kind: r.text("type")?,
        subject: r.text("subject")?,
        created_at: r.int("created_at")? as u64,
        data: r.text("data")?,
    })
}

/// `event_types` as stored (`*` or `,a,b,`) to the list (empty: every type).
fn event_types(stored: &str) -> Vec<String> {
    stored
        .split(',')
        .filter(|t| !t.is_empty() && *t != "*")
        .map(str::to_owned)
        .collect()
}

/// An endpoint row; `prefix` names its columns when they are aliased in a join
/// (`w_tenant`, `w_created_at`).
fn endpoint(r: &impl Columns, prefix: &str) -> Result<EndpointRecord, sqlx::Error> {
    Ok(EndpointRecord {
        id: r.text("id")?,
        tenant: r.text(&format!("{prefix}tenant"))?,
        url: r.text("url")?,
        event_types: event_types(&r.text("event_types")?),
        enabled: r.flag("enabled")?,
        secret: r.text("secret")?,
        failing: r.flag("failing")?,
        created_at: r.int(&format!("{prefix}created_at"))? as u64,
    })
}

impl Store {
    /// Inserts an event on its own (no other change goes with it: test and endpoint events).
    pub async fn insert_event(&self, e: &NewEvent, now: u64) -> Result<i64, StoreError> {
        on_pools!(self, |read, write| {
            let mut tx = write.begin_write().await?;
            let seq = insert_event!(&mut tx, self.backend, e, now)?;
            tx.commit().await.map_err(StoreError::classify)?;
            Ok(seq)
        })
    }

    /// A tenant's events after `after_seq`, oldest first, optionally of one type.
    pub async fn events(
        &self,
        tenant: &str,
        after_seq: i64,
        kind: Option<&str>,
        limit: u32,
    ) -> Result<Vec<EventRecord>, StoreError> {
        let mut sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE tenant = $1 AND seq > $2");
        if kind.is_some() {
            sql.push_str(" AND type = $4");
        }
        sql.push_str(" ORDER BY seq LIMIT $3");
        on_pools!(self, |read, write| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(tenant)
                .bind(after_seq)
                .bind(i64::from(limit));
            if let Some(k) = kind {
                q = q.bind(k);
            }
            let rows = q.fetch_all(read).await.map_err(StoreError::classify)?;
            rows.iter()
                .map(event)
                .collect::<Result<_, _>>()
                .map_err(StoreError::classify)
        })
    }

    /// One event of a tenant.
    pub async fn event(&self, tenant: &str, seq: i64) -> Result<Option<EventRecord>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE tenant = $1 AND seq = $2");
        on_pools!(self, |read, write| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(tenant)
                .bind(seq)
                .fetch_optional(read)
                .await
                .map_err(StoreError::classify)?;
            row.as_ref()
                .map(event)
                .transpose()
                .map_err(StoreError::classify)
        })
    }

    /// Deletes events created before `before` (seconds since 1970) whose deliveries are all
    /// settled, with those deliveries and the attempts started before it; returns how many
    /// events went.
    pub async fn prune_events(&self, before: u64) -> Result<u64, StoreError> {
        on_pools!(self, |read, write| {
            let mut tx = write.begin_write().await?;
            sqlx::query(
                "DELETE FROM webhook_deliveries WHERE state <> 'pending' AND event_seq IN \
                 (SELECT seq FROM events WHERE created_at < $1)",
            )
            .bind(before as i64)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::classify)?;
            let gone = sqlx::query(
                "DELETE FROM events WHERE created_at < $1 AND NOT EXISTS \
                 (SELECT 1 FROM webhook_deliveries d WHERE d.event_seq = events.seq)",
            )
            .bind(before as i64)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::classify)?;
            sqlx::query("DELETE FROM webhook_attempts WHERE started_ms < $1")
                .bind((before as i64).saturating_mul(1000))
                .execute(&mut *tx)
                .await
                .map_err(StoreError::classify)?;
            tx.commit().await.map_err(StoreError::classify)?;
            Ok(gone.rows_affected())
        })
    }

    /// Registers an endpoint.
    pub async fn insert_endpoint(&self, e: &EndpointRecord) -> Result<(), StoreError> {
        let types = if e.event_types.is_empty() {
            "*".to_owned()
        } else {
            format!(",{},", e.event_types.join(","))
        };
        on_pools!(self, |read, write| {
            sqlx::query(
                "INSERT INTO webhook_endpoints (id, tenant, url, event_types, enabled, secret, failing, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(e.id.as_str())
            .bind(e.tenant.as_str())
            .bind(e.url.as_str())
            .bind(types.as_str())
            .bind(e.enabled)
            .bind(e.secret.as_str())
            .bind(e.failing)
            .bind(e.created_at as i64)
            .execute(write)
            .await
            .map_err(StoreError::classify)?;
            Ok(())
        })
    }

    /// A tenant's endpoints, oldest first.
    pub async fn endpoints(&self, tenant: &str) -> Result<Vec<EndpointRecord>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant = $1 ORDER BY created_at, id"
        );
        on_pools!(self, |read, write| {
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(tenant)
                .fetch_all(read)
                .await
                .map_err(StoreError::classify)?;
            rows.iter()
                .map(|r| endpoint(r, ""))
                .collect::<Result<_, _>>()
                .map_err(StoreError::classify)
        })
    }

    /// One endpoint of a tenant.
    pub async fn endpoint(
        &self,
        tenant: &str,
        id: &str,
    ) -> Result<Option<EndpointRecord>, StoreError> {
        let sql = format!(
            "SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant = $1 AND id = $2"
        );
        on_pools!(self, |read, write| {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(tenant)
                .bind(id)
                .fetch_optional(read)
                .await
                .map_err(StoreError::classify)?;
            row.as_ref()
                .map(|r| endpoint(r, ""))
                .transpose()
                .map_err(StoreError::classify)
        })
    }

    /// Deletes an endpoint with its queue and attempts; returns whether it existed.
    pub async fn delete_endpoint(&self, tenant: &str, id: &str) -> Result<bool, StoreError> {
        on_pools!(self, |read, write| {
            let mut tx = write.begin_write().await?;
            let gone = sqlx::query("DELETE FROM webhook_endpoints WHERE tenant = $1 AND id = $2")
                .bind(tenant)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::classify)?;
            if gone.rows_affected() == 1 {
                for table in ["webhook_deliveries", "webhook_attempts"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "DELETE FROM {table} WHERE endpoint_id = $1"
                    )))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(StoreError::classify)?;
                }
            }
            tx.commit().await.map_err(StoreError::classify)?;
            Ok(gone.rows_affected() == 1)
        })
    }

    /// Queues (again) one event for one endpoint: a re-send, with a fresh set of attempts.
    pub async fn requeue_delivery(
        &self,
        endpoint_id: &str,
        ev: &EventRecord,
        now_ms: u64,
    ) -> Result<(), StoreError> {
        on_pools!(self, |read, write| {
            sqlx::query(
                "INSERT INTO webhook_deliveries (endpoint_id, event_seq, subject, state, attempts, \
                 next_attempt_ms, lease_until_ms, created_ms) VALUES ($1, $2, $3, 'pending', 0, $4, 0, $4) \
                 ON CONFLICT (endpoint_id, event_seq) DO UPDATE SET state = 'pending', attempts = 0, \
                 next_attempt_ms = excluded.next_attempt_ms, lease_until_ms = 0, \
                 created_ms = excluded.created_ms, done_ms = NULL",
            )
            .bind(endpoint_id)
            .bind(ev.seq)
            .bind(ev.subject.as_str())
            .bind(now_ms as i64)
            .execute(write)
            .await
            .map_err(StoreError::classify)?;
            Ok(())
        })
    }

    /// Claims up to `limit` due deliveries for `lease_ms`: each is the oldest undelivered one of
    /// its endpoint and subject (so a subject's events go out in order), and no other deliverer
    /// holds it. PostgreSQL skips rows another replica is claiming (`FOR UPDATE SKIP LOCKED`).
    pub async fn claim_deliveries(
        &self,
        now_ms: u64,
        lease_ms: u64,
        limit: u32,
    ) -> Result<Vec<ClaimedDelivery>, StoreError> {
        let lock = match self.backend {
            super::Backend::Postgres => " FOR UPDATE SKIP LOCKED",
            super::Backend::Sqlite => "",
        };
        let sql = format!(
            "UPDATE webhook_deliveries SET lease_until_ms = $1, attempts = attempts + 1 \
             WHERE seq IN (SELECT d.seq FROM webhook_deliveries d \
               WHERE d.state = 'pending' AND d.next_attempt_ms <= $2 AND d.lease_until_ms <= $2 \
               AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE p.endpoint_id = d.endpoint_id \
                 AND p.subject = d.subject AND p.state = 'pending' AND p.event_seq < d.event_seq) \
               ORDER BY d.event_seq LIMIT $3{lock}) \
             AND state = 'pending' AND lease_until_ms <= $2 \
             RETURNING seq, attempts"
        );
        const DELIVERY_SQL: &str = "SELECT e.seq, e.tenant, e.type, e.subject, e.created_at, e.data, \
             w.id, w.tenant AS w_tenant, w.url, w.event_types, w.enabled, w.secret, w.failing, \
             w.created_at AS w_created_at \
             FROM webhook_deliveries d JOIN events e ON e.seq = d.event_seq \
             JOIN webhook_endpoints w ON w.id = d.endpoint_id WHERE d.seq = $1";
        on_pools!(self, |read, write| {
            let mut tx = write.begin_write().await?;
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind((now_ms + lease_ms) as i64)
                .bind(now_ms as i64)
                .bind(i64::from(limit))
                .fetch_all(&mut *tx)
                .await
                .map_err(StoreError::classify)?;
            tx.commit().await.map_err(StoreError::classify)?;
            let mut out = Vec::with_capacity(rows.len());
            for r in &rows {
                let seq: i64 = r.try_get("seq").map_err(StoreError::classify)?;
                let attempts: i64 = r.try_get("attempts").map_err(StoreError::classify)?;
                let Some(row) = sqlx::query(DELIVERY_SQL)
                    .bind(seq)
                    .fetch_optional(read)
                    .await
                    .map_err(StoreError::classify)?
                else {
                    continue; // The endpoint was deleted meanwhile.
                };
                let claimed = event(&row)
                    .and_then(|ev| Ok((ev, endpoint(&row, "w_")?)))
                    .map_err(StoreError::classify)?;
                out.push(ClaimedDelivery {
                    seq,
                    attempt: attempts as u32,
                    event: claimed.0,
                    endpoint: claimed.1,
                });
            }
            Ok(out)
        })
    }

    /// Records an attempt and what follows it. On `GiveUp` the delivery fails and, if the
    /// endpoint was not failing yet, it is marked failing and `failing_event` (if any) is
    /// inserted in the same transaction; on `Delivered` the endpoint is no longer failing.
    /// Returns whether the endpoint just became failing.
    pub async fn finish_attempt(
        &self,
        delivery_seq: i64,
        a: &AttemptRecord,
        next: DeliveryNext,
        failing_event: Option<&NewEvent>,
        now: u64,
    ) -> Result<bool, StoreError> {
        let done_ms = (a.started_ms + a.latency_ms) as i64;
        on_pools!(self, |read, write| {
            let mut tx = write.begin_write().await?;
            sqlx::query(
                "INSERT INTO webhook_attempts (endpoint_id, event_seq, attempt, started_ms, latency_ms, \
                 status_code, outcome, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(a.endpoint_id.as_str())
            .bind(a.event_seq)
            .bind(i64::from(a.attempt))
            .bind(a.started_ms as i64)
            .bind(a.latency_ms as i64)
            .bind(a.status_code.map(i64::from))
            .bind(a.outcome.as_str())
            .bind(a.error.as_deref())
            .execute(&mut *tx)
            .await
            .map_err(StoreError::classify)?;
            // The delivery's new state, and the endpoint's `failing` flag from → to.
            let (set_delivery, failing_from_to) = match next {
                DeliveryNext::Delivered => (
                    "state = 'delivered', lease_until_ms = 0, done_ms = $1 WHERE seq = $2",
                    (true, false),
                ),
                DeliveryNext::RetryAt(_) => (
                    "lease_until_ms = 0, next_attempt_ms = $1 WHERE seq = $2 AND state = 'pending'",
                    (false, false),
                ),
                DeliveryNext::GiveUp => (
                    "state = 'failed', lease_until_ms = 0, done_ms = $1 WHERE seq = $2",
                    (false, true),
                ),
            };
            let first = match next {
                DeliveryNext::RetryAt(at) => at as i64,
                _ => done_ms,
            };
            sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE webhook_deliveries SET {set_delivery}"
            )))
            .bind(first)
            .bind(delivery_seq)
            .execute(&mut *tx)
            .await
            .map_err(StoreError::classify)?;
            let mut became_failing = false;
            if failing_from_to.0 != failing_from_to.1 {
                let marked = sqlx::query(
                    "UPDATE webhook_endpoints SET failing = $1 WHERE id = $2 AND failing = $3",
                )
                .bind(failing_from_to.1)
                .bind(a.endpoint_id.as_str())
                .bind(failing_from_to.0)
                .execute(&mut *tx)
                .await
                .map_err(StoreError::classify)?;
                became_failing = failing_from_to.1 && marked.rows_affected() == 1;
            }
            if became_failing && let Some(e) = failing_event {
                insert_event!(&mut tx, self.backend, e, now)?;
            }
            tx.commit().await.map_err(StoreError::classify)?;
            Ok(became_failing)
        })
    }

    /// An endpoint's attempts, newest first, with the event each was for.
    pub async fn attempts(
        &self,
        endpoint_id: &str,
        limit: u32,
    ) -> Result<Vec<(AttemptRecord, String)>, StoreError> {
        on_pools!(self, |read, write| {
            let rows = sqlx::query(
                "SELECT a.endpoint_id, a.event_seq, a.attempt, a.started_ms, a.latency_ms, a.status_code, \
                 a.outcome, a.error, COALESCE(e.type, '') AS type FROM webhook_attempts a \
                 LEFT JOIN events e ON e.seq = a.event_seq WHERE a.endpoint_id = $1 \
                 ORDER BY a.seq DESC LIMIT $2",
            )
            .bind(endpoint_id)
            .bind(i64::from(limit))
            .fetch_all(read)
            .await
            .map_err(StoreError::classify)?;
            rows.iter()
                .map(|r| {
                    Ok((
                        AttemptRecord {
                            endpoint_id: r.text("endpoint_id")?,
                            event_seq: r.int("event_seq")?,
                            attempt: r.int("attempt")? as u32,
                            started_ms: r.int("started_ms")? as u64,
                            latency_ms: r.int("latency_ms")? as u64,
                            status_code: r.opt_int("status_code")?.map(|c| c as u16),
                            outcome: r.text("outcome")?,
                            error: r.opt_text("error")?,
                        },
                        r.text("type")?,
                    ))
                })
                .collect::<Result<_, sqlx::Error>>()
                .map_err(StoreError::classify)
        })
    }

    /// The delivery queue's size and age.
    pub async fn delivery_queue(&self) -> Result<QueueStats, StoreError> {
        on_pools!(self, |read, write| {
            let row = sqlx::query(
                "SELECT COUNT(*) AS n, MIN(created_ms) AS oldest FROM webhook_deliveries \
                 WHERE state = 'pending'",
            )
            .fetch_one(read)
            .await
            .map_err(StoreError::classify)?;
            let n = row.int("n").map_err(StoreError::classify)?;
            let oldest = row.opt_int("oldest").map_err(StoreError::classify)?;
            Ok(QueueStats {
                pending: n as u64,
                oldest_ms: oldest.map(|o| o as u64),
            })
        })
    }
}
