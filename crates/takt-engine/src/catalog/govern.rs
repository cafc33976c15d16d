//! The governed changes: propose, approve or reject, activate, roll back.
//! Each is audited, refusals included; each checks the principal's role
//! here, whatever the caller (admin API, tests) did before.

use std::sync::Arc;

use takt_core::audit::AuditDraft;
use takt_core::catalog::snapshot;
use takt_core::store::{
    CatalogChanges, CatalogFiles, CatalogVersion, CatalogWrite, Commit, CommitOutcome, Proposal,
    ProposalState, StoreError, VersionKind,
};
use takt_model::config::Role;

use super::Hub;
use crate::{Principal, Rejection};

/// What a proposal brings: the whole catalog as it should be (`files`,
/// e.g. a directory read by `takt catalog propose`), or only the `changes`
/// (`null` deletes a file); made against `base_version`, the active
/// version when absent.
#[derive(Debug, Clone, Default)]
pub struct ProposalInput {
    /// What it does, in one line.
    pub title: String,
    /// The whole catalog.
    pub files: Option<CatalogFiles>,
    /// Only what changes.
    pub changes: Option<CatalogChanges>,
    /// The version it was made against.
    pub base_version: Option<i64>,
}

/// A proposal with what it changes, for review.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ProposalDiff {
    /// The proposal.
    pub proposal: Proposal,
    /// Unified diff from its base version to the catalog it makes.
    pub diff: String,
    /// The active version now.
    pub active_version: i64,
    /// Changed files whose content in the active version is no longer that
    /// of the base: activation would be refused until it is proposed again.
    pub conflicts: Vec<String>,
}

fn forbidden(detail: String) -> Rejection {
    Rejection::Forbidden {
        detail,
        reasons: Vec::new(),
    }
}

fn require(who: &Principal, roles: &[Role], doing: &str) -> Result<(), Rejection> {
    if who.has_any_role(roles) {
        return Ok(());
    }
    let names: Vec<&str> = roles
        .iter()
        .map(|r| match r {
            Role::Admin => "admin",
            Role::Operator => "operator",
            Role::Approver => "approver",
        })
        .collect();
    Err(forbidden(format!(
        "{} cannot {doing}: it needs the role {}",
        who.name,
        names.join(" or ")
    )))
}

pub(super) fn store_failed(e: &StoreError) -> Rejection {
    tracing::error!(error = %e, "catalog change not recorded");
    Rejection::Unavailable {
        detail: "the hub cannot record catalog changes right now".into(),
        retry_after_secs: 5,
    }
}

impl Hub {
    fn audit(&self, who: &Principal, action: &str, target: String, outcome: String) -> AuditDraft {
        AuditDraft {
            at_ms: self.clock.now_ms(),
            principal: who.name.clone(),
            action: format!("catalog.{action}"),
            interface: None,
            outcome,
            message_id: Some(target),
        }
    }

    /// `result`, with a refusal recorded in the audit trail first (not a
    /// store failure: that could not be recorded either).
    async fn audited<T>(
        &self,
        who: &Principal,
        action: &str,
        target: String,
        result: Result<T, Rejection>,
    ) -> Result<T, Rejection> {
        match result {
            Err(why) if !matches!(why, Rejection::Unavailable { .. }) => {
                Err(self.refused(who, action, target, why).await)
            }
            other => other,
        }
    }

    /// Records a refused change in the audit trail, then returns the refusal.
    async fn refused(
        &self,
        who: &Principal,
        action: &str,
        target: String,
        why: Rejection,
    ) -> Rejection {
        let draft = self.audit(who, action, target, format!("rejected:{}", why.code()));
        let commit = Commit {
            audit: vec![draft],
            ..Commit::default()
        };
        if let Err(e) = self.store.commit(commit).await {
            tracing::warn!(error = %e, "a refused catalog change was not audited");
        }
        why
    }

    /// Writes `writes` with one audit entry; a precondition that no longer
    /// holds is a conflict.
    pub(super) async fn record(
        &self,
        writes: Vec<CatalogWrite>,
        audit: AuditDraft,
    ) -> Result<(), Rejection> {
        let commit = Commit {
            catalog: writes,
            audit: vec![audit],
            ..Commit::default()
        };
        match self.store.commit(commit).await {
            Ok(CommitOutcome::Committed(_)) => Ok(()),
            Ok(CommitOutcome::CatalogConflict { reason }) => {
                Err(Rejection::CatalogConflict(reason))
            }
            Ok(other) => Err(store_failed(&StoreError::Corrupt(format!(
                "unexpected outcome {other:?}"
            )))),
            Err(e) => Err(store_failed(&e)),
        }
    }

