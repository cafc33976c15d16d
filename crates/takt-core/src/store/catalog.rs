//! The governed catalog as the store keeps it: numbered catalog versions
//! (each a complete snapshot of the deployment's catalog files) and the
//! proposals that lead from one to the next.
//!
//! The newest version is the active one. Every change is a
//! [`CatalogWrite`] in a [`Commit`](super::Commit), written with its audit
//! entry; a write whose precondition no longer holds (another instance
//! decided the proposal first, or took the version number) makes the whole
//! commit a [`CommitOutcome::CatalogConflict`](super::CommitOutcome::CatalogConflict).

use std::collections::BTreeMap;

/// Catalog files by path relative to the deployment directory, e.g.
/// `interfaces/mes1010-production.toml`, with their UTF-8 content.
pub type CatalogFiles = BTreeMap<String, String>;

/// Changes a proposal makes: the new content of a path, or `None` to delete it.
pub type CatalogChanges = BTreeMap<String, Option<String>>;

/// How a catalog version came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionKind {
    /// The deployment directory, recorded when the store had no version yet.
    Imported,
    /// The deployment directory, adopted at start by the operator who
    /// started the hub (`takt serve --adopt`).
    Adopted,
    /// An approved proposal, activated.
    Activated,
    /// A copy of an earlier version (`takt catalog rollback`).
    RolledBack,
}

impl VersionKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Imported => "imported",
            Self::Adopted => "adopted",
            Self::Activated => "activated",
            Self::RolledBack => "rolled_back",
        }
    }

    /// The kind stored as `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Imported,
            Self::Adopted,
            Self::Activated,
            Self::RolledBack,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// One catalog version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CatalogVersion {
    /// 1, 2, 3, … without gaps; the highest is active.
    pub version: i64,
    /// How it came to be.
    pub kind: VersionKind,
    /// The proposal it activated ([`VersionKind::Activated`]).
    pub proposal: Option<i64>,
    /// The version it copies ([`VersionKind::RolledBack`]).
    pub restores: Option<i64>,
    /// Who made it active.
    pub principal: String,
    /// When, Unix milliseconds.
    pub created_at_ms: i64,
    /// A line about it (the proposal's title, a rollback's reason).
    pub note: String,
    /// SHA-256 over the files (see `takt_core::catalog::snapshot::digest`):
    /// two versions with the same digest configure the same catalog.
    pub digest: String,
    /// The files; empty in a history listing.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub files: CatalogFiles,
}

/// Where a proposal stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalState {
    /// Waiting for an approver.
    Proposed,
    /// Approved by an approver other than the proposer; may be activated.
    Approved,
    /// Refused by an approver, or withdrawn by its proposer.
    Rejected,
    /// Activated as a catalog version.
    Activated,
}

impl ProposalState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Activated => "activated",
        }
    }

    /// The state stored as `name`.
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Proposed,
            Self::Approved,
            Self::Rejected,
            Self::Activated,
        ]
        .into_iter()
        .find(|s| s.as_str() == name)
    }
}

/// A proposed change to the catalog: a diff against the version it was
/// made from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Proposal {
    /// 1, 2, 3, …
    pub id: i64,
    /// What it does, in one line.
    pub title: String,
    /// The catalog version the changes were made against.
    pub base_version: i64,
    /// The changed paths.
    pub changes: CatalogChanges,
    /// Where it stands.
    pub state: ProposalState,
    /// Who proposed it.
    pub proposer: String,
    /// When, Unix milliseconds.
    pub created_at_ms: i64,
    /// Who approved or rejected it.
    pub decided_by: Option<String>,
    /// When, Unix milliseconds.
    pub decided_at_ms: Option<i64>,
    /// The approver's comment or the rejection's reason.
    pub comment: Option<String>,
    /// The version it became, once activated.
    pub activated_version: Option<i64>,
}

/// A change to the governed catalog, applied in a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogWrite {
    /// Records a new proposal; its id must be unused.
    Propose(Proposal),
    /// Moves a proposal that is in state `from` to state `to`, recording
    /// who decided, when and why (for `Approved`/`Rejected`) or the
    /// version it became (`Activated`).
    Decide {
        /// The proposal.
        id: i64,
        /// The state it must be in.
        from: ProposalState,
        /// The state it moves to.
        to: ProposalState,
        /// Who decided (kept from the approval when activating).
        by: Option<String>,
        /// When.
        at_ms: i64,
        /// Why.
        comment: Option<String>,
        /// The version it became (`Activated`).
        version: Option<i64>,
    },
    /// Records a new catalog version, which must be exactly one above the
    /// newest stored (1 for the first).
    Version(CatalogVersion),
}
