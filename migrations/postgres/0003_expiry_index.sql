-- The expiry sweeper asks for the next active request to expire.
CREATE INDEX invoice_requests_expiry ON invoice_requests (absolute_expiry)
    WHERE absolute_expiry IS NOT NULL AND status IN ('open', 'paying');
