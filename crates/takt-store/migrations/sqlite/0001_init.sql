-- Takt store, SQLite, version 1: the event log, idempotency records and the audit chain.

CREATE TABLE events (
    seq            INTEGER PRIMARY KEY,      -- accepted order, from 1
    id             TEXT    NOT NULL,         -- CloudEvents id
    source         TEXT    NOT NULL,         -- CloudEvents source
    contract       TEXT    NOT NULL,
    dataschema     TEXT    NOT NULL,
    site           TEXT    NOT NULL,
    subject        TEXT    NOT NULL,
    partition_key  TEXT    NOT NULL,
    interface      TEXT    NOT NULL,
    principal      TEXT    NOT NULL,
    accepted_at_ms INTEGER NOT NULL,
    body           BLOB    NOT NULL,
    UNIQUE (id, source)                     -- de-duplication, and reads by id
);
CREATE INDEX events_by_interface ON events (interface, seq);

CREATE TABLE event_keys (
    kind  TEXT    NOT NULL,                  -- order, lot, shipment, …
    value TEXT    NOT NULL,
    seq   INTEGER NOT NULL REFERENCES events (seq),
    PRIMARY KEY (kind, value, seq)
) WITHOUT ROWID;

CREATE TABLE idempotency (
    principal     TEXT    NOT NULL,
    key           TEXT    NOT NULL,
    request_hash  BLOB    NOT NULL,
    status        INTEGER NOT NULL,
    response      BLOB    NOT NULL,
    created_at_ms INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    PRIMARY KEY (principal, key)
) WITHOUT ROWID;
CREATE INDEX idempotency_by_expiry ON idempotency (expires_at_ms);

CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY,
    at_ms      INTEGER NOT NULL,
    principal  TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    interface  TEXT,
    outcome    TEXT    NOT NULL,
    message_id TEXT,
    prev_hash  BLOB    NOT NULL,
    hash       BLOB    NOT NULL
);

-- The chain head, written in the same transaction as each audit entry, so that
-- entries cut off the end of the chain are detected.
CREATE TABLE audit_head (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    seq  INTEGER NOT NULL,
    hash BLOB    NOT NULL
);
INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, zeroblob(32));
