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
//! where a failed statement would abort the transaction, each row is inserted with
//! `ON CONFLICT DO NOTHING` and a row that was not inserted is told apart (its id exists:
//! duplicate; else its label is taken). A row's event (the outbox, `invoicerequest.created`) is
//! written in the group's transaction too, after its row: a row is never committed without its
//! event.

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
            let mut outcomes = Vec::with_capacity(group.len());
            for p in group {
                let outcome = match &p.write {
                    Write::Insert { event, now, .. } => {
                        let outcome = inserted.next().unwrap_or(Ok(()));
                        if let (Ok(()), Some(event)) = (&outcome, event)
                            && let Err(e) =
                                super::events::insert_event!(&mut tx, $backend, event, *now)
                        {
                            // Dropping the transaction rolls the group back: no row without
                            // its event.
                            return all(&e);
                        }
                        outcome
                    }
                    Write::Audit(entry) => super::keys::audit_query!(entry)
                        .execute(&mut *tx)
                        .await
                        .map(|_| ())
                        .map_err(StoreError::classify),
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

/// Inserts the group's invoice requests inside a PostgreSQL `tx`, one statement per row that
/// skips a row breaking a unique constraint (so the transaction goes on); one outcome per
/// record, in order: a skipped row is [`StoreError::Duplicate`] when its id exists, else
/// [`StoreError::LabelTaken`] (the only other unique constraint).
async fn insert_records_postgres(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    records: &[&InvoiceRequestRecord],
) -> Vec<Result<(), StoreError>> {
    let mut outcomes = Vec::with_capacity(records.len());
    for r in records {
        outcomes.push(insert_or_classify(tx, r).await);
    }
    outcomes
}

async fn insert_or_classify(
    tx: &mut sqlx::Transaction<'static, sqlx::Postgres>,
    r: &InvoiceRequestRecord,
) -> Result<(), StoreError> {
    let done = super::insert_query!(r, " ON CONFLICT DO NOTHING")
        .execute(&mut **tx)
        .await
        .map_err(StoreError::classify)?;
    if done.rows_affected() == 1 {
        return Ok(());
    }
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

/// `INSERT … VALUES (…), (…), …` for the whole group, the columns as in `insert_query!`.
fn multi_row_insert<'q>(
    records: &[&'q InvoiceRequestRecord],
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    let mut sql = String::from(
        "INSERT INTO invoice_requests (invreq_id, tenant, bolt12, amount_msat, description, issuer, \
         label, absolute_expiry, single_use, active, used, status, created_at, updated_at, submitted) VALUES ",
    );
    for i in 0..records.len() {
        if i > 0 {
            sql.push_str(", ");
        }
        let b = i * 15;
        sql.push('(');
        for c in 1..=15 {
            if c > 1 {
                sql.push_str(", ");
            }
            sql.push_str(&format!("${}", b + c));
        }
        sql.push(')');
    }
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for r in records {
        query = query
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
            .bind(r.submitted.as_deref());
    }
    query
}
