-- Events (an outbox written in the transaction of each change) and webhook endpoints, their
-- deliveries (one per event and endpoint: the delivery queue) and every attempt.
-- Times: events.created_at in seconds, the delivery queue in milliseconds, since 1970.
CREATE TABLE events (
    seq        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant     TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    -- What it is about: the invoice request's id (deliveries keep its order), or an endpoint's.
    subject    TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    data       TEXT    NOT NULL
);
CREATE INDEX events_tenant_seq ON events (tenant, seq);
CREATE INDEX events_created_at ON events (created_at);

CREATE TABLE webhook_endpoints (
    id          TEXT    PRIMARY KEY,
    tenant      TEXT    NOT NULL,
    url         TEXT    NOT NULL,
    -- '*' (every type) or ',type,type,'.
    event_types TEXT    NOT NULL,
    enabled     BOOLEAN NOT NULL,
    -- whsec_…: kept as given out, it signs every delivery.
    secret      TEXT    NOT NULL,
    failing     BOOLEAN NOT NULL,
    created_at  BIGINT  NOT NULL
);
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant);

CREATE TABLE webhook_deliveries (
    seq             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id     TEXT    NOT NULL,
    event_seq       BIGINT  NOT NULL,
    subject         TEXT    NOT NULL,
    -- pending, delivered or failed.
    state           TEXT    NOT NULL,
    attempts        BIGINT  NOT NULL,
    next_attempt_ms BIGINT  NOT NULL,
    -- A deliverer holds it until then (0: nobody).
    lease_until_ms  BIGINT  NOT NULL,
    created_ms      BIGINT  NOT NULL,
    done_ms         BIGINT,
    UNIQUE (endpoint_id, event_seq)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_ms);
CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, subject, state, event_seq);

CREATE TABLE webhook_attempts (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    endpoint_id TEXT    NOT NULL,
    event_seq   BIGINT  NOT NULL,
    attempt     BIGINT  NOT NULL,
    started_ms  BIGINT  NOT NULL,
    latency_ms  BIGINT  NOT NULL,
    status_code BIGINT,
    outcome     TEXT    NOT NULL,
    error       TEXT
);
CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (endpoint_id, seq);
