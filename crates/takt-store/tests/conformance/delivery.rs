//! Delivery state: cursors, records, attempts, and the due-head query the
//! delivery workers rely on for per-key order.

use std::sync::Arc;

use takt_core::store::{
    AttemptRecord, Commit, DeliveryQuery, DeliveryRecord, DeliveryState, DeliveryWrite, Store,
};

const SUB: &str = "erp-goods-movements";

fn delivery(changes: Vec<DeliveryWrite>) -> Commit {
    Commit {
        delivery: changes,
        ..Default::default()
    }
}

/// A record of event `seq` on [`SUB`], ordering key `key`, in `state`.
pub fn delivery_record(seq: i64, key: &str, state: DeliveryState) -> DeliveryRecord {
    DeliveryRecord {
        subscription: SUB.into(),
        seq,
        event_id: format!("evt-{seq}"),
        contract: "mfg.material.consumed.v1".into(),
        site: if seq % 2 == 0 { "1010" } else { "2020" }.into(),
        key: key.into(),
        state,
        holds_key: matches!(state, DeliveryState::Pending | DeliveryState::InFlight),
        attempts: 1,
        attempt_base: 0,
        next_attempt_at_ms: 1_000,
        reason: "the destination answered 503".into(),
        last_status: Some(503),
        last_response: "{\"error\":\"busy\"}".into(),
        accepted_at_ms: 100 + seq,
        updated_at_ms: 500 + seq,
        replay: seq % 3 == 0,
    }
}

fn seqs(records: &[DeliveryRecord]) -> Vec<i64> {
    records.iter().map(|r| r.seq).collect()
}

/// The positions a query finds (up to 100 unless it sets a limit).
async fn query(store: &dyn Store, q: DeliveryQuery) -> Vec<i64> {
    let limit = if q.limit == 0 { 100 } else { q.limit };
    seqs(
        &store
            .deliveries(DeliveryQuery { limit, ..q })
            .await
            .unwrap(),
    )
}

pub async fn delivery_cursor_only_moves_forward(store: Arc<dyn Store>) {
    assert_eq!(
        store.delivery_cursor(SUB).await.unwrap(),
        0,
        "a new subscription starts at 0"
    );
    let cursor = |seq| DeliveryWrite::Cursor {
        subscription: SUB.into(),
        seq,
    };
    store.commit(delivery(vec![cursor(7)])).await.unwrap();
    store.commit(delivery(vec![cursor(3)])).await.unwrap();
    assert_eq!(
        store.delivery_cursor(SUB).await.unwrap(),
        7,
        "a cursor never moves back"
    );
    store.commit(delivery(vec![cursor(12)])).await.unwrap();
    assert_eq!(store.delivery_cursor(SUB).await.unwrap(), 12);
    assert_eq!(
        store.delivery_cursor("other").await.unwrap(),
        0,
        "cursors are per subscription"
    );
}

