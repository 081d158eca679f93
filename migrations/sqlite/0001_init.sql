-- invreqd schema (SQLite). Times are integer seconds since 1970, ids lowercase hex text.
-- Booleans are 0/1 integers here: the sqlx Any driver does not map SQLite BOOLEAN.
CREATE TABLE invoice_requests (
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    invreq_id       TEXT    NOT NULL UNIQUE,
    tenant          TEXT    NOT NULL,
    bolt12          TEXT    NOT NULL,
    amount_msat     BIGINT  NOT NULL,
    description     TEXT    NOT NULL,
    issuer          TEXT,
    label           TEXT,
    absolute_expiry BIGINT,
    single_use      BIGINT  NOT NULL,
    active          BIGINT  NOT NULL,
    used            BIGINT  NOT NULL,
    status          TEXT    NOT NULL,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL
);
CREATE UNIQUE INDEX invoice_requests_tenant_label ON invoice_requests (tenant, label) WHERE label IS NOT NULL;
CREATE INDEX invoice_requests_tenant_seq ON invoice_requests (tenant, seq);
CREATE INDEX invoice_requests_status ON invoice_requests (status);

CREATE TABLE payments (
    payment_hash     TEXT    PRIMARY KEY,
    invreq_id        TEXT    NOT NULL REFERENCES invoice_requests (invreq_id),
    status           TEXT    NOT NULL,
    amount_msat      BIGINT,
    amount_sent_msat BIGINT  NOT NULL,
    preimage         TEXT,
    created_at       BIGINT  NOT NULL,
    completed_at     BIGINT,
    updated_at       BIGINT  NOT NULL
);
CREATE INDEX payments_invreq ON payments (invreq_id);

CREATE TABLE idempotency_keys (
    tenant          TEXT    NOT NULL,
    idem_key        TEXT    NOT NULL,
    request_hash    TEXT    NOT NULL,
    invreq_id       TEXT,
    response_status INTEGER,
    response_body   TEXT,
    created_at      BIGINT  NOT NULL,
    PRIMARY KEY (tenant, idem_key)
);

-- Small named cursors and settings (e.g. the payment watcher's indexes).
CREATE TABLE kv (
    name  TEXT   PRIMARY KEY,
    value BIGINT NOT NULL
);
