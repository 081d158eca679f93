//! Reads of what a response shows: a record with its payment parts and its live claim token,
//! in one statement (one round trip to the database, one hop to SQLite's worker thread),
//! where three separate reads cost three.

use std::sync::LazyLock;

use super::{
    Columns, InvoiceRequestRecord, ListQuery, PaymentPart, PaymentStatus, RECORD_COLUMNS, Status,
    Store, StoreError, on_pools, record, sql_active,
};

/// A record with what its response shows besides it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordDetails {
    /// The invoice request.
    pub record: InvoiceRequestRecord,
    /// Its payment parts, in the node's order (`created_index`).
    pub parts: Vec<PaymentPart>,
    /// Its live claim token, if it has one.
    pub claim_token: Option<String>,
}

/// The record's columns (as `r`), its live token and its parts' columns (prefixed `p_`).
static DETAIL_COLUMNS: LazyLock<String> = LazyLock::new(|| {
    let record: Vec<String> = RECORD_COLUMNS
        .split(',')
        .map(|c| format!("r.{}", c.trim()))
        .collect();
    format!(
        "{}, c.token AS claim_token, p.payment_hash AS p_payment_hash, p.groupid AS p_groupid, \
         p.partid AS p_partid, p.status AS p_status, p.amount_msat AS p_amount_msat, \
         p.amount_sent_msat AS p_amount_sent_msat, p.preimage AS p_preimage, \
         p.created_at AS p_created_at, p.completed_at AS p_completed_at, \
         p.created_index AS p_created_index, p.updated_index AS p_updated_index",
        record.join(", ")
    )
});

/// The joins onto `r`: the live claim token (at most one: a unique partial index) and every part.
const DETAIL_JOINS: &str = "LEFT JOIN claim_tokens c ON c.invreq_id = r.invreq_id AND c.revoked_at IS NULL \
     LEFT JOIN payment_parts p ON p.invreq_id = r.invreq_id";

/// The parts' order within a record, as [`Store::payment_parts_of`] gives it.
const PART_ORDER: &str = "p.created_index, p.payment_hash, p.groupid, p.partid";

/// The part on a joined row, if the row has one.
fn part(r: &impl Columns, invreq_id: &str) -> Result<Option<PaymentPart>, sqlx::Error> {
    let Some(payment_hash) = r.opt_text("p_payment_hash")? else {
        return Ok(None);
    };
    let u = |c: &str| r.int(c).map(|v| v as u64);
    let opt = |c: &str| r.opt_int(c).map(|v| v.map(|v| v as u64));
    let status = r.text("p_status")?;
    Ok(Some(PaymentPart {
        payment_hash,
        groupid: u("p_groupid")?,
        partid: u("p_partid")?,
        invreq_id: invreq_id.to_owned(),
        status: PaymentStatus::parse(&status).ok_or_else(|| {
            sqlx::Error::Decode(format!("unknown payment status {status:?}").into())
        })?,
        amount_msat: opt("p_amount_msat")?,
        amount_sent_msat: u("p_amount_sent_msat")?,
        preimage: r.opt_text("p_preimage")?,
        created_at: u("p_created_at")?,
        completed_at: opt("p_completed_at")?,
        created_index: u("p_created_index")?,
        updated_index: u("p_updated_index")?,
    }))
}

/// Folds joined rows (one per part, or one without a part; a record's rows adjacent) into
/// records with their parts and token.
fn fold<R: Columns>(rows: &[R]) -> Result<Vec<RecordDetails>, StoreError> {
    let mut out: Vec<RecordDetails> = Vec::new();
    for r in rows {
        let seq = r.int("seq").map_err(StoreError::classify)?;
        let same = out.last().is_some_and(|d| d.record.seq == seq);
        if !same {
            out.push(RecordDetails {
                record: record(r)?,
                parts: Vec::new(),
                claim_token: r.opt_text("claim_token").map_err(StoreError::classify)?,
            });
        }
        let last = out.last_mut().expect("pushed above");
        if let Some(p) =
            part(r, &last.record.invreq_id).map_err(|e| StoreError::Corrupt(e.to_string()))?
        {
            last.parts.push(p);
        }
    }
    Ok(out)
}

/// The `WHERE … ORDER BY … LIMIT` of a list page (`$1` tenant, `$2` before seq, then `now`
/// when active only, the label when given, the limit last), shared by both list reads.
pub(super) fn list_filter(q: &ListQuery) -> String {
    let mut sql = String::from("WHERE tenant = $1 AND seq < $2");
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
    sql
}

/// `bind_list!(query, tenant, q, now)`: binds the parameters [`list_filter`] placed, in its
/// order, to a query of either driver.
macro_rules! bind_list {
    ($query:expr, $tenant:expr, $q:expr, $now:expr) => {{
        let (q, now): (&ListQuery, u64) = ($q, $now);
        let mut query = $query.bind($tenant).bind(q.before_seq.unwrap_or(i64::MAX));
        if q.active_only {
            query = query.bind(now as i64);
        }
        if let Some(label) = &q.label {
            query = query.bind(label.as_str());
        }
        query.bind(i64::from(q.limit))
    }};
}
pub(super) use bind_list;

impl Store {
    /// One invoice request of a tenant with its payment parts and live claim token, in one
    /// statement.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails or a row is not what the schema promises.
    pub async fn get_details(
        &self,
        tenant: &str,
        invreq_id: &str,
    ) -> Result<Option<RecordDetails>, StoreError> {
        static SQL: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT {} FROM invoice_requests r {DETAIL_JOINS} \
                 WHERE r.invreq_id = $1 AND r.tenant = $2 ORDER BY {PART_ORDER}",
                *DETAIL_COLUMNS
            )
        });
        on_pools!(self, |read, write| {
            let rows = sqlx::query(SQL.as_str())
                .bind(invreq_id)
                .bind(tenant)
                .fetch_all(read)
                .await
                .map_err(StoreError::classify)?;
            Ok(fold(&rows)?.pop())
        })
    }

    /// A page of a tenant's invoice requests, newest first, each with its payment parts and
    /// live claim token, in one statement; `now` decides what is expired.
    ///
    /// # Errors
    /// [`StoreError`] when the database fails or a row is not what the schema promises.
    pub async fn list_details(
        &self,
        tenant: &str,
        q: &ListQuery,
        now: u64,
    ) -> Result<Vec<RecordDetails>, StoreError> {
        let sql = format!(
            "SELECT {} FROM (SELECT {RECORD_COLUMNS} FROM invoice_requests {}) r {DETAIL_JOINS} \
             ORDER BY r.seq DESC, {PART_ORDER}",
            *DETAIL_COLUMNS,
            list_filter(q)
        );
        on_pools!(self, |read, write| {
            let rows = bind_list!(sqlx::query(sqlx::AssertSqlSafe(sql)), tenant, q, now)
                .fetch_all(read)
                .await
                .map_err(StoreError::classify)?;
            fold(&rows)
        })
    }
}
