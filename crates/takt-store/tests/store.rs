//! The storage adapters against the conformance suite, plus what is
//! specific to each adapter (durability across reopen, tamper detection on
//! the real database file).
#![allow(clippy::unwrap_used)]

mod conformance;

use std::path::Path;
use std::sync::Arc;

use std::sync::atomic::{AtomicU32, Ordering};
use takt_core::audit::Tamper;
use takt_core::store::{CommitOutcome, EventQuery, Store};

use takt_core::audit::verify_store as verify_audit;
use takt_store::{PostgresOptions, PostgresStore, SqliteOptions, SqliteStore};

/// A fresh SQLite store in its own temporary directory (kept alive by leaking
/// the directory handle for the test's duration).
async fn sqlite() -> Arc<dyn Store> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("takt.db");
    std::mem::forget(dir);
    Arc::new(SqliteStore::open(&path, SqliteOptions::default()).unwrap())
}

conformance_tests!(sqlite_conformance, super::sqlite);

/// The machine's PostgreSQL (`TAKT_TEST_POSTGRES`, default: loopback, trust
/// auth, database `test`). It must be reachable: a missing server fails.
fn postgres_url() -> String {
    std::env::var("TAKT_TEST_POSTGRES")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

/// A fresh PostgreSQL store in a schema of its own, dropped first if a
/// previous run left it behind.
async fn postgres() -> Arc<dyn Store> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let schema = format!(
        "takt_test_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let (client, connection) = tokio_postgres::connect(&postgres_url(), tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {:?} is required: {e}", postgres_url()));
    tokio::spawn(connection);
    client
        .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
        .await
        .unwrap();
    let options = PostgresOptions {
        schema,
        ..PostgresOptions::new(postgres_url())
    };
    Arc::new(PostgresStore::open(options).await.unwrap())
}

conformance_tests!(postgres_conformance, super::postgres);

fn open(path: &Path) -> SqliteStore {
    SqliteStore::open(path, SqliteOptions::default()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_survives_reopen_and_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/takt.db");
    {
        let store = open(&path);
        for n in 0..5 {
            store.commit(conformance::ingest(n)).await.unwrap();
        }
        store.close();
    }
    let store = open(&path);
    assert_eq!(conformance::stored_count(&store).await, 5);
    let outcome = store.commit(conformance::ingest(5)).await.unwrap();
    assert!(matches!(outcome, CommitOutcome::Committed(_)));
    assert_eq!(verify_audit(&store).await.unwrap(), 6);
    assert!(store.accepts_commits());
    store.close();
    assert!(
        !store.accepts_commits(),
        "a closed store says so, so readiness fails"
    );
    assert!(matches!(
        store.commit(conformance::ingest(6)).await,
        Err(takt_core::store::StoreError::ShuttingDown)
    ));
}

/// The newest events are answered from the writer's in-memory tail; after a
/// reopen the tail is empty and the same questions go to the file. Both
/// must give the same answers, whatever the filter.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_answers_the_newest_events_from_memory_as_the_file_does() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("takt.db");
    let queries = [
        EventQuery {
            limit: 100,
            ..Default::default()
        },
        EventQuery {
            after_seq: 10,
            limit: 5,
            ..Default::default()
        },
        EventQuery {
            after_seq: 40,
            limit: 5,
            ..Default::default()
        },
        EventQuery {
            interface: Some("mes1010-confirmation".into()),
            after_seq: 3,
            limit: 7,
            ..Default::default()
        },
        EventQuery {
            business_key: Some(("order".into(), "101".into())),
            limit: 100,
            ..Default::default()
        },
        EventQuery {
            business_key: Some(("lot".into(), "L7".into())),
            limit: 100,
            ..Default::default()
        },
        EventQuery {
            business_key: Some(("lot".into(), "unknown".into())),
            limit: 100,
            ..Default::default()
        },
    ];
    let mut from_memory = Vec::new();
    {
        let store = open(&path);
        for n in 0..40 {
            store.commit(conformance::ingest(n)).await.unwrap();
        }
        // The second copy of event 3 stores nothing new.
        store.commit(conformance::ingest(3)).await.unwrap();
        for query in &queries {
            from_memory.push(store.events(query.clone()).await.unwrap());
        }
        store.close();
    }
    let store = open(&path);
    for (query, expected) in queries.iter().zip(&from_memory) {
        let from_file = store.events(query.clone()).await.unwrap();
        assert_eq!(&from_file, expected, "{query:?}");
    }
    assert_eq!(from_memory[0].len(), 40);
    assert_eq!(from_memory[4].len(), 13, "orders 101: n = 1, 4, … 37");
    store.close();
}

