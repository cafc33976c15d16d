//! The conformance suite every storage adapter must pass.
//!
//! Each check takes a fresh, empty store. `conformance_tests!(name, factory)`
//! turns every check into one `#[tokio::test]` for an adapter.

use std::collections::HashSet;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use takt_core::audit::AuditDraft;
use takt_core::audit::verify_store as verify_audit;
use takt_core::store::{
    Commit, CommitOutcome, EventOutcome, EventQuery, IdempotencyRecord, NewEvent, Store,
};

mod catalog;
mod delivery;

pub use catalog::*;
pub use delivery::*;

pub fn event(n: u32) -> NewEvent {
    NewEvent {
        id: format!("0193a3f0-6c2e-7b1a-9d4e-{n:012}"),
        source: "urn:takt:site:1010:mes:mes01".into(),
        contract: "mfg.material.consumed.v1".into(),
        dataschema: "urn:takt:schema:mfg.material.consumed.v1:1.0".into(),
        site: "1010".into(),
        subject: format!("productionorder/1010/{}", 100 + n % 3),
        partition_key: format!("1010/{}", 100 + n % 3),
        interface: if n.is_multiple_of(2) {
            "mes1010-consumption".into()
        } else {
            "mes1010-confirmation".into()
        },
        principal: "mes-plant1010".into(),
        accepted_at_ms: 1_764_000_000_000 + i64::from(n),
        business_keys: vec![
            ("lot".into(), format!("L{n}")),
            ("order".into(), format!("{}", 100 + n % 3)),
        ],
        body: format!("{{\"n\":{n}}}").into_bytes(),
    }
}

