//! Reading a tenant's invoice requests: one, or a page of them, with payments and claim tokens.

use super::{InvoiceRequestView, ListQuery, Page, Service, ServiceError, aggregate, unix_now};
use crate::store::InvoiceRequestRecord;

impl Service {
    /// One invoice request of a tenant.
    pub async fn get(
        &self,
        tenant: &str,
        invreq_id: &str,
    ) -> Result<InvoiceRequestView, ServiceError> {
        let record = self.record_of(tenant, invreq_id).await?;
        self.view(record).await
    }

    /// A tenant's record, or `NotFound` (another tenant's id is as unknown as a missing one).
    pub(super) async fn record_of(
        &self,
        tenant: &str,
        invreq_id: &str,
    ) -> Result<InvoiceRequestRecord, ServiceError> {
        self.store
            .get(tenant, invreq_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(invreq_id.to_owned()))
    }

    /// A tenant's record as the API shows it now (expiry applied), or `NotFound`.
    pub(super) async fn current_record(
        &self,
        tenant: &str,
        invreq_id: &str,
    ) -> Result<InvoiceRequestRecord, ServiceError> {
        Ok(self
            .record_of(tenant, invreq_id)
            .await?
            .effective(unix_now()))
    }

    pub(super) async fn view(
        &self,
        record: InvoiceRequestRecord,
    ) -> Result<InvoiceRequestView, ServiceError> {
        let claim_token = self
            .claim_tokens_of(std::slice::from_ref(&record))
            .await?
            .remove(&record.invreq_id);
        let payments = aggregate(&self.store.payment_parts(&record.invreq_id).await?);
        Ok(InvoiceRequestView {
            record: record.effective(unix_now()),
            payments,
            claim_token,
        })
    }

    /// A page of a tenant's invoice requests, newest first.
    pub async fn list(&self, tenant: &str, query: ListQuery) -> Result<Page, ServiceError> {
        let now = unix_now();
        let limit = query.limit as usize;
        let mut rows = self
            .store
            .list(
                tenant,
                &ListQuery {
                    limit: query.limit + 1,
                    ..query
                },
                now,
            )
            .await?;
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            rows.last().map(|r| r.seq.to_string())
        } else {
            None
        };
        let mut tokens = self.claim_tokens_of(&rows).await?;
        // One query for the payments of the whole page.
        let ids: Vec<String> = rows.iter().map(|r| r.invreq_id.clone()).collect();
        let mut parts: std::collections::HashMap<String, Vec<_>> = Default::default();
        for p in self.store.payment_parts_of(&ids).await? {
            parts.entry(p.invreq_id.clone()).or_default().push(p);
        }
        let items = rows
            .into_iter()
            .map(|r| InvoiceRequestView {
                payments: aggregate(parts.get(&r.invreq_id).map_or(&[][..], Vec::as_slice)),
                claim_token: tokens.remove(&r.invreq_id),
                record: r.effective(now),
            })
            .collect();
        Ok(Page { items, next_cursor })
    }
}
