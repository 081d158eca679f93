//! Group commit: the plain inserts of new invoice requests and the audit lines that arrive
//! while the writer is busy are written together, in one transaction, and each caller is
//! answered only once that transaction has committed (so a `201` still means stored).
//!
//! One commit for a group instead of one or two per create. On SQLite: fewer hand-offs to its
//! worker thread and fewer WAL frames (the pages a group's rows share are written once). On
//! PostgreSQL: a create's event takes the tenant's advisory lock until commit (events keep commit
//! order, see `events.rs`), so without groups a tenant's creates wait for each other's durable
//! commit one by one; a group takes the lock and pays the commit once.
//!
//! A row that cannot be stored (a label taken, a duplicate id) gets its own error and the rest
//! of the group is stored: on SQLite the group goes in as one multi-row `INSERT`, written again
//! row by row when it fails (SQLite undoes the statement, not the transaction); on PostgreSQL,
//! where a failed statement would abort the transaction, the multi-row `INSERT` skips conflicting
//! rows (`ON CONFLICT DO NOTHING RETURNING invreq_id`) and a row that was not stored is told
//! apart (its id exists: duplicate; else its label is taken). A row's event (the outbox,
//! `invoicerequest.created`) is written in the group's transaction too, after its row: a row is
//! never committed without its event; the tenant's event lock is taken once per group. The
//! group's audit lines go in as one multi-row `INSERT` as well.

use tokio::sync::{mpsc, oneshot};

use super::{AuditEntry, Backend, BeginWrite, InvoiceRequestRecord, NewEvent, Pools, StoreError};

/// Most writes in one group (an invoice request binds 15 parameters: 64 rows stay far below
/// SQLite's limit of 32 766).
const MAX_GROUP: usize = 64;

/// What a caller waits to have committed.
enum Write {
    /// A new invoice request and, when given, its event created at `now`.
    Insert {
        record: Box<InvoiceRequestRecord>,
        event: Option<Box<NewEvent>>,
        now: u64,
    },
    /// A line of the audit trail.
    Audit(AuditEntry),
}

/// One waiting write.
struct Pending {
    write: Write,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The sending side: queues a write and waits for its commit.
#[derive(Clone)]
pub(super) struct Inserter {
    queue: mpsc::Sender<Pending>,
}

impl Inserter {
    /// Starts the writer task on the current tokio runtime. It ends when every `Inserter`
    /// clone is gone.
    pub(super) fn spawn(pools: Pools) -> Self {
        let (queue, rx) = mpsc::channel(4 * MAX_GROUP);
        tokio::spawn(run(pools, rx));
        Self { queue }
    }

    /// Inserts `record` and, when given, its `event` (created at `now`); returns once the
    /// transaction holding them has committed.
    ///
    /// # Errors
    /// The row's own outcome ([`StoreError::LabelTaken`], [`StoreError::Duplicate`]), or the
    /// group's when its transaction failed, or [`StoreError::Unavailable`] if the writer task
    /// is gone.
    pub(super) async fn insert(
        &self,
        record: &InvoiceRequestRecord,
        event: Option<&NewEvent>,
        now: u64,
    ) -> Result<(), StoreError> {
        self.submit(Write::Insert {
            record: Box::new(record.clone()),
            event: event.map(|e| Box::new(e.clone())),
            now,
        })
        .await
    }

    /// Appends an audit line; returns once the transaction holding it has committed.
    ///
    /// # Errors
    /// Its statement's or its group's failure, or [`StoreError::Unavailable`] if the writer
    /// task is gone.
    pub(super) async fn audit(&self, entry: &AuditEntry) -> Result<(), StoreError> {
        self.submit(Write::Audit(entry.clone())).await
    }

