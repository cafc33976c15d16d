-- Takt store, PostgreSQL, version 1: the event log, idempotency records and the audit chain.

CREATE TABLE events (
    seq            BIGSERIAL PRIMARY KEY,
    id             TEXT   NOT NULL,
    source         TEXT   NOT NULL,
    contract       TEXT   NOT NULL,
    dataschema     TEXT   NOT NULL,
    site           TEXT   NOT NULL,
    subject        TEXT   NOT NULL,
    partition_key  TEXT   NOT NULL,
    interface      TEXT   NOT NULL,
    principal      TEXT   NOT NULL,
    accepted_at_ms BIGINT NOT NULL,
    body           BYTEA  NOT NULL,
    UNIQUE (id, source)                     -- de-duplication, and reads by id
);
CREATE INDEX events_by_interface ON events (interface, seq);

CREATE TABLE event_keys (
    kind  TEXT   NOT NULL,
    value TEXT   NOT NULL,
    seq   BIGINT NOT NULL REFERENCES events (seq),
    PRIMARY KEY (kind, value, seq)
);
CREATE INDEX event_keys_by_seq ON event_keys (seq);

CREATE TABLE idempotency (
    principal     TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    request_hash  BYTEA   NOT NULL,
    status        INTEGER NOT NULL,
    response      BYTEA   NOT NULL,
    created_at_ms BIGINT  NOT NULL,
    expires_at_ms BIGINT  NOT NULL,
    PRIMARY KEY (principal, key)
);
CREATE INDEX idempotency_by_expiry ON idempotency (expires_at_ms);

CREATE TABLE audit (
    seq        BIGINT PRIMARY KEY,
    at_ms      BIGINT NOT NULL,
    principal  TEXT   NOT NULL,
    action     TEXT   NOT NULL,
    interface  TEXT,
    outcome    TEXT   NOT NULL,
    message_id TEXT,
    prev_hash  BYTEA  NOT NULL,
    hash       BYTEA  NOT NULL
);

-- The chain head; locked FOR UPDATE by every writer, so the chain stays
-- linear across hub instances, and compared on verification to detect truncation.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  BIGINT NOT NULL,
    hash BYTEA  NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