/// The running store indexes business keys on its own thread: a remainder
/// smaller than a chunk is indexed within about a second, into the index
/// file beside the log.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_indexes_business_keys_beside_the_log_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("takt.db");
    let store = open(&path);
    for n in 0..5 {
        store.commit(conformance::ingest(n)).await.unwrap();
    }
    let index = rusqlite_conn(&dir.path().join("takt.keys.db"));
    let indexed = || -> i64 {
        index
            .query_row("SELECT seq FROM indexed WHERE id = 1", [], |r| r.get(0))
            .unwrap()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    while indexed() < 5 && std::time::Instant::now() < deadline {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(indexed(), 5, "the index thread caught up with the log");
    let rows: i64 = index
        .query_row(
            "SELECT count(*) FROM event_keys WHERE kind = 'order'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(rows, 5);
    let by_key = EventQuery {
        business_key: Some(("lot".into(), "L3".into())),
        limit: 10,
        ..Default::default()
    };
    let found = store.events(by_key).await.unwrap();
    assert_eq!(found.iter().map(|e| e.seq).collect::<Vec<_>>(), [4]);
    store.close();
}

/// Under sustained writes the write-ahead log is checkpointed and reused, so
/// the disk it takes stays bounded (it grew without limit when only a
/// background thread checkpointed: the log never drained while writes went on).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_wal_stays_bounded_under_sustained_writes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("takt.db");
    let store = Arc::new(open(&path));
    let wal = dir.path().join("takt.db-wal");
    let mut largest = 0;
    let body = vec![b'x'; 2_000];
    for round in 0..60u32 {
        let tasks: Vec<_> = (0..50u32)
            .map(|i| {
                let store = store.clone();
                let mut commit = conformance::ingest(round * 50 + i);
                commit.events[0].body = body.clone();
                tokio::spawn(async move { store.commit(commit).await.unwrap() })
            })
            .collect();
        for task in tasks {
            assert!(matches!(task.await.unwrap(), CommitOutcome::Committed(_)));
        }
        largest = largest.max(std::fs::metadata(&wal).map_or(0, |m| m.len()));
    }
    // 3,000 events of 2 kB: about 30 MB of log frames in all.
    assert!(
        largest < 16 * 1024 * 1024,
        "the write-ahead log grew to {largest} bytes"
    );
    store.close();
}

/// Opens the database behind the store's back, as an attacker with file access would.
fn tamper(path: &Path, sql: &str) {
    let conn = rusqlite_conn(path);
    conn.execute_batch(sql).unwrap();
}

fn rusqlite_conn(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_audit_tampering_is_detected() {
    let cases: [(&str, Tamper); 5] = [
        (
            "UPDATE audit SET outcome = 'rejected:403' WHERE seq = 3",
            Tamper::Altered { seq: 3 },
        ),
        (
            "DELETE FROM audit WHERE seq = 2",
            Tamper::OutOfSequence {
                seq: 3,
                expected: 2,
            },
        ),
        (
            "UPDATE audit SET seq = -2 WHERE seq = 2; UPDATE audit SET seq = 2 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = -2;",
            Tamper::Altered { seq: 2 },
        ),
        (
            "DELETE FROM audit WHERE seq >= 4",
            Tamper::Truncated { last: 3, head: 5 },
        ),
        (
            "DELETE FROM audit WHERE seq >= 4; UPDATE audit_head SET seq = 3",
            Tamper::HeadMismatch { seq: 3 },
        ),
    ];
    for (sql, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("takt.db");
        let store = open(&path);
        for n in 0..5 {
            store.commit(conformance::ingest(n)).await.unwrap();
        }
        assert_eq!(verify_audit(&store).await.unwrap(), 5);
        tamper(&path, sql);
        match verify_audit(&store).await {
            Err(takt_core::audit::VerifyError::Tampered(found)) => {
                assert_eq!(found, expected, "{sql}")
            }
            other => panic!("{sql}: expected {expected:?}, got {other:?}"),
        }
    }
}

/// Two PostgreSQL stores on one schema stand for two hub instances: racing
/// the same idempotency key and the same event, each is stored exactly once
/// and the audit chain stays linear.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_instances_store_each_key_and_event_once() {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let schema = format!(
        "takt_pair_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    );
    let options = PostgresOptions {
        schema,
        ..PostgresOptions::new(postgres_url())
    };
    let a: Arc<dyn Store> = Arc::new(PostgresStore::open(options.clone()).await.unwrap());
    let b: Arc<dyn Store> = Arc::new(PostgresStore::open(options).await.unwrap());
    for round in 0..20u32 {
        // The same key from both instances at once: one commit, one replay.
        let keyed = |n: u32| {
            let mut commit = conformance::ingest(1000 + round * 10 + n);
            commit.idempotency = Some(conformance::record(
                &format!("k-{round}"),
                b"same",
                1_764_000_000_000,
            ));
            commit
        };
        let (x, y) = tokio::join!(a.commit(keyed(0)), b.commit(keyed(1)));
        let outcomes = [x.unwrap(), y.unwrap()];
        let committed = outcomes
            .iter()
            .filter(|o| matches!(o, CommitOutcome::Committed(_)))
            .count();
        let replayed = outcomes
            .iter()
            .filter(|o| matches!(o, CommitOutcome::Replay(_)))
            .count();
        assert_eq!((committed, replayed), (1, 1), "round {round}: {outcomes:?}");
        // The same event (same source, id and body) from both instances.
        let (x, y) = tokio::join!(
            a.commit(conformance::ingest(5000 + round)),
            b.commit(conformance::ingest(5000 + round))
        );
        let stored: Vec<bool> = [x.unwrap(), y.unwrap()]
            .iter()
            .map(|o| matches!(o, CommitOutcome::Committed(e) if matches!(e[0], takt_core::store::EventOutcome::Stored(_))))
            .collect();
        assert_eq!(
            stored.iter().filter(|s| **s).count(),
            1,
            "round {round}: exactly one instance stores the event"
        );
    }
    assert_eq!(
        conformance::stored_count(a.as_ref()).await,
        40,
        "20 keyed commits and 20 events, each stored once"
    );
    // 20 keyed commits + 40 event commits (the losing one still audits its attempt as AlreadyStored).
    let entries = verify_audit(a.as_ref()).await.unwrap();
    assert_eq!(entries, 60, "the chain is linear across both instances");
}
