-- The governed catalog: numbered versions (complete snapshots of the
-- catalog files, as a JSON object path -> content; the highest version is
-- active) and the proposals that lead from one to the next.
CREATE TABLE catalog_versions (
    version BIGINT PRIMARY KEY,
    kind TEXT NOT NULL,
    proposal BIGINT,
    restores BIGINT,
    principal TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    note TEXT NOT NULL,
    digest TEXT NOT NULL,
    files TEXT NOT NULL
);

CREATE TABLE catalog_proposals (
    id BIGINT PRIMARY KEY,
    title TEXT NOT NULL,
    base_version BIGINT NOT NULL,
    changes TEXT NOT NULL,
    state TEXT NOT NULL,
    proposer TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    decided_by TEXT,
    decided_at_ms BIGINT,
    comment TEXT,
    activated_version BIGINT
);
