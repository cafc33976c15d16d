-- Delivery state: per-subscription cursors over the event log, records of
-- messages that needed more than one attempt (or wait, or were given up on),
-- and their attempt history.

CREATE TABLE delivery_cursors (
    subscription TEXT    PRIMARY KEY,
    seq          INTEGER NOT NULL            -- every event at or before it is settled
) WITHOUT ROWID;

CREATE TABLE deliveries (
    subscription       TEXT    NOT NULL,
    seq                INTEGER NOT NULL,     -- the event's position in the log
    event_id           TEXT    NOT NULL,
    contract           TEXT    NOT NULL,
    site               TEXT    NOT NULL,
    key                TEXT    NOT NULL,     -- ordering key on this subscription
    state              TEXT    NOT NULL,     -- pending, in_flight, delivered, dead_lettered, in_doubt, discarded
    holds_key          INTEGER NOT NULL,     -- later messages of the key wait for this one
    attempts           INTEGER NOT NULL,
    attempt_base       INTEGER NOT NULL,     -- attempts before the last redrive
    next_attempt_at_ms INTEGER NOT NULL,
    reason             TEXT    NOT NULL,
    last_status        INTEGER,
    last_response      TEXT    NOT NULL,
    accepted_at_ms     INTEGER NOT NULL,
    updated_at_ms      INTEGER NOT NULL,
    PRIMARY KEY (subscription, seq)
) WITHOUT ROWID;
CREATE INDEX deliveries_by_key ON deliveries (subscription, key, seq) WHERE holds_key = 1;
CREATE INDEX deliveries_by_state ON deliveries (state, seq);

CREATE TABLE delivery_attempts (
    subscription   TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    attempt        INTEGER NOT NULL,
    started_at_ms  INTEGER NOT NULL,
    finished_at_ms INTEGER NOT NULL,
    outcome        TEXT    NOT NULL,
    status         INTEGER,
    detail         TEXT    NOT NULL,
    PRIMARY KEY (subscription, seq, attempt)
) WITHOUT ROWID;