/// How many events the store holds (up to 10,000).
pub async fn stored_count(store: &dyn Store) -> i64 {
    let events = store
        .events(EventQuery {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap();
    i64::try_from(events.len()).unwrap()
}

pub fn audit(action: &str, id: &str) -> AuditDraft {
    AuditDraft {
        at_ms: 1_764_000_000_000,
        principal: "mes-plant1010".into(),
        action: action.into(),
        interface: Some("mes1010-consumption".into()),
        outcome: "accepted".into(),
        message_id: Some(id.into()),
    }
}

pub fn record(key: &str, body: &[u8], now: i64) -> IdempotencyRecord {
    IdempotencyRecord {
        principal: "mes-plant1010".into(),
        key: key.into(),
        request_hash: Sha256::digest(body).into(),
        status: 202,
        response: b"{\"status\":\"accepted\"}".to_vec(),
        created_at_ms: now,
        expires_at_ms: now + 86_400_000,
    }
}

pub fn ingest(n: u32) -> Commit {
    let e = event(n);
    Commit {
        audit: vec![audit("event.ingest", &e.id)],
        events: vec![e],
        ..Default::default()
    }
}

pub async fn stores_events_in_order_and_reads_them_back(store: Arc<dyn Store>) {
    assert!(
        store.accepts_commits(),
        "a freshly opened store takes commits"
    );
    for n in 0..10 {
        assert_eq!(
            store.commit(ingest(n)).await.unwrap(),
            CommitOutcome::Committed(vec![EventOutcome::Stored(i64::from(n) + 1)])
        );
    }
    let third = store.event(&event(2).id).await.unwrap().unwrap();
    assert_eq!((third.seq, &third.event), (3, &event(2)));
    assert!(store.event("no-such-id").await.unwrap().is_none());
    assert_eq!(store.event_at(3).await.unwrap(), Some(third.clone()));
    assert_eq!(store.event_at(99).await.unwrap(), None);
    let picked = store.events_at(vec![7, 3, 99, 3]).await.unwrap();
    assert_eq!(picked.iter().map(|e| e.seq).collect::<Vec<_>>(), [3, 7]);
    assert_eq!(picked[0], third);
    assert!(store.events_at(Vec::new()).await.unwrap().is_empty());

    let page = |after_seq, limit| EventQuery {
        after_seq,
        limit,
        ..Default::default()
    };
    let first = store.events(page(0, 4)).await.unwrap();
    assert_eq!(
        first.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [1, 2, 3, 4]
    );
    let next = store.events(page(4, 4)).await.unwrap();
    assert_eq!(next.iter().map(|e| e.seq).collect::<Vec<_>>(), [5, 6, 7, 8]);

    let by_interface = store
        .events(EventQuery {
            interface: Some("mes1010-confirmation".into()),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_interface.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [2, 4, 6, 8, 10]
    );
    let by_order = store
        .events(EventQuery {
            business_key: Some(("order".into(), "101".into())),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        by_order.iter().map(|e| e.seq).collect::<Vec<_>>(),
        [2, 5, 8]
    );
    let by_lot = store
        .events(EventQuery {
            business_key: Some(("lot".into(), "L7".into())),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_lot.len(), 1);
    assert_eq!(by_lot[0].event, event(7));
}

pub async fn deduplicates_on_source_and_id(store: Arc<dyn Store>) {
    store.commit(ingest(1)).await.unwrap();
    // A retry of the same event, alongside a new one.
    let mut again = ingest(1);
    again.events.push(event(2));
    assert_eq!(
        store.commit(again).await.unwrap(),
        CommitOutcome::Committed(vec![
            EventOutcome::AlreadyStored(1),
            EventOutcome::Stored(2)
        ])
    );
    // The same source and id with other content: refused, and nothing of that commit is kept.
    let mut conflicting = ingest(3);
    let mut changed = event(1);
    changed.body = b"different".to_vec();
    conflicting.events.push(changed);
    assert_eq!(
        store.commit(conflicting).await.unwrap(),
        CommitOutcome::EventConflict { id: event(1).id }
    );
    assert!(
        store.event(&event(3).id).await.unwrap().is_none(),
        "the whole commit is rolled back"
    );
    assert_eq!(
        store.event(&event(1).id).await.unwrap().unwrap().event.body,
        event(1).body
    );
    assert_eq!(
        verify_audit(store.as_ref()).await.unwrap(),
        2,
        "the refused commit's audit entry is rolled back too"
    );
    // Another source may use the same id.
    let mut other_source = ingest(1);
    other_source.events[0].source = "urn:takt:site:2020:mes:mes02".into();
    assert!(
        matches!(store.commit(other_source).await.unwrap(), CommitOutcome::Committed(outcomes) if matches!(outcomes[0], EventOutcome::Stored(_)))
    );
}

pub async fn idempotency_keys_replay_refuse_and_expire(store: Arc<dyn Store>) {
    let now = 1_764_000_000_000;
    let mut first = ingest(1);
    first.idempotency = Some(record("key-1", b"body-a", now));
    assert!(matches!(
        store.commit(first).await.unwrap(),
        CommitOutcome::Committed(_)
    ));

    let mut replay = ingest(2);
    replay.idempotency = Some(record("key-1", b"body-a", now + 1_000));
    let CommitOutcome::Replay(answer) = store.commit(replay).await.unwrap() else {
        panic!("expected a replay")
    };
    assert_eq!((answer.status, answer.created_at_ms), (202, now));
    assert!(
        store.event(&event(2).id).await.unwrap().is_none(),
        "a replay stores nothing"
    );
    // The answer can be read without committing (sync commands look first).
    let known = store.idempotency_record("mes-plant1010", "key-1", now + 1_000);
    assert_eq!(known.await.unwrap(), Some(answer));
    let unknown = store.idempotency_record("mes-plant1010", "key-2", now);
    assert_eq!(unknown.await.unwrap(), None);
    let other_principal = store.idempotency_record("another-principal", "key-1", now);
    assert_eq!(
        other_principal.await.unwrap(),
        None,
        "keys are per principal"
    );
    let expired = store.idempotency_record("mes-plant1010", "key-1", now + 86_400_001);
    assert_eq!(expired.await.unwrap(), None, "an expired key is forgotten");

    let mut reused = ingest(3);
    reused.idempotency = Some(record("key-1", b"body-b", now + 2_000));
    assert!(matches!(
        store.commit(reused).await.unwrap(),
        CommitOutcome::KeyReused(_)
    ));
    assert!(store.event(&event(3).id).await.unwrap().is_none());

    // The refused body did not replace the first one: body-a still replays.
    let mut seen = ingest(5);
    seen.idempotency = Some(record("key-1", b"body-a", now + 3_000));
    assert!(matches!(
        store.commit(seen).await.unwrap(),
        CommitOutcome::Replay(first) if first.request_hash == record("key-1", b"body-a", 0).request_hash
    ));

    let mut other = ingest(6);
    other.idempotency = Some(IdempotencyRecord {
        principal: "another-principal".into(),
        ..record("key-1", b"body-b", now)
    });
    assert!(
        matches!(
            store.commit(other).await.unwrap(),
            CommitOutcome::Committed(_)
        ),
        "keys are scoped per principal"
    );

    let after_expiry = now + 86_400_000 + 1;
    let mut reuse_after_expiry = ingest(4);
    reuse_after_expiry.idempotency = Some(record("key-1", b"body-c", after_expiry));
    assert!(matches!(
        store.commit(reuse_after_expiry).await.unwrap(),
        CommitOutcome::Committed(_)
    ));
    assert_eq!(
        store
            .purge_idempotency(after_expiry + 86_400_000 + 1)
            .await
            .unwrap(),
        2,
        "another-principal's record, and the one that replaced the expired key-1"
    );
    // Only the three commits that stored something wrote their audit entries:
    // replays and refusals are audited by the gateway, truthfully.
    assert_eq!(verify_audit(store.as_ref()).await.unwrap(), 3);
}

pub async fn concurrent_commits_with_one_key_store_once(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for n in 0..40 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut commit = ingest(n);
            commit.idempotency = Some(record("same-key", b"same-body", 1_764_000_000_000));
            store.commit(commit).await.unwrap()
        }));
    }
    let mut committed = 0;
    for task in tasks {
        match task.await.unwrap() {
            CommitOutcome::Committed(_) => committed += 1,
            CommitOutcome::Replay(_) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(committed, 1);
    assert_eq!(
        store
            .events(EventQuery {
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        1
    );
}

pub async fn many_concurrent_commits_are_all_stored_once(store: Arc<dyn Store>) {
    let mut tasks = Vec::new();
    for n in 0..300 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store.commit(ingest(n)).await.unwrap()
        }));
    }
    let mut seqs = HashSet::new();
    for task in tasks {
        let CommitOutcome::Committed(outcomes) = task.await.unwrap() else {
            panic!("not committed")
        };
        let [EventOutcome::Stored(seq)] = outcomes.as_slice() else {
            panic!("not stored: {outcomes:?}")
        };
        assert!(seqs.insert(*seq), "seq {seq} given twice");
    }
    assert_eq!(stored_count(store.as_ref()).await, 300);
    assert_eq!(verify_audit(store.as_ref()).await.unwrap(), 300);
}

/// Commits sent together share a group commit; one of them conflicts after
/// it has written an event. Only that commit is taken back.
pub async fn a_conflict_in_a_shared_batch_takes_back_only_its_commit(store: Arc<dyn Store>) {
    store.commit(ingest(1)).await.unwrap();
    let mut tasks = Vec::new();
    for n in 10..70u32 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut commit = ingest(n);
            if n % 10 == 5 {
                // A new event first, then an old id with other content.
                let mut changed = event(1);
                changed.body = format!("{{\"changed\":{n}}}").into_bytes();
                commit.events.push(changed);
            }
            (n, store.commit(commit).await.unwrap())
        }));
    }
    let mut accepted = 1;
    for task in tasks {
        let (n, outcome) = task.await.unwrap();
        if n % 10 == 5 {
            assert_eq!(outcome, CommitOutcome::EventConflict { id: event(1).id });
            assert!(
                store.event(&event(n).id).await.unwrap().is_none(),
                "{n} kept"
            );
        } else {
            assert!(
                matches!(outcome, CommitOutcome::Committed(_)),
                "{n}: {outcome:?}"
            );
            assert!(
                store.event(&event(n).id).await.unwrap().is_some(),
                "{n} lost"
            );
            accepted += 1;
        }
    }
    assert_eq!(accepted, 55);
    assert_eq!(verify_audit(store.as_ref()).await.unwrap(), accepted);
    assert_eq!(stored_count(store.as_ref()).await, accepted);
}

