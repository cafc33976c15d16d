//! What both adapters share for the governed catalog: encoding files and
//! changes as JSON columns, and decoding stored names.

use takt_core::store::{CatalogChanges, CatalogFiles, ProposalState, StoreError, VersionKind};

/// The JSON text of a version's files.
pub(crate) fn encode_files(value: &CatalogFiles) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// The JSON text of a proposal's changes.
pub(crate) fn encode_changes(value: &CatalogChanges) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// A version's files from their JSON column.
pub(crate) fn files(text: &str) -> Result<CatalogFiles, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("stored catalog files: {e}")))
}

/// A proposal's changes from their JSON column.
pub(crate) fn changes(text: &str) -> Result<CatalogChanges, StoreError> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt(format!("stored proposal changes: {e}")))
}

pub(crate) fn kind(name: &str) -> Result<VersionKind, StoreError> {
    VersionKind::parse(name)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown catalog version kind {name:?}")))
}

pub(crate) fn state(name: &str) -> Result<ProposalState, StoreError> {
    ProposalState::parse(name)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown proposal state {name:?}")))
}

/// The conflict reported when a proposal is not in the state a decision expects.
pub(crate) fn not_in_state(id: i64, from: ProposalState) -> String {
    format!("proposal {id} is no longer {}", from.as_str())
}

/// The conflict reported when a version is not the next one.
pub(crate) fn not_next(version: i64, newest: i64) -> String {
    format!(
        "catalog version {version} cannot follow version {newest}: another change was activated meanwhile"
    )
}

/// Columns of `catalog_versions`, files last.
pub(crate) const VERSION_COLUMNS: &str =
    "version, kind, proposal, restores, principal, created_at_ms, note, digest";

/// Columns of `catalog_proposals`.
pub(crate) const PROPOSAL_COLUMNS: &str = "id, title, base_version, changes, state, proposer, created_at_ms, decided_by, decided_at_ms, comment, activated_version";
