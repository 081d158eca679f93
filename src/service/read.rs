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
        // One statement for the record, its parts and its token (a point read in one round trip).
        let found = self
            .store
            .get_details(tenant, invreq_id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(invreq_id.to_owned()))?;
        Ok(InvoiceRequestView {
            payments: aggregate(&found.parts),
            claim_token: found.claim_token,
            record: found.record.effective(unix_now()),
        })
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
        // One statement for the page, its parts and its tokens.
        let mut rows = self
            .store
            .list_details(
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
            rows.last().map(|r| r.record.seq.to_string())
        } else {
            None
        };
        let items = rows
            .into_iter()
            .map(|d| InvoiceRequestView {
                payments: aggregate(&d.parts),
                claim_token: d.claim_token,
                record: d.record.effective(now),
            })
            .collect();
        Ok(Page { items, next_cursor })
    }
}