pub async fn audit_chain_spans_commits(store: Arc<dyn Store>) {
    let rejected = Commit {
        audit: vec![AuditDraft {
            outcome: "rejected:403".into(),
            ..audit("event.ingest", "x")
        }],
        ..Default::default()
    };
    assert_eq!(
        store.commit(rejected).await.unwrap(),
        CommitOutcome::Committed(vec![])
    );
    store.commit(ingest(1)).await.unwrap();
    let entries = store.audit_entries(1, 10).await.unwrap();
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[0].draft.outcome, "rejected:403");
    assert_eq!(entries[1].prev_hash, entries[0].hash);
    let head = store.audit_head().await.unwrap();
    assert_eq!((head.seq, head.hash), (2, entries[1].hash));
    assert_eq!(verify_audit(store.as_ref()).await.unwrap(), 2);
}

/// The log head is the highest position stored; the size grows as events are stored.
pub async fn the_log_head_and_size_grow_with_commits(store: Arc<dyn Store>) {
    assert_eq!(store.log_head().await.unwrap(), 0, "an empty log");
    let empty = store.size_bytes().await.unwrap();
    for n in 0..200 {
        store.commit(ingest(n)).await.unwrap();
    }
    assert_eq!(store.log_head().await.unwrap(), 200);
    let grown = store.size_bytes().await.unwrap();
    assert!(
        grown > empty,
        "{grown} bytes after 200 events, {empty} before"
    );
}

