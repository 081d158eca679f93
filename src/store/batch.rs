//! Group commit of plain inserts on SQLite: inserts that arrive while the single writer is
//! busy are written together, as one multi-row `INSERT` in one transaction, and each caller is
//! answered only once that transaction has committed (so a `201` still means stored).
//!
//! One statement and one commit for a group instead of one each: fewer hand-offs to SQLite's
//! worker thread and fewer WAL frames (the pages a group's rows share are written once). When
//! the multi-row statement fails (a label taken, a duplicate id), the group is written again
//! row by row inside the same transaction, so each caller gets its own row's outcome. A row's
//! event (the outbox, `invoicerequest.created`) is written in the group's transaction too, after
//! its row: a row is never committed without its event.

use sqlx::SqlitePool;
use tokio::sync::{mpsc, oneshot};

use super::{Backend, BeginWrite, InvoiceRequestRecord, NewEvent, StoreError};

/// Most rows in one group (15 parameters each: far below SQLite's limit of 32 766).
const MAX_GROUP: usize = 64;

/// One waiting insert.
struct Pending {
    record: InvoiceRequestRecord,
    /// Its event, created at `now`.
    event: Option<NewEvent>,
    now: u64,
    done: oneshot::Sender<Result<(), StoreError>>,
}

/// The sending side: [`Inserter::insert`] queues a record and waits for its commit.
#[derive(Clone)]
pub(super) struct Inserter {
    queue: mpsc::Sender<Pending>,
}

impl Inserter {
    /// Starts the writer task on the current tokio runtime. It ends when every `Inserter`
    /// clone is gone.
    pub(super) fn spawn(write: SqlitePool) -> Self {
        let (queue, rx) = mpsc::channel(4 * MAX_GROUP);
        tokio::spawn(run(write, rx));
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
        let (done, answer) = oneshot::channel();
        let gone = || StoreError::Unavailable("the SQLite writer task stopped".into());
        self.queue
            .send(Pending {
                record: record.clone(),
                event: event.cloned(),
                now,
                done,
            })
            .await
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }
}

async fn run(write: SqlitePool, mut rx: mpsc::Receiver<Pending>) {
    let mut group: Vec<Pending> = Vec::with_capacity(MAX_GROUP);
    while rx.recv_many(&mut group, MAX_GROUP).await > 0 {
        let outcomes = write_group(&write, &group).await;
        for (p, outcome) in group.drain(..).zip(outcomes) {
            // A caller that went away (its request was cancelled) no longer needs the answer;
            // its row is stored either way.
            let _ = p.done.send(outcome);
        }
    }
}

/// Writes a group in one transaction; one outcome per row, in order.
async fn write_group(write: &SqlitePool, group: &[Pending]) -> Vec<Result<(), StoreError>> {
    let all = |e: &StoreError| {
        group
            .iter()
            .map(|_| Err(StoreError::Unavailable(e.to_string())))
            .collect()
    };
    let mut tx = match write.begin_write().await {
        Ok(tx) => tx,
        Err(e) => return all(&e),
    };
    let together = if group.len() == 1 {
        super::insert_query!(&group[0].record)
            .execute(&mut *tx)
            .await
            .map(|_| ())
    } else {
        multi_row_insert(group).execute(&mut *tx).await.map(|_| ())
    };
    let outcomes: Vec<Result<(), StoreError>> = match together {
        Ok(()) => group.iter().map(|_| Ok(())).collect(),
        Err(e) if group.len() == 1 => vec![Err(StoreError::classify(e))],
        Err(_) => {
            // One row spoiled the statement (SQLite undid the statement, not the transaction):
            // row by row, each with its own outcome.
            let mut outcomes = Vec::with_capacity(group.len());
            for p in group {
                outcomes.push(
                    super::insert_query!(&p.record)
                        .execute(&mut *tx)
                        .await
                        .map(|_| ())
                        .map_err(StoreError::classify),
                );
            }
            outcomes
        }
    };
    for (p, outcome) in group.iter().zip(&outcomes) {
        if let (Ok(()), Some(event)) = (outcome, &p.event)
            && let Err(e) = super::events::insert_event!(&mut tx, Backend::Sqlite, event, p.now)
        {
            // Dropping the transaction rolls the group back: no row without its event.
            return all(&e);
        }
    }
    if let Err(e) = tx.commit().await {
        let e = StoreError::classify(e);
        return all(&e);
    }
    outcomes
}

/// `INSERT … VALUES (…), (…), …` for the whole group, the columns as in `insert_query!`.
fn multi_row_insert(
    group: &[Pending],
) -> sqlx::query::Query<'_, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    let mut sql = String::from(
        "INSERT INTO invoice_requests (invreq_id, tenant, bolt12, amount_msat, description, issuer, \
         label, absolute_expiry, single_use, active, used, status, created_at, updated_at, submitted) VALUES ",
    );
    for i in 0..group.len() {
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
    for p in group {
        let r = &p.record;
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
