-- API clients (SQLite): keys, per-tenant spending locks, audit trail.
-- Booleans are 0/1 integers here: the sqlx Any driver does not map SQLite BOOLEAN.
CREATE TABLE api_keys (
    key_id               TEXT    PRIMARY KEY,
    secret_sha256        TEXT    NOT NULL,
    name                 TEXT    NOT NULL,
    tenant               TEXT    NOT NULL,
    scopes               TEXT    NOT NULL,
    expires_at           BIGINT,
    revoked              BIGINT  NOT NULL,
    max_per_request_msat BIGINT,
    max_daily_msat       BIGINT,
    max_outstanding_msat BIGINT,
    created_at           BIGINT  NOT NULL,
    revoked_at           BIGINT
);
CREATE INDEX api_keys_tenant ON api_keys (tenant);

-- One row per tenant, updated at the start of every limited create: the lock that serialises a
-- tenant's spending checks with its inserts.
CREATE TABLE tenant_locks (
    tenant  TEXT   PRIMARY KEY,
    version BIGINT NOT NULL
);

-- Exactly one bootstrap admin key is ever made: its row here is the claim.
CREATE TABLE bootstrap (
    id         BIGINT PRIMARY KEY CHECK (id = 1),
    key_id     TEXT   NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE audit_log (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    at          BIGINT  NOT NULL,
    key_id      TEXT    NOT NULL,
    tenant      TEXT    NOT NULL,
    action      TEXT    NOT NULL,
    invreq_id   TEXT,
    amount_msat BIGINT,
    subject_key TEXT,
    outcome     TEXT    NOT NULL
);
CREATE INDEX audit_log_tenant_seq ON audit_log (tenant, seq);

-- Spending sums: a tenant's requests by time.
CREATE INDEX invoice_requests_tenant_created ON invoice_requests (tenant, created_at);