/// Readiness reads who sent a contract since a time, per principal,
/// interface and schema, with counts and the last time.
pub async fn contract_usage_counts_senders_per_interface_and_schema(store: Arc<dyn Store>) {
    let mut events: Vec<NewEvent> = (1..=5).map(event).collect();
    events[3].principal = "mes-plant2020".into();
    events[4].dataschema = "urn:takt:schema:mfg.material.consumed.v1:1.1".into();
    store
        .commit(Commit {
            events,
            ..Commit::default()
        })
        .await
        .unwrap();
    let since = 1_764_000_000_000 + 2;
    let usage = store
        .contract_usage("mfg.material.consumed.v1", since)
        .await
        .unwrap();
    let rows: Vec<_> = usage
        .iter()
        .map(|u| {
            let version = u.dataschema.rsplit(':').next().unwrap();
            let at = u.last_seen_ms - 1_764_000_000_000;
            (
                u.principal.as_str(),
                u.interface.as_str(),
                version,
                u.count,
                at,
            )
        })
        .collect();
    assert_eq!(
        rows,
        [
            ("mes-plant1010", "mes1010-confirmation", "1.0", 1, 3),
            ("mes-plant1010", "mes1010-confirmation", "1.1", 1, 5),
            ("mes-plant1010", "mes1010-consumption", "1.0", 1, 2),
            ("mes-plant2020", "mes1010-consumption", "1.0", 1, 4),
        ],
        "events 2..=5, grouped; event 1 is before `since`"
    );
    assert!(
        store
            .contract_usage("mfg.operation.completed.v1", 0)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Declares one test per conformance check for an adapter: `conformance_tests!(module_name, factory)`,
/// where `factory()` returns a fresh empty `Arc<dyn Store>`. A new check is
/// added to the list below once, and runs against every adapter.
#[macro_export]
macro_rules! conformance_tests {
    ($adapter:ident, $factory:expr) => {
        $crate::conformance_tests!(@each $adapter, $factory, [
            stores_events_in_order_and_reads_them_back,
            deduplicates_on_source_and_id,
            idempotency_keys_replay_refuse_and_expire,
            concurrent_commits_with_one_key_store_once,
            many_concurrent_commits_are_all_stored_once,
            a_conflict_in_a_shared_batch_takes_back_only_its_commit,
            audit_chain_spans_commits,
            delivery_cursor_only_moves_forward,
            delivery_records_are_replaced_and_filtered,
            due_heads_respect_key_order,
            delivery_attempts_and_counts_are_kept,
            the_log_head_and_size_grow_with_commits,
            contract_usage_counts_senders_per_interface_and_schema,
            catalog_versions_follow_each_other_without_gaps,
            proposals_are_decided_once,
            concurrent_activations_take_one_version_number,
        ]);
    };
    (@each $adapter:ident, $factory:expr, [$($check:ident),* $(,)?]) => {
        mod $adapter {
            use super::conformance as c;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    c::$check($factory().await).await
                }
            )*
        }
    };
}
