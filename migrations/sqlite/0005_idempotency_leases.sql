-- Idempotency claims are leases: an attempt owns its key until `lease_until` (seconds since
-- 1970); a claim whose owner died or gave up is taken over by the next retry.
ALTER TABLE idempotency_keys ADD COLUMN lease_owner TEXT;
ALTER TABLE idempotency_keys ADD COLUMN lease_until BIGINT NOT NULL DEFAULT 0;

-- The unsigned invoice request sent to the node (bech32), kept while pending so that a lost answer is settled
-- by resubmitting the very same bytes.
ALTER TABLE invoice_requests ADD COLUMN submitted TEXT;

-- Labels are held only by requests that exist: a failed record frees its label.
DROP INDEX invoice_requests_tenant_label;
CREATE UNIQUE INDEX invoice_requests_tenant_label ON invoice_requests (tenant, label)
    WHERE label IS NOT NULL AND status <> 'failed';
