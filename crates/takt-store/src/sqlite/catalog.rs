//! The governed catalog on SQLite: writes applied by the writer (with
//! their preconditions), reads for the admin API and start-up.

use rusqlite::{Connection, OptionalExtension, Row, params};
use takt_core::store::{CatalogVersion, CatalogWrite, Proposal, ProposalState, StoreError};

use super::unavailable;
use crate::catalog::{
    PROPOSAL_COLUMNS, VERSION_COLUMNS, changes, encode_changes, encode_files, files, kind,
    not_in_state, not_next, state,
};

/// Applies one catalog change inside the writer's transaction; `Ok(Err(reason))`
/// when its precondition does not hold (nothing was written by it).
pub(super) fn write(
    conn: &Connection,
    change: &CatalogWrite,
) -> Result<Result<(), String>, StoreError> {
    match change {
        CatalogWrite::Propose(p) => {
            let inserted = conn
                .execute(
                    "INSERT INTO catalog_proposals (id, title, base_version, changes, state, proposer, created_at_ms)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (id) DO NOTHING",
                    params![p.id, p.title, p.base_version, encode_changes(&p.changes)?, p.state.as_str(), p.proposer, p.created_at_ms],
                )
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
            let updated = conn
                .execute(
                    "UPDATE catalog_proposals SET state = ?3,
                        decided_by = coalesce(?4, decided_by), decided_at_ms = CASE WHEN ?4 IS NULL THEN decided_at_ms ELSE ?5 END,
                        comment = coalesce(?6, comment), activated_version = coalesce(?7, activated_version)
                     WHERE id = ?1 AND state = ?2",
                    params![id, from.as_str(), to.as_str(), by, at_ms, comment, version],
                )
                .map_err(unavailable)?;
            Ok(if updated == 1 {
                Ok(())
            } else {
                Err(not_in_state(*id, *from))
            })
        }
        CatalogWrite::Version(v) => {
            let newest: i64 = conn
                .query_row(
                    "SELECT coalesce(max(version), 0) FROM catalog_versions",
                    [],
                    |r| r.get(0),
                )
                .map_err(unavailable)?;
            if v.version != newest + 1 {
                return Ok(Err(not_next(v.version, newest)));
            }
            conn.execute(
                "INSERT INTO catalog_versions (version, kind, proposal, restores, principal, created_at_ms, note, digest, files)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                params![v.version, v.kind.as_str(), v.proposal, v.restores, v.principal, v.created_at_ms, v.note, v.digest, encode_files(&v.files)?],
            )
            .map_err(unavailable)?;
            Ok(Ok(()))
        }
    }
}

fn version_row(
    r: &Row<'_>,
    with_files: bool,
) -> rusqlite::Result<Result<CatalogVersion, StoreError>> {
    let kind_name: String = r.get(1)?;
    let files_text: Option<String> = if with_files { r.get(8)? } else { None };
    Ok((|| {
        Ok(CatalogVersion {
            version: r.get(0).map_err(unavailable)?,
            kind: kind(&kind_name)?,
            proposal: r.get(2).map_err(unavailable)?,
            restores: r.get(3).map_err(unavailable)?,
            principal: r.get(4).map_err(unavailable)?,
            created_at_ms: r.get(5).map_err(unavailable)?,
            note: r.get(6).map_err(unavailable)?,
            digest: r.get(7).map_err(unavailable)?,
            files: files_text
                .as_deref()
                .map(files)
                .transpose()?
                .unwrap_or_default(),
        })
    })())
}

pub(super) fn version(
    conn: &Connection,
    version: Option<i64>,
) -> Result<Option<CatalogVersion>, StoreError> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS}, files FROM catalog_versions
         WHERE version = coalesce(?1, (SELECT max(version) FROM catalog_versions))"
    );
    conn.query_row(&sql, [version], |r| version_row(r, true))
        .optional()
        .map_err(unavailable)?
        .transpose()
}

pub(super) fn history(conn: &Connection) -> Result<Vec<CatalogVersion>, StoreError> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM catalog_versions ORDER BY version DESC");
    let mut stmt = conn.prepare(&sql).map_err(unavailable)?;
    let rows = stmt
        .query_map([], |r| version_row(r, false))
        .map_err(unavailable)?;
    rows.map(|r| r.map_err(unavailable)?).collect()
}

fn proposal_row(r: &Row<'_>) -> rusqlite::Result<Result<Proposal, StoreError>> {
    let changes_text: String = r.get(3)?;
    let state_name: String = r.get(4)?;
    Ok((|| {
        Ok(Proposal {
            id: r.get(0).map_err(unavailable)?,
            title: r.get(1).map_err(unavailable)?,
            base_version: r.get(2).map_err(unavailable)?,
            changes: changes(&changes_text)?,
            state: state(&state_name)?,
            proposer: r.get(5).map_err(unavailable)?,
            created_at_ms: r.get(6).map_err(unavailable)?,
            decided_by: r.get(7).map_err(unavailable)?,
            decided_at_ms: r.get(8).map_err(unavailable)?,
            comment: r.get(9).map_err(unavailable)?,
            activated_version: r.get(10).map_err(unavailable)?,
        })
    })())
}

pub(super) fn proposal(conn: &Connection, id: i64) -> Result<Option<Proposal>, StoreError> {
    let sql = format!("SELECT {PROPOSAL_COLUMNS} FROM catalog_proposals WHERE id = ?1");
    conn.query_row(&sql, [id], proposal_row)
        .optional()
        .map_err(unavailable)?
        .transpose()
}

pub(super) fn proposals(
    conn: &Connection,
    state: Option<ProposalState>,
) -> Result<Vec<Proposal>, StoreError> {
    let sql = format!(
        "SELECT {PROPOSAL_COLUMNS} FROM catalog_proposals WHERE ?1 IS NULL OR state = ?1 ORDER BY id DESC"
    );
    let mut stmt = conn.prepare(&sql).map_err(unavailable)?;
    let rows = stmt
        .query_map([state.map(ProposalState::as_str)], proposal_row)
        .map_err(unavailable)?;
    rows.map(|r| r.map_err(unavailable)?).collect()
}
