-- Claim pages (/claim/<token>): a random 128-bit token per invoice request, never its id.
-- A rotated or revoked token keeps its row with revoked_at set, so its page answers 410 Gone;
-- at most one token per request is live (revoked_at IS NULL). A pending request that is deleted
-- (the node never saw it) takes its tokens along.
CREATE TABLE claim_tokens (
    token      TEXT   PRIMARY KEY,
    invreq_id  TEXT   NOT NULL REFERENCES invoice_requests (invreq_id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE UNIQUE INDEX claim_tokens_live ON claim_tokens (invreq_id) WHERE revoked_at IS NULL;
