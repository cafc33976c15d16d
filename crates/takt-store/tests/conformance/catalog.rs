//! The governed catalog: versions numbered without gaps, proposals whose
//! decisions hold only once, and a conflicting catalog write that takes
//! back its whole commit (audit entry included).

use std::collections::BTreeMap;
use std::sync::Arc;

use takt_core::store::{
    CatalogVersion, CatalogWrite, Commit, CommitOutcome, Proposal, ProposalState, Store,
    VersionKind,
};

fn catalog(changes: Vec<CatalogWrite>) -> Commit {
    Commit {
        catalog: changes,
        audit: vec![super::audit("catalog.test", "x")],
        ..Default::default()
    }
}

fn version(n: i64, content: &str) -> CatalogVersion {
    CatalogVersion {
        version: n,
        kind: if n == 1 {
            VersionKind::Imported
        } else {
            VersionKind::Activated
        },
        proposal: (n > 1).then_some(n - 1),
        restores: None,
        principal: "integration-admin".into(),
        created_at_ms: 1_000 + n,
        note: format!("version {n}"),
        digest: format!("digest-{n}"),
        files: BTreeMap::from([
            ("systems/erp.toml".into(), "name = \"erp\"\n".into()),
            ("interfaces/a.toml".into(), content.into()),
        ]),
    }
}

fn proposal(id: i64) -> Proposal {
    Proposal {
        id,
        title: format!("change {id}"),
        base_version: 1,
        changes: BTreeMap::from([
            ("interfaces/a.toml".into(), Some("name = \"a\"\n".into())),
            ("interfaces/old.toml".into(), None),
        ]),
        state: ProposalState::Proposed,
        proposer: "integration-admin".into(),
        created_at_ms: 2_000,
        decided_by: None,
        decided_at_ms: None,
        comment: None,
        activated_version: None,
    }
}

async fn committed(store: &dyn Store, changes: Vec<CatalogWrite>) -> CommitOutcome {
    store.commit(catalog(changes)).await.unwrap()
}

pub async fn catalog_versions_follow_each_other_without_gaps(store: Arc<dyn Store>) {
    assert_eq!(store.catalog_version(None).await.unwrap(), None);
    assert!(matches!(
        committed(&*store, vec![CatalogWrite::Version(version(1, "one"))]).await,
        CommitOutcome::Committed(_)
    ));
    // Skipping a number, or taking one already used, is refused.
    for taken_or_skipped in [1, 3] {
        let outcome = committed(
            &*store,
            vec![CatalogWrite::Version(version(taken_or_skipped, "x"))],
        )
        .await;
        assert!(
            matches!(&outcome, CommitOutcome::CatalogConflict { reason } if reason.contains("cannot follow version 1")),
            "{outcome:?}"
        );
    }
    committed(&*store, vec![CatalogWrite::Version(version(2, "two"))]).await;
    let active = store.catalog_version(None).await.unwrap().unwrap();
    assert_eq!(active, version(2, "two"));
    let first = store.catalog_version(Some(1)).await.unwrap().unwrap();
    assert_eq!(first, version(1, "one"));
    assert_eq!(store.catalog_version(Some(9)).await.unwrap(), None);
    let history = store.catalog_history().await.unwrap();
    let numbers: Vec<i64> = history.iter().map(|v| v.version).collect();
    assert_eq!(numbers, [2, 1]);
    assert!(
        history.iter().all(|v| v.files.is_empty()),
        "history lists no files"
    );
    assert_eq!(history[0].note, "version 2");
    assert_eq!(history[0].proposal, Some(1));
    // The two refusals wrote no audit entry: two commits, two entries.
    assert_eq!(store.audit_head().await.unwrap().seq, 2);
}

pub async fn proposals_are_decided_once(store: Arc<dyn Store>) {
    committed(&*store, vec![CatalogWrite::Propose(proposal(1))]).await;
    committed(&*store, vec![CatalogWrite::Propose(proposal(2))]).await;
    let taken = committed(&*store, vec![CatalogWrite::Propose(proposal(1))]).await;
    assert!(
        matches!(taken, CommitOutcome::CatalogConflict { .. }),
        "{taken:?}"
    );
    let decide = |id, from, to, by: &str| CatalogWrite::Decide {
        id,
        from,
        to,
        by: Some(by.into()),
        at_ms: 3_000,
        comment: Some("looks right".into()),
        version: None,
    };
    let approve = decide(
        1,
        ProposalState::Proposed,
        ProposalState::Approved,
        "quality-lead",
    );
    assert!(matches!(
        committed(&*store, vec![approve.clone()]).await,
        CommitOutcome::Committed(_)
    ));
    // The same decision again finds it no longer proposed.
    let again = committed(&*store, vec![approve]).await;
    assert!(
        matches!(&again, CommitOutcome::CatalogConflict { reason } if reason == "proposal 1 is no longer proposed"),
        "{again:?}"
    );
    // Activation: the decision and the version in one commit; a version
    // that cannot be stored takes the decision back with it.
    let activate = |v| CatalogWrite::Decide {
        id: 1,
        from: ProposalState::Approved,
        to: ProposalState::Activated,
        by: None,
        at_ms: 4_000,
        comment: None,
        version: Some(v),
    };
    let refused = committed(
        &*store,
        vec![activate(5), CatalogWrite::Version(version(5, "five"))],
    )
    .await;
    assert!(
        matches!(refused, CommitOutcome::CatalogConflict { .. }),
        "{refused:?}"
    );
    assert_eq!(
        store.catalog_proposal(1).await.unwrap().unwrap().state,
        ProposalState::Approved,
        "the refused commit took its decision back"
    );
    committed(
        &*store,
        vec![activate(1), CatalogWrite::Version(version(1, "one"))],
    )
    .await;
    let activated = store.catalog_proposal(1).await.unwrap().unwrap();
    assert_eq!(activated.state, ProposalState::Activated);
    assert_eq!(activated.activated_version, Some(1));
    assert_eq!(
        activated.decided_by.as_deref(),
        Some("quality-lead"),
        "kept from the approval"
    );
    assert_eq!(activated.decided_at_ms, Some(3_000));
    assert_eq!(activated.comment.as_deref(), Some("looks right"));
    assert_eq!(activated.changes, proposal(1).changes);
    let open = store
        .catalog_proposals(Some(ProposalState::Proposed))
        .await
        .unwrap();
    assert_eq!(open.iter().map(|p| p.id).collect::<Vec<_>>(), [2]);
    let all = store.catalog_proposals(None).await.unwrap();
    assert_eq!(all.iter().map(|p| p.id).collect::<Vec<_>>(), [2, 1]);
    assert_eq!(store.catalog_proposal(7).await.unwrap(), None);
}

pub async fn concurrent_activations_take_one_version_number(store: Arc<dyn Store>) {
    committed(&*store, vec![CatalogWrite::Version(version(1, "one"))]).await;
    let attempts = (0..8).map(|n| {
        let store = store.clone();
        tokio::spawn(async move {
            committed(
                &*store,
                vec![CatalogWrite::Version(version(2, &format!("two-{n}")))],
            )
            .await
        })
    });
    let mut stored = 0;
    for attempt in attempts {
        if matches!(attempt.await.unwrap(), CommitOutcome::Committed(_)) {
            stored += 1;
        }
    }
    assert_eq!(stored, 1);
    assert_eq!(store.catalog_history().await.unwrap().len(), 2);
}
