//! The gateway without HTTP, on a real SQLite store whose writes are slowed
//! down, so that "still in flight" is deterministic.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use takt_core::audit::{AuditEntry, AuditHead};
use takt_core::deployment::Deployment;
use takt_core::registry::Registry;
use takt_core::store::{
    BoxFuture, Commit, CommitOutcome, EventQuery, IdempotencyRecord, Store, StoreError, StoredEvent,
};
use takt_engine::{Gateway, GatewayOptions, IngestRequest, Rejection, Route, SystemClock};
use takt_store::{SqliteOptions, SqliteStore};

/// A real store whose commits take `delay` longer: a fault switch, not a mock.
struct Slow {
    inner: SqliteStore,
    delay: Duration,
}

impl Store for Slow {
    fn commit(&self, commit: Commit) -> BoxFuture<'_, Result<CommitOutcome, StoreError>> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            self.inner.commit(commit).await
        })
    }
    fn idempotency(
        &self,
        principal: &str,
        key: &str,
        now_ms: i64,
    ) -> BoxFuture<'_, Result<Option<IdempotencyRecord>, StoreError>> {
        self.inner.idempotency(principal, key, now_ms)
    }
    fn purge_idempotency(&self, now_ms: i64) -> BoxFuture<'_, Result<u64, StoreError>> {
        self.inner.purge_idempotency(now_ms)
    }
    fn event(&self, id: &str) -> BoxFuture<'_, Result<Option<StoredEvent>, StoreError>> {
        self.inner.event(id)
    }
    fn events(&self, query: EventQuery) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>> {
        self.inner.events(query)
    }
    fn audit_entries(
        &self,
        from_seq: i64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<AuditEntry>, StoreError>> {
        self.inner.audit_entries(from_seq, limit)
    }
    fn audit_head(&self) -> BoxFuture<'_, Result<AuditHead, StoreError>> {
        self.inner.audit_head()
    }
    fn accepts_commits(&self) -> bool {
        self.inner.accepts_commits()
    }
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// DESIGN §5.2: the same key still in flight is 409; once the first request
/// is committed, a retry gets its answer; the posting is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_in_flight_is_refused_with_409() {
    let deployment = Deployment::load(&root().join("examples/acme")).unwrap();
    let registry =
        Registry::load(&deployment.contracts_dir().into_iter().collect::<Vec<_>>()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Slow {
        inner: SqliteStore::open(&dir.path().join("takt.db"), SqliteOptions::default()).unwrap(),
        delay: Duration::from_millis(300),
    };
    let options = GatewayOptions {
        max_batch_events: 10,
        idempotency_retention_ms: 60_000,
    };
    let gateway = Gateway::new(
        Arc::new(registry),
        Arc::new(deployment),
        Arc::new(store),
        Arc::new(SystemClock),
        options,
    )
    .unwrap();
    let principal = gateway
        .authenticate(Some("acme-demo-mes-plant1010"))
        .unwrap();
    let body = std::fs::read(
        root().join("contracts/mfg.material.consumed.v1/examples/valid-lot-managed.json"),
    )
    .unwrap();
    let request = || IngestRequest {
        route: Route::Events,
        body: body.clone(),
        batch: false,
        idempotency_key: Some("k-1".into()),
        header_sites: Vec::new(),
    };

    let first = gateway.ingest(&principal, request());
    let second = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        gateway.ingest(&principal, request()).await
    };
    let (first, second) = tokio::join!(first, second);
    assert!(first.as_ref().is_ok_and(|a| !a.replayed), "{first:?}");
    assert_eq!(second.unwrap_err(), Rejection::IdempotencyKeyInFlight);
    assert_eq!(
        Rejection::IdempotencyKeyInFlight.retry_after_secs(),
        Some(1)
    );

    let retry = gateway.ingest(&principal, request()).await.unwrap();
    assert!(retry.replayed);
    assert_eq!(retry.body, first.unwrap().body);
    assert_eq!(
        gateway
            .store()
            .events(EventQuery {
                limit: 10,
                ..Default::default()
            })
            .await
            .unwrap()
            .len(),
        1
    );
}
