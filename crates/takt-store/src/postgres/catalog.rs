//! The governed catalog on PostgreSQL: writes applied by the writer (with
//! their preconditions, safe between instances), reads for the admin API
//! and start-up.

use takt_core::store::{CatalogVersion, CatalogWrite, Proposal, ProposalState, StoreError};
use tokio_postgres::{GenericClient, Row};

use super::unavailable;
use crate::catalog::{
    PROPOSAL_COLUMNS, VERSION_COLUMNS, changes, encode_changes, encode_files, files, kind,
    not_in_state, not_next, state,
};

/// Applies one catalog change inside the writer's transaction; `Ok(Err(reason))`
/// when its precondition does not hold (nothing was written by it).
pub(super) async fn write(
    c: &impl GenericClient,
    change: &CatalogWrite,
) -> Result<Result<(), String>, StoreError> {
    match change {
        CatalogWrite::Propose(p) => {
            let inserted = c
                .execute(
                    "INSERT INTO catalog_proposals (id, title, base_version, changes, state, proposer, created_at_ms)
                     VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING",
                    &[&p.id, &p.title, &p.base_version, &encode_changes(&p.changes)?, &p.state.as_str(), &p.proposer, &p.created_at_ms],
                )
                .await
                .map_err(unavailable)?;
            Ok(if inserted == 1 {
                Ok(())
            } else {
                Err(format!("proposal id {} is taken", p.id))
            })
        }
        CatalogWrite::Decide {
            id,
            from,
            to,
            by,
            at_ms,
            comment,
            version,
        } => {
            // A concurrent decision holds the row: this one waits, then
            // finds the state changed and updates nothing.
            let updated = c
                .execute(
                    "UPDATE catalog_proposals SET state = $3,
                        decided_by = coalesce($4, decided_by),
                        decided_at_ms = CASE WHEN $4::text IS NULL THEN decided_at_ms ELSE $5 END,
                        comment = coalesce($6, comment), activated_version = coalesce($7, activated_version)
                     WHERE id = $1 AND state = $2",
                    &[id, &from.as_str(), &to.as_str(), by, at_ms, comment, version],
                )
                .await
                .map_err(unavailable)?;
            Ok(if updated == 1 {
                Ok(())
            } else {
                Err(not_in_state(*id, *from))
            })
        }
        CatalogWrite::Version(v) => {
            // Another instance inserting the same number first makes this
            // insert do nothing (after waiting for it to commit).
            let inserted = c
                .execute(
                    "INSERT INTO catalog_versions (version, kind, proposal, restores, principal, created_at_ms, note, digest, files)
                     SELECT $1::bigint, $2, $3, $4, $5, $6, $7, $8, $9
                     WHERE (SELECT coalesce(max(version), 0) FROM catalog_versions) = $1::bigint - 1
                     ON CONFLICT (version) DO NOTHING",
                    &[&v.version, &v.kind.as_str(), &v.proposal, &v.restores, &v.principal, &v.created_at_ms, &v.note, &v.digest, &encode_files(&v.files)?],
                )
                .await
                .map_err(unavailable)?;
            if inserted == 1 {
                return Ok(Ok(()));
            }
            let newest: i64 = c
                .query_one(
                    "SELECT coalesce(max(version), 0) FROM catalog_versions",
                    &[],
                )
                .await
                .map_err(unavailable)?
                .get(0);
            Ok(Err(not_next(v.version, newest)))
        }
    }
}

fn version_row(r: &Row, with_files: bool) -> Result<CatalogVersion, StoreError> {
    let files_text: Option<String> = if with_files { r.get(8) } else { None };
    Ok(CatalogVersion {
        version: r.get(0),
        kind: kind(r.get(1))?,
        proposal: r.get(2),
        restores: r.get(3),
        principal: r.get(4),
        created_at_ms: r.get(5),
        note: r.get(6),
        digest: r.get(7),
        files: files_text
            .as_deref()
            .map(files)
            .transpose()?
            .unwrap_or_default(),
    })
}

pub(super) async fn version(
    c: &impl GenericClient,
    version: Option<i64>,
) -> Result<Option<CatalogVersion>, StoreError> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS}, files FROM catalog_versions
         WHERE version = coalesce($1, (SELECT max(version) FROM catalog_versions))"
    );
    c.query_opt(&sql, &[&version])
        .await
        .map_err(unavailable)?
        .map(|r| version_row(&r, true))
        .transpose()
}

pub(super) async fn history(c: &impl GenericClient) -> Result<Vec<CatalogVersion>, StoreError> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM catalog_versions ORDER BY version DESC");
    c.query(&sql, &[])
        .await
        .map_err(unavailable)?
        .iter()
        .map(|r| version_row(r, false))
        .collect()
}

fn proposal_row(r: &Row) -> Result<Proposal, StoreError> {
    Ok(Proposal {
        id: r.get(0),
        title: r.get(1),
        base_version: r.get(2),
        changes: changes(r.get(3))?,
        state: state(r.get(4))?,
        proposer: r.get(5),
        created_at_ms: r.get(6),
        decided_by: r.get(7),
        decided_at_ms: r.get(8),
        comment: r.get(9),
        activated_version: r.get(10),
    })
}

pub(super) async fn proposal(
    c: &impl GenericClient,
    id: i64,
) -> Result<Option<Proposal>, StoreError> {
    let sql = format!("SELECT {PROPOSAL_COLUMNS} FROM catalog_proposals WHERE id = $1");
    c.query_opt(&sql, &[&id])
        .await
        .map_err(unavailable)?
        .map(|r| proposal_row(&r))
        .transpose()
}

pub(super) async fn proposals(
    c: &impl GenericClient,
    state: Option<ProposalState>,
) -> Result<Vec<Proposal>, StoreError> {
    let sql = format!(
        "SELECT {PROPOSAL_COLUMNS} FROM catalog_proposals WHERE $1::text IS NULL OR state = $1 ORDER BY id DESC"
    );
    c.query(&sql, &[&state.map(ProposalState::as_str)])
        .await
        .map_err(unavailable)?
        .iter()
        .map(proposal_row)
        .collect()
}