    async fn stored_version(&self, version: Option<i64>) -> Result<CatalogVersion, Rejection> {
        self.store
            .catalog_version(version)
            .await
            .map_err(|e| store_failed(&e))?
            .ok_or_else(|| match version {
                Some(v) => Rejection::NotFound(format!("there is no catalog version {v}")),
                None => Rejection::NotFound("there is no catalog version yet".into()),
            })
    }

    async fn stored_proposal(&self, id: i64) -> Result<Proposal, Rejection> {
        self.store
            .catalog_proposal(id)
            .await
            .map_err(|e| store_failed(&e))?
            .ok_or_else(|| Rejection::NotFound(format!("there is no proposal {id}")))
    }

    /// Records a proposal after checking that the catalog it makes loads.
    /// Needs the `admin` role.
    pub async fn propose(
        &self,
        who: &Principal,
        input: ProposalInput,
    ) -> Result<Proposal, Rejection> {
        let result = self.propose_checked(who, input).await;
        self.audited(who, "propose", "proposal".into(), result)
            .await
    }

    async fn propose_checked(
        &self,
        who: &Principal,
        input: ProposalInput,
    ) -> Result<Proposal, Rejection> {
        require(who, &[Role::Admin], "propose catalog changes")?;
        let title = input.title.trim().to_owned();
        if title.is_empty() {
            return Err(Rejection::BadRequest(
                "field `title`: say in one line what the change does".into(),
            ));
        }
        let base = match self.stored_version(input.base_version).await {
            Err(Rejection::NotFound(why)) if input.base_version.is_some() => {
                return Err(Rejection::BadRequest(format!(
                    "field `base_version`: {why}"
                )));
            }
            other => other?,
        };
        let (field, changes) = match (input.files, input.changes) {
            (Some(files), None) => ("files", snapshot::changes(&base.files, &files)),
            (None, Some(changes)) => ("changes", changes),
            _ => {
                return Err(Rejection::BadRequest(
                    "give either field `files` (the whole catalog) or field `changes` (path: content or null)".into(),
                ));
            }
        };
        if let Some(problem) = changes.keys().find_map(|p| snapshot::path_problem(p)) {
            return Err(Rejection::BadRequest(format!("field `{field}`: {problem}")));
        }
        let proposed = snapshot::apply(&base.files, &changes);
        let sizes = proposed.iter().map(|(p, c)| (p.as_str(), c.len()));
        if let Some(problem) = snapshot::files_problem(sizes) {
            return Err(Rejection::BadRequest(format!(
                "field `{field}`: the catalog would hold {problem}"
            )));
        }
        if proposed == base.files {
            return Err(Rejection::BadRequest(format!(
                "the proposal changes nothing: it is catalog version {} as it is",
                base.version
            )));
        }
        self.load(proposed).await?;
        // Ids are taken one above the highest; a race between instances is
        // a conflict the proposer repeats.
        let newest = self
            .store
            .catalog_proposals(None)
            .await
            .map_err(|e| store_failed(&e))?;
        let proposal = Proposal {
            id: newest.first().map_or(1, |p| p.id + 1),
            title,
            base_version: base.version,
            changes,
            state: ProposalState::Proposed,
            proposer: who.name.clone(),
            created_at_ms: self.clock.now_ms(),
            decided_by: None,
            decided_at_ms: None,
            comment: None,
            activated_version: None,
        };
        let audit = self.audit(
            who,
            "propose",
            format!("proposal:{}", proposal.id),
            "accepted".into(),
        );
        self.record(vec![CatalogWrite::Propose(proposal.clone())], audit)
            .await?;
        Ok(proposal)
    }

    /// Approves a proposal: needs the `approver` role, and someone other
    /// than the proposer.
    pub async fn approve(
        &self,
        who: &Principal,
        id: i64,
        comment: Option<String>,
    ) -> Result<Proposal, Rejection> {
        let result = self.decide(who, id, ProposalState::Approved, comment).await;
        self.audited(who, "approve", format!("proposal:{id}"), result)
            .await
    }

