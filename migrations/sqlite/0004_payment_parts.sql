-- Payments as the node made them: one row per part of a payment (CLN `listsendpays` keeps a row
-- per part: `payment_hash`, `groupid`, `partid`). A payment is the parts of one
-- (payment_hash, groupid); the service sums them the way `listpays` does.
CREATE TABLE payment_parts (
    payment_hash     TEXT    NOT NULL,
    groupid          BIGINT  NOT NULL,
    partid           BIGINT  NOT NULL,
    invreq_id        TEXT    NOT NULL REFERENCES invoice_requests (invreq_id),
    status           TEXT    NOT NULL,
    amount_msat      BIGINT,
    amount_sent_msat BIGINT  NOT NULL,
    preimage         TEXT,
    created_at       BIGINT  NOT NULL,
    completed_at     BIGINT,
    -- The node's indexes; updated_index 0 when the node gave none (never updated).
    -- created_index 0 marks a row carried over from the old per-hash table.
    created_index    BIGINT  NOT NULL,
    updated_index    BIGINT  NOT NULL,
    updated_at       BIGINT  NOT NULL,
    PRIMARY KEY (payment_hash, groupid, partid)
);
CREATE INDEX payment_parts_invreq ON payment_parts (invreq_id);

-- The old table kept one row per hash (the last part seen): carried over as one legacy part
-- each, replaced as soon as the node's parts for that hash are read again.
INSERT INTO payment_parts (payment_hash, groupid, partid, invreq_id, status, amount_msat,
    amount_sent_msat, preimage, created_at, completed_at, created_index, updated_index, updated_at)
SELECT payment_hash, 0, 0, invreq_id, status, amount_msat, amount_sent_msat, preimage,
    created_at, completed_at, 0, 0, updated_at
FROM payments;
DROP TABLE payments;

-- Read every payment from the node again, part by part.
DELETE FROM kv WHERE name IN ('cln.sendpays.created', 'cln.sendpays.updated');