pub async fn delivery_records_are_replaced_and_filtered(store: Arc<dyn Store>) {
    let writes = vec![
        DeliveryWrite::Record(delivery_record(1, "A", DeliveryState::DeadLettered)),
        DeliveryWrite::Record(delivery_record(2, "B", DeliveryState::Pending)),
        DeliveryWrite::Record(DeliveryRecord {
            reason: "the destination refused the message with 422".into(),
            ..delivery_record(3, "A", DeliveryState::DeadLettered)
        }),
        DeliveryWrite::Record(DeliveryRecord {
            subscription: "wms-issues".into(),
            ..delivery_record(4, "C", DeliveryState::InDoubt)
        }),
    ];
    store.commit(delivery(writes)).await.unwrap();
    let all = store
        .deliveries(DeliveryQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        all[2],
        DeliveryRecord {
            reason: "the destination refused the message with 422".into(),
            ..delivery_record(3, "A", DeliveryState::DeadLettered)
        },
        "a record reads back exactly as written"
    );
    assert_eq!(seqs(&all), [1, 2, 3, 4]);

    let dead = DeliveryQuery {
        states: vec![DeliveryState::DeadLettered, DeliveryState::InDoubt],
        ..Default::default()
    };
    assert_eq!(query(store.as_ref(), dead.clone()).await, [1, 3, 4]);
    let ours = DeliveryQuery {
        subscription: Some(SUB.into()),
        ..dead.clone()
    };
    assert_eq!(query(store.as_ref(), ours.clone()).await, [1, 3]);
    assert_eq!(
        query(
            store.as_ref(),
            DeliveryQuery {
                site: Some("2020".into()),
                ..ours.clone()
            }
        )
        .await,
        [1, 3]
    );
    assert_eq!(
        query(
            store.as_ref(),
            DeliveryQuery {
                key: Some("B".into()),
                ..Default::default()
            }
        )
        .await,
        [2]
    );
    assert_eq!(
        query(
            store.as_ref(),
            DeliveryQuery {
                reason_contains: Some("422".into()),
                ..Default::default()
            }
        )
        .await,
        [3]
    );
    assert_eq!(
        query(
            store.as_ref(),
            DeliveryQuery {
                updated_before_ms: Some(502),
                ..Default::default()
            }
        )
        .await,
        [1, 2]
    );
    assert_eq!(
        query(
            store.as_ref(),
            DeliveryQuery {
                contract: Some("other".into()),
                ..Default::default()
            }
        )
        .await,
        Vec::<i64>::new()
    );
    assert_eq!(
        query(
            store.as_ref(),
            DeliveryQuery {
                after_seq: 2,
                limit: 1,
                ..Default::default()
            }
        )
        .await,
        [3],
        "pages by position"
    );

    // Replacing a record (a redrive) changes its state in place.
    let redriven = DeliveryRecord {
        attempt_base: 1,
        next_attempt_at_ms: 2_000,
        ..delivery_record(1, "A", DeliveryState::Pending)
    };
    store
        .commit(delivery(vec![DeliveryWrite::Record(redriven.clone())]))
        .await
        .unwrap();
    assert_eq!(query(store.as_ref(), ours).await, [3]);
    let again = store
        .deliveries(DeliveryQuery {
            key: Some("A".into()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(again, [redriven]);
}

pub async fn due_heads_respect_key_order(store: Arc<dyn Store>) {
    let writes = vec![
        // Key A: 1 waits for a retry at 5,000; 4 waits behind it.
        DeliveryWrite::Record(DeliveryRecord {
            next_attempt_at_ms: 5_000,
            ..delivery_record(1, "A", DeliveryState::Pending)
        }),
        DeliveryWrite::Record(DeliveryRecord {
            next_attempt_at_ms: 0,
            ..delivery_record(4, "A", DeliveryState::Pending)
        }),
        // Key B: 2 is dead-lettered and parks the key; 5 waits behind it.
        DeliveryWrite::Record(DeliveryRecord {
            holds_key: true,
            ..delivery_record(2, "B", DeliveryState::DeadLettered)
        }),
        DeliveryWrite::Record(delivery_record(5, "B", DeliveryState::Pending)),
        // Key C: 3 is dead-lettered without parking; 6 may go.
        DeliveryWrite::Record(delivery_record(3, "C", DeliveryState::DeadLettered)),
        DeliveryWrite::Record(delivery_record(6, "C", DeliveryState::Pending)),
    ];
    store.commit(delivery(writes)).await.unwrap();
    let holding = DeliveryQuery {
        only_holding: true,
        ..Default::default()
    };
    assert_eq!(
        query(store.as_ref(), holding).await,
        [1, 2, 4, 5, 6],
        "3 is dead-lettered without parking its key"
    );
    let three = store.delivery_record(SUB, 3).await.unwrap().unwrap();
    assert_eq!(
        (three.key.as_str(), three.state),
        ("C", DeliveryState::DeadLettered)
    );
    assert_eq!(store.delivery_record(SUB, 99).await.unwrap(), None);
    assert_eq!(store.delivery_record("other", 3).await.unwrap(), None);
    let due = |at| DeliveryQuery {
        subscription: Some(SUB.into()),
        due_heads_at_ms: Some(at),
        ..Default::default()
    };
    assert_eq!(
        query(store.as_ref(), due(1_000)).await,
        [6],
        "only C's head is due; A's head waits for its retry"
    );
    assert_eq!(
        query(store.as_ref(), due(5_000)).await,
        [1, 6],
        "A's head is due, 4 still waits behind it"
    );

    // A's head is delivered: 4 becomes A's head.
    let delivered = DeliveryRecord {
        holds_key: false,
        ..delivery_record(1, "A", DeliveryState::Delivered)
    };
    store
        .commit(delivery(vec![DeliveryWrite::Record(delivered)]))
        .await
        .unwrap();
    assert_eq!(query(store.as_ref(), due(1_000)).await, [4, 6]);
    // B's parked message is discarded: 5 may go.
    let discarded = DeliveryRecord {
        holds_key: false,
        ..delivery_record(2, "B", DeliveryState::Discarded)
    };
    store
        .commit(delivery(vec![DeliveryWrite::Record(discarded)]))
        .await
        .unwrap();
    assert_eq!(query(store.as_ref(), due(1_000)).await, [4, 5, 6]);
}

pub async fn delivery_attempts_and_counts_are_kept(store: Arc<dyn Store>) {
    let attempt = |n: u32, outcome: &str, status: Option<u16>| {
        DeliveryWrite::Attempt(AttemptRecord {
            subscription: SUB.into(),
            seq: 9,
            attempt: n,
            started_at_ms: i64::from(n) * 1_000,
            finished_at_ms: i64::from(n) * 1_000 + 12,
            outcome: outcome.into(),
            status,
            detail: format!("attempt {n}"),
        })
    };
    store
        .commit(delivery(vec![
            attempt(2, "refused", Some(422)),
            attempt(1, "retry", None),
            DeliveryWrite::Record(delivery_record(9, "A", DeliveryState::DeadLettered)),
            DeliveryWrite::Record(delivery_record(10, "A", DeliveryState::DeadLettered)),
            DeliveryWrite::Record(delivery_record(11, "B", DeliveryState::Pending)),
        ]))
        .await
        .unwrap();
    let history = store.delivery_attempts(SUB, 9).await.unwrap();
    assert_eq!(
        history
            .iter()
            .map(|a| (a.attempt, a.outcome.as_str(), a.status))
            .collect::<Vec<_>>(),
        [(1, "retry", None), (2, "refused", Some(422)),]
    );
    assert_eq!(history[1].detail, "attempt 2");
    assert!(store.delivery_attempts(SUB, 10).await.unwrap().is_empty());

    let counts = store.delivery_counts().await.unwrap();
    let summary: Vec<_> = counts
        .iter()
        .map(|c| (c.state, c.count, c.oldest_accepted_at_ms))
        .collect();
    assert!(
        summary.contains(&(DeliveryState::DeadLettered, 2, 109)),
        "{summary:?}"
    );
    assert!(
        summary.contains(&(DeliveryState::Pending, 1, 111)),
        "{summary:?}"
    );
    assert_eq!(summary.len(), 2);
}
