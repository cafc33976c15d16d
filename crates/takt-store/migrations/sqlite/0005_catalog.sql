-- The governed catalog: numbered versions (complete snapshots of the
-- catalog files, as a JSON object path -> content; the highest version is
-- active) and the proposals that lead from one to the next.
CREATE TABLE catalog_versions (
    version INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    proposal INTEGER,
    restores INTEGER,
    principal TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    note TEXT NOT NULL,
    digest TEXT NOT NULL,
    files TEXT NOT NULL
);

CREATE TABLE catalog_proposals (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    base_version INTEGER NOT NULL,
    changes TEXT NOT NULL,
    state TEXT NOT NULL,
    proposer TEXT NOT NULL,
    created_at_ms INTEGER NOT NULL,
    decided_by TEXT,
    decided_at_ms INTEGER,
    comment TEXT,
    activated_version INTEGER
);