    async fn submit(&self, write: Write) -> Result<(), StoreError> {
        let (done, answer) = oneshot::channel();
        let gone = || StoreError::Unavailable("the SQLite writer task stopped".into());
        self.queue
            .send(Pending { write, done })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run(pools: Pools, mut rx: mpsc::Receiver<Pending>) {
    let mut group: Vec<Pending> = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let outcomes = match &pools {
            Pools::Sqlite { write, .. } => {
                write_group!(write, &group, Backend::Sqlite, insert_records_sqlite)
            }
            Pools::Postgres(pool) => {
                write_group!(pool, &group, Backend::Postgres, insert_records_postgres)
            }
        };
        for (p, outcome) in group.drain(..).zip(outcomes) {
            // A caller that went away (its request was cancelled) no longer needs the answer;
            // its write is stored either way.
            let _ = p.done.send(outcome);
        }
    }
}

/// `write_group!(pool, group, backend, insert_records)`: writes a group in one transaction
/// on `pool` (either driver, `insert_records` its way of inserting the records); evaluates to
/// one outcome per write, in order. A macro so that it is written once for both drivers.
macro_rules! write_group {
    ($pool:expr, $group:expr, $backend:expr, $insert_records:ident) => {
        async {
            let (write, group): (_, &[Pending]) = ($pool, $group);
            let all = |e: &StoreError| -> Vec<Result<(), StoreError>> {
                group
                    .iter()
                    .map(|_| Err(StoreError::Unavailable(e.to_string())))
                    .collect()
            };
            let mut tx = match write.begin_write().await {
                Ok(tx) => tx,
                Err(e) => return all(&e),
            };
            let records: Vec<&InvoiceRequestRecord> = group
                .iter()
                .filter_map(|p| match &p.write {
                    Write::Insert { record, .. } => Some(&**record),
                    Write::Audit(_) => None,
                })
                .collect();
            let mut inserted = $insert_records(&mut tx, &records).await.into_iter();
            let audits: Vec<&AuditEntry> = group
                .iter()
                .filter_map(|p| match &p.write {
                    Write::Audit(entry) => Some(entry),
                    Write::Insert { .. } => None,
                })
                .collect();
            let mut audited = insert_audits!(&mut tx, &audits).into_iter();
            // Tenants whose event lock this transaction holds (PostgreSQL): taken once each.
            let mut locked: Vec<&str> = Vec::new();
            let mut outcomes = Vec::with_capacity(group.len());
            for p in group {
                let outcome = match &p.write {
                    Write::Insert { event, now, .. } => {
                        let outcome = inserted.next().unwrap_or(Ok(()));
                        if let (Ok(()), Some(event)) = (&outcome, event) {
                            let lock = !locked.contains(&event.tenant.as_str());
                            if lock {
                                locked.push(&event.tenant);
                            }
                            if let Err(e) =
                                super::events::insert_event!(&mut tx, $backend, event, *now, lock)
                            {
                                // Dropping the transaction rolls the group back: no row
                                // without its event.
                                return all(&e);
                            }
                        }
                        outcome
                    }
                    Write::Audit(_) => audited.next().unwrap_or(Ok(())),
                };
                outcomes.push(outcome);
            }
            if let Err(e) = tx.commit().await {
                let e = StoreError::classify(e);
                return all(&e);
            }
            outcomes
        }
        .await
    };
}
use write_group;

/// `insert_audits!(tx, entries)`: the group's audit lines inside `tx` (either driver), as one
/// multi-row `INSERT`, or one per line when that fails; evaluates to one outcome per line.
macro_rules! insert_audits {
    ($tx:expr, $entries:expr) => {
        async {
            let (tx, entries): (_, &[&AuditEntry]) = ($tx, $entries);
            if entries.is_empty() {
                return Vec::new();
            }
            let mut q = sqlx::query(sqlx::AssertSqlSafe(multi_row_sql(
                "INSERT INTO audit_log (at, key_id, tenant, action, invreq_id, amount_msat, \
                 subject_key, outcome) VALUES ",
                8,
                entries.len(),
                "",
            )));
            for e in entries {
                q = super::keys::bind_audit!(q, e);
            }
            if q.execute(&mut **tx).await.is_ok() {
                return entries.iter().map(|_| Ok(())).collect();
            }
            let mut outcomes = Vec::with_capacity(entries.len());
            for e in entries {
                outcomes.push(
                    super::keys::audit_query!(e)
                        .execute(&mut **tx)
                        .await
                        .map(|_| ())
                        .map_err(StoreError::classify),
                );
            }
            outcomes
        }
        .await
    };
}
use insert_audits;

/// `INSERT … VALUES ($1, …), (…), …`: `head` (ending in `VALUES `), `rows` tuples of `columns`
/// parameters each, then `tail`.
fn multi_row_sql(head: &str, columns: usize, rows: usize, tail: &str) -> String {
    let mut sql = String::from(head);
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push('(');
        for c in 1..=columns {
            if c > 1 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", i * columns + c));
        }
        sql.push(')');
    }
    sql.push_str(tail);
    sql
}

/// Inserts the group's invoice requests inside a SQLite `tx`: one statement for all, or, when
/// that fails, one per row; one outcome per record, in order.
async fn insert_records_sqlite(
    tx: &mut sqlx::Transaction<'static, sqlx::Sqlite>,
    records: &[&InvoiceRequestRecord],
) -> Vec<Result<(), StoreError>> {
    let together = match records {
        [] => return Vec::new(),
        [one] => super::insert_query!(one).execute(&mut **tx).await,
        many => multi_row_insert(many).execute(&mut **tx).await,
    };
    match together {
        Ok(_) => records.iter().map(|_| Ok(())).collect(),
        Err(e) if records.len() == 1 => vec![Err(StoreError::classify(e))],
        Err(_) => {
            // One row spoiled the statement (SQLite undid the statement, not the transaction):
            // row by row, each with its own outcome.
            let mut outcomes = Vec::with_capacity(records.len());
            for r in records {
                outcomes.push(
                    super::insert_query!(r)
                        .execute(&mut **tx)
                        .await
                        .map(|_| ())
                        .map_err(StoreError::classify),
                );
            }
            outcomes
        }
    }
}

/// Inserts the group's invoice requests inside a PostgreSQL `tx` as one statement that skips a
/// row breaking a unique constraint (so the transaction goes on) and returns the ids it stored;
/// one outcome per record, in order: a skipped row is [`StoreError::Duplicate`] when its id
/// exists, else [`StoreError::LabelTaken`] (the only other unique constraint).
async fn insert_records_postgres(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    records: &[&InvoiceRequestRecord],
) -> Vec<Result<(), StoreError>> {
    if records.is_empty() {
        return Vec::new();
    }
    let query = bind_records!(
        sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(multi_row_sql(
            INSERT_HEAD,
            15,
            records.len(),
            " ON CONFLICT DO NOTHING RETURNING invreq_id",
        ))),
        records
    );
    let stored: Vec<String> = match query.fetch_all(&mut **tx).await {
        Ok(ids) => ids,
        Err(e) => {
            let e = StoreError::classify(e);
            return records
                .iter()
                .map(|_| Err(StoreError::Unavailable(e.to_string())))
                .collect();
        }
    };
    let mut outcomes = Vec::with_capacity(records.len());
    for r in records {
        outcomes.push(if stored.contains(&r.invreq_id) {
            Ok(())
        } else {
            skipped_why(tx, r).await
        });
    }
    outcomes
}

