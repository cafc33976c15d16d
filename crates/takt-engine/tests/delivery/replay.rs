//! Replay over real HTTP to the simulated ERP (one that does not
//! de-duplicate, so every post shows): delivered messages go out once more,
//! marked, with their idempotency keys, in order per key and before later
//! messages of their key; the selection narrows by type, time and business
//! key; messages the operator owns (dead letters) are left alone.

use std::time::Duration;

use takt_core::store::Store;
use takt_engine::delivery::{DeliveryError, ReplaySelection, ReplayState, ReplayStatus};
use takt_testkit::{Erp, Fault, eventually};

use crate::hub::{Hub, WAIT, config, eventually_async, numbers_of, postings};

/// Starts a replay and waits until its job is done.
async fn replay(hub: &Hub, selection: ReplaySelection) -> ReplayStatus {
    let engine = hub.engine();
    let started = engine
        .replay("erp-postings", selection, "ops-anna")
        .await
        .unwrap();
    assert_eq!(
        started.head,
        hub.store_head().await,
        "the job scans up to the log's head"
    );
    let done = eventually(WAIT, || {
        engine.replay_status(&started.id).unwrap().state != ReplayState::Running
    })
    .await;
    assert!(done, "the job ends");
    engine.replay_status(&started.id).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delivered_messages_go_out_again_marked_in_order_and_before_later_ones() {
    let erp = Erp::start(false).await;
    let mut hub = Hub::new(config(&erp.url(), true, "")).await;
    hub.accept(&["A", "B", "A", "A", "B"]).await;
    assert!(eventually(WAIT, || erp.effects().len() == 5).await);

    let status = replay(&hub, ReplaySelection::default()).await;
    assert_eq!(status.state, ReplayState::Done);
    assert_eq!((status.matched, status.replayed, status.skipped), (5, 5, 0));
    hub.accept(&["A"]).await;
    assert!(
        eventually(WAIT, || erp.effects().len() == 11).await,
        "{}",
        erp.effects().len()
    );

    let all = postings(&erp);
    assert_eq!(
        numbers_of(&all, "A"),
        [1, 3, 4, 1, 3, 4, 6],
        "replayed in order, before the later one"
    );
    assert_eq!(numbers_of(&all, "B"), [2, 5, 2, 5]);
    let attempts = erp.attempts();
    let replayed: Vec<_> = attempts
        .iter()
        .filter(|a| a.headers.get("takt-replay").is_some_and(|v| v == "true"))
        .collect();
    assert_eq!(replayed.len(), 5, "every replayed post is marked, no other");
    for attempt in &replayed {
        assert_eq!(
            attempt.headers["idempotency-key"], attempt.body["id"],
            "the key is unchanged"
        );
    }
    let audit = hub.store.audit_entries(1, 1000).await.unwrap();
    let audited = audit
        .iter()
        .filter(|e| e.draft.action == "delivery.replay" && e.draft.principal == "ops-anna")
        .count();
    assert_eq!(audited, 5, "each replayed message is audited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_selection_narrows_by_time_business_key_and_type_and_leaves_dead_letters_alone() {
    let erp = Erp::start(false).await;
    erp.fail_matching("\"n\":2,", Fault::Status(422), 1);
    let mut hub = Hub::new(config(&erp.url(), true, "")).await;
    hub.accept(&["A", "B", "A", "B", "A"]).await;
    let settled = eventually_async(WAIT, || async {
        erp.effects().len() == 4
            && !hub
                .records(takt_core::store::DeliveryState::DeadLettered)
                .await
                .is_empty()
    })
    .await;
    assert!(settled, "four delivered, number 2 dead-lettered");

    // Accepted times are 1_764_000_000_000 + n: [n=3, n=5) is 3 and 4.
    let base = 1_764_000_000_000;
    let by_time = ReplaySelection {
        from_ms: Some(base + 3),
        to_ms: Some(base + 5),
        ..ReplaySelection::default()
    };
    let status = replay(&hub, by_time).await;
    assert_eq!((status.matched, status.replayed), (2, 2));
    assert!(eventually(WAIT, || erp.effects().len() == 6).await);

    let by_key = ReplaySelection {
        business_key: Some(("order".into(), "B".into())),
        ..ReplaySelection::default()
    };
    let status = replay(&hub, by_key).await;
    assert_eq!(
        (status.matched, status.replayed, status.skipped),
        (2, 1, 1),
        "the dead letter is the operator's"
    );
    assert!(eventually(WAIT, || erp.effects().len() == 7).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut numbers: Vec<u64> = postings(&erp).iter().map(|(_, n)| *n).collect();
    // The time range's two messages have different keys: either may go first.
    numbers[4..6].sort_unstable();
    assert_eq!(
        numbers[4..],
        [3, 4, 4],
        "time range, then order B without its dead letter"
    );

    let wrong_type = ReplaySelection {
        types: vec!["mfg.operation.completed.v1".into()],
        ..ReplaySelection::default()
    };
    let refused = hub.engine().replay("erp-postings", wrong_type, "ops").await;
    assert!(
        matches!(refused, Err(DeliveryError::BadReplay { ref field, .. }) if field == "types"),
        "{refused:?}"
    );
    let backwards = ReplaySelection {
        from_ms: Some(base + 5),
        to_ms: Some(base + 3),
        ..ReplaySelection::default()
    };
    let refused = hub.engine().replay("erp-postings", backwards, "ops").await;
    assert!(
        matches!(refused, Err(DeliveryError::BadReplay { ref field, .. }) if field == "to"),
        "{refused:?}"
    );
}