    /// Rejects a proposal: an approver, or its proposer withdrawing it.
    pub async fn reject(
        &self,
        who: &Principal,
        id: i64,
        reason: String,
    ) -> Result<Proposal, Rejection> {
        let result = if reason.trim().is_empty() {
            Err(Rejection::BadRequest(
                "field `reason`: say why the proposal is rejected".into(),
            ))
        } else {
            self.decide(who, id, ProposalState::Rejected, Some(reason))
                .await
        };
        self.audited(who, "reject", format!("proposal:{id}"), result)
            .await
    }

    async fn decide(
        &self,
        who: &Principal,
        id: i64,
        to: ProposalState,
        comment: Option<String>,
    ) -> Result<Proposal, Rejection> {
        let action = if to == ProposalState::Approved {
            "approve"
        } else {
            "reject"
        };
        let proposal = self.stored_proposal(id).await?;
        let withdrawal = to == ProposalState::Rejected && proposal.proposer == who.name;
        let allowed = if withdrawal {
            Ok(())
        } else {
            require(who, &[Role::Approver], &format!("{action} proposal {id}"))
        };
        let allowed = allowed.and_then(|()| {
            if to == ProposalState::Approved && proposal.proposer == who.name {
                Err(forbidden(format!(
                    "{} proposed proposal {id} and cannot approve it: another principal with the approver role must",
                    who.name
                )))
            } else if to == ProposalState::Approved && proposal.state != ProposalState::Proposed {
                Err(Rejection::CatalogConflict(format!(
                    "proposal {id} is {}, not proposed",
                    proposal.state.as_str()
                )))
            } else if !matches!(
                proposal.state,
                ProposalState::Proposed | ProposalState::Approved
            ) {
                // An approval can be taken back until activation.
                Err(Rejection::CatalogConflict(format!(
                    "proposal {id} is {}: only a proposed or approved one can be rejected",
                    proposal.state.as_str()
                )))
            } else {
                Ok(())
            }
        });
        allowed?;
        let at_ms = self.clock.now_ms();
        let write = CatalogWrite::Decide {
            id,
            from: proposal.state,
            to,
            by: Some(who.name.clone()),
            at_ms,
            comment: comment.clone(),
            version: None,
        };
        let audit = self.audit(who, action, format!("proposal:{id}"), "accepted".into());
        self.record(vec![write], audit).await?;
        Ok(Proposal {
            state: to,
            decided_by: Some(who.name.clone()),
            decided_at_ms: Some(at_ms),
            comment,
            ..proposal
        })
    }

    /// Every catalog version, newest first, without files.
    pub async fn history(&self) -> Result<Vec<CatalogVersion>, StoreError> {
        self.store.catalog_history().await
    }

    /// One catalog version with its files (the active one for `None`).
    pub async fn stored_catalog_version(
        &self,
        version: Option<i64>,
    ) -> Result<CatalogVersion, Rejection> {
        self.stored_version(version).await
    }

    /// Proposals, newest first, optionally only those in `state`.
    pub async fn proposals(
        &self,
        state: Option<ProposalState>,
    ) -> Result<Vec<Proposal>, StoreError> {
        self.store.catalog_proposals(state).await
    }

    /// What a proposal changes, and whether it still applies to the active version.
    pub async fn proposal_diff(&self, id: i64) -> Result<ProposalDiff, Rejection> {
        let proposal = self.stored_proposal(id).await?;
        let base = self.stored_version(Some(proposal.base_version)).await?;
        let active = self.stored_version(None).await?;
        let proposed = snapshot::apply(&base.files, &proposal.changes);
        let conflicts = if proposal.state == ProposalState::Activated {
            Vec::new()
        } else {
            snapshot::conflicts(&base.files, &active.files, &proposal.changes)
        };
        Ok(ProposalDiff {
            diff: snapshot::unified_diff(&base.files, &proposed),
            active_version: active.version,
            conflicts,
            proposal,
        })
    }