/// Why PostgreSQL skipped `r`: its id exists (duplicate), or else its label is taken.
async fn skipped_why(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    r: &InvoiceRequestRecord,
) -> Result<(), StoreError> {
    let exists: Option<i32> =
        sqlx::query_scalar("SELECT 1 FROM invoice_requests WHERE invreq_id = $1")
            .bind(r.invreq_id.as_str())
            .fetch_optional(&mut **tx)
            .await
            .map_err(StoreError::classify)?;
    Err(if exists.is_some() {
        StoreError::Duplicate
    } else {
        StoreError::LabelTaken
    })
}

/// The columns of a new invoice request, as in `insert_query!`.
const INSERT_HEAD: &str = "INSERT INTO invoice_requests (invreq_id, tenant, bolt12, amount_msat, \
     description, issuer, label, absolute_expiry, single_use, active, used, status, created_at, \
     updated_at, submitted) VALUES ";

/// `bind_records!(query, records)`: binds each record's columns (`bind_record!`, in
/// `INSERT_HEAD`'s order) to a multi-row query of either driver.
macro_rules! bind_records {
    ($query:expr, $records:expr) => {{
        let mut query = $query;
        for r in $records {
            query = super::bind_record!(query, r);
        }
        query
    }};
}
use bind_records;

/// `INSERT … VALUES (…), (…), …` for the whole group on SQLite.
fn multi_row_insert<'q>(
    records: &[&'q InvoiceRequestRecord],
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    bind_records!(
        sqlx::query(sqlx::AssertSqlSafe(multi_row_sql(
            INSERT_HEAD,
            15,
            records.len(),
            ""
        ))),
        records
    )
}