    /// Activates an approved proposal as the next catalog version, live.
    /// Needs the `admin` or `approver` role.
    pub async fn activate(
        self: &Arc<Self>,
        who: &Principal,
        id: i64,
    ) -> Result<CatalogVersion, Rejection> {
        // In a task of its own: a caller that goes away does not cut the
        // switch short (see `switch.rs`).
        let (hub, who) = (self.clone(), who.clone());
        tokio::spawn(async move {
            let result = hub.activate_now(&who, id).await;
            hub.audited(&who, "activate", format!("proposal:{id}"), result)
                .await
        })
        .await
        .map_err(|e| super::switch::interrupted(&e))?
    }

    async fn activate_now(&self, who: &Principal, id: i64) -> Result<CatalogVersion, Rejection> {
        require(
            who,
            &[Role::Admin, Role::Approver],
            "activate catalog changes",
        )?;
        let mut running = self.running.lock().await;
        let proposal = self.stored_proposal(id).await?;
        if proposal.state != ProposalState::Approved {
            let why = Rejection::CatalogConflict(match proposal.state {
                ProposalState::Proposed => format!(
                    "proposal {id} is not approved yet: a principal with the approver role other than {} must approve it first",
                    proposal.proposer
                ),
                state => format!("proposal {id} is {}", state.as_str()),
            });
            return Err(why);
        }
        let base = self.stored_version(Some(proposal.base_version)).await?;
        let active = self.stored_version(None).await?;
        let conflicts = snapshot::conflicts(&base.files, &active.files, &proposal.changes);
        if !conflicts.is_empty() {
            let why = Rejection::CatalogConflict(format!(
                "proposal {id} was made against version {} and version {} changed {} since: propose it again against the active version",
                base.version,
                active.version,
                conflicts.join(", ")
            ));
            return Err(why);
        }
        let files = snapshot::apply(&active.files, &proposal.changes);
        let version = CatalogVersion {
            version: active.version + 1,
            kind: VersionKind::Activated,
            proposal: Some(id),
            restores: None,
            principal: who.name.clone(),
            created_at_ms: self.clock.now_ms(),
            note: proposal.title.clone(),
            digest: snapshot::digest(&files),
            files,
        };
        let decision = CatalogWrite::Decide {
            id,
            from: ProposalState::Approved,
            to: ProposalState::Activated,
            by: None,
            at_ms: version.created_at_ms,
            comment: None,
            version: Some(version.version),
        };
        let audit = self.audit(
            who,
            "activate",
            format!("version:{}", version.version),
            format!("accepted:proposal:{id}"),
        );
        self.switch(&mut running, version, Some((vec![decision], audit)))
            .await
    }

    /// Activates a copy of an earlier version as the next version, live:
    /// the catalog it configured, exactly. Needs the `admin` or `approver` role.
    pub async fn rollback(
        self: &Arc<Self>,
        who: &Principal,
        to: i64,
        reason: String,
    ) -> Result<CatalogVersion, Rejection> {
        let (hub, who) = (self.clone(), who.clone());
        tokio::spawn(async move {
            let result = hub.rollback_now(&who, to, reason).await;
            hub.audited(&who, "rollback", format!("version:{to}"), result)
                .await
        })
        .await
        .map_err(|e| super::switch::interrupted(&e))?
    }

    async fn rollback_now(
        &self,
        who: &Principal,
        to: i64,
        reason: String,
    ) -> Result<CatalogVersion, Rejection> {
        require(who, &[Role::Admin, Role::Approver], "roll the catalog back")?;
        let mut running = self.running.lock().await;
        let earlier = self.stored_version(Some(to)).await?;
        let active = self.stored_version(None).await?;
        if earlier.digest == active.digest {
            let why = Rejection::CatalogConflict(format!(
                "version {} already configures what version {to} did: nothing to roll back",
                active.version
            ));
            return Err(why);
        }
        let reason = reason.trim();
        let version = CatalogVersion {
            version: active.version + 1,
            kind: VersionKind::RolledBack,
            proposal: None,
            restores: Some(to),
            principal: who.name.clone(),
            created_at_ms: self.clock.now_ms(),
            note: if reason.is_empty() {
                format!("rollback to version {to}")
            } else {
                format!("rollback to version {to}: {reason}")
            },
            digest: earlier.digest,
            files: earlier.files,
        };
        let audit = self.audit(
            who,
            "rollback",
            format!("version:{}", version.version),
            format!("accepted:restores:{to}"),
        );
        self.switch(&mut running, version, Some((Vec::new(), audit)))
            .await
    }
}
