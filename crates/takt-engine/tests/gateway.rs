//! The gateway without HTTP, on a real SQLite store (for "still in flight",
//! one whose writes are slowed down, so that it is deterministic).
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use takt_core::audit::{AuditEntry, AuditHead};
use takt_core::deployment::Deployment;
use takt_core::registry::Registry;
use takt_core::store::{
    AttemptRecord, BoxFuture, CatalogVersion, Commit, CommitOutcome, ContractUsage, DeliveryCount,
    DeliveryQuery, DeliveryRecord, EventQuery, IdempotencyRecord, Proposal, ProposalState, Store,
    StoreError, StoredEvent,
};
use takt_engine::{Gateway, GatewayOptions, IngestRequest, Rejection, Route, SystemClock};
use takt_store::{SqliteOptions, SqliteStore};

/// A real store whose commits of messages take `delay` longer: a fault
/// switch, not a mock.
struct Slow {
    inner: SqliteStore,
    delay: Duration,
}

impl Store for Slow {
    fn commit(&self, commit: Commit) -> BoxFuture<'_, Result<CommitOutcome, StoreError>> {
        Box::pin(async move {
            if !commit.events.is_empty() {
                tokio::time::sleep(self.delay).await;
            }
            self.inner.commit(commit).await
        })
    }
    fn idempotency_record(
        &self,
        principal: &str,
        key: &str,
        now_ms: i64,
    ) -> BoxFuture<'_, Result<Option<IdempotencyRecord>, StoreError>> {
        self.inner.idempotency_record(principal, key, now_ms)
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
    fn delivery_cursor(&self, subscription: &str) -> BoxFuture<'_, Result<i64, StoreError>> {
        self.inner.delivery_cursor(subscription)
    }
    fn deliveries(
        &self,
        query: DeliveryQuery,
    ) -> BoxFuture<'_, Result<Vec<DeliveryRecord>, StoreError>> {
        self.inner.deliveries(query)
    }
    fn delivery_attempts(
        &self,
        subscription: &str,
        seq: i64,
    ) -> BoxFuture<'_, Result<Vec<AttemptRecord>, StoreError>> {
        self.inner.delivery_attempts(subscription, seq)
    }
    fn delivery_counts(&self) -> BoxFuture<'_, Result<Vec<DeliveryCount>, StoreError>> {
        self.inner.delivery_counts()
    }
    fn contract_usage(
        &self,
        contract: &str,
        since_ms: i64,
    ) -> BoxFuture<'_, Result<Vec<ContractUsage>, StoreError>> {
        self.inner.contract_usage(contract, since_ms)
    }
    fn log_head(&self) -> BoxFuture<'_, Result<i64, StoreError>> {
        self.inner.log_head()
    }
    fn size_bytes(&self) -> BoxFuture<'_, Result<u64, StoreError>> {
        self.inner.size_bytes()
    }
    fn catalog_version(
        &self,
        version: Option<i64>,
    ) -> BoxFuture<'_, Result<Option<CatalogVersion>, StoreError>> {
        self.inner.catalog_version(version)
    }
    fn catalog_history(&self) -> BoxFuture<'_, Result<Vec<CatalogVersion>, StoreError>> {
        self.inner.catalog_history()
    }
    fn catalog_proposal(&self, id: i64) -> BoxFuture<'_, Result<Option<Proposal>, StoreError>> {
        self.inner.catalog_proposal(id)
    }
    fn catalog_proposals(
        &self,
        state: Option<ProposalState>,
    ) -> BoxFuture<'_, Result<Vec<Proposal>, StoreError>> {
        self.inner.catalog_proposals(state)
    }
    fn accepts_commits(&self) -> bool {
        self.inner.accepts_commits()
    }
}

fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn acme_gateway(store: Arc<dyn Store>) -> Gateway {
    acme_gateway_with(store, |_| {})
}

/// The acme gateway with `edit` applied to its deployment first.
fn acme_gateway_with(store: Arc<dyn Store>, edit: impl FnOnce(&mut Deployment)) -> Gateway {
    let mut deployment = Deployment::load(&root().join("examples/acme")).unwrap();
    edit(&mut deployment);
    let registry =
        Registry::load(&deployment.contracts_dir().into_iter().collect::<Vec<_>>()).unwrap();
    let options = GatewayOptions {
        max_batch_events: 10,
        idempotency_retention_ms: 60_000,
        store_quota_bytes: 0,
    };
    Gateway::new(
        Arc::new(registry),
        Arc::new(deployment),
        store,
        Arc::new(SystemClock),
        options,
    )
    .unwrap()
}

/// A flood of requests without a credential does not make the hub write once
/// per request: they are counted, and audited as one entry per action.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unauthenticated_requests_are_audited_counted_not_one_by_one() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> =
        Arc::new(SqliteStore::open(&dir.path().join("takt.db"), SqliteOptions::default()).unwrap());
    let gateway = acme_gateway(store.clone());
    for _ in 0..500 {
        assert!(gateway.authenticate(Some("not-a-key")).is_err());
        gateway.count_unauthenticated(&Route::Events);
    }
    gateway.count_unauthenticated(&Route::Command("mfg.productionorder.release.v1".into()));
    assert_eq!(
        store.audit_head().await.unwrap().seq,
        0,
        "nothing written yet"
    );

    gateway.flush_unauthenticated().await;
    let entries = store.audit_entries(1, 10).await.unwrap();
    let outcomes: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| {
            (
                e.draft.principal.as_str(),
                e.draft.action.as_str(),
                e.draft.outcome.as_str(),
            )
        })
        .collect();
    assert_eq!(
        outcomes,
        [
            ("anonymous", "command.record", "rejected:unauthenticated"),
            (
                "anonymous",
                "event.ingest",
                "rejected:unauthenticated (500 requests)"
            ),
        ]
    );
    gateway.flush_unauthenticated().await;
    assert_eq!(store.audit_head().await.unwrap().seq, 2, "counts are reset");
}

/// DESIGN §5.2: the same key still in flight is 409; once the first request
/// is committed, a retry gets its answer; the posting is stored once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_key_in_flight_is_refused_with_409() {
    let dir = tempfile::tempdir().unwrap();
    let gateway = acme_gateway(Arc::new(Slow {
        inner: SqliteStore::open(&dir.path().join("takt.db"), SqliteOptions::default()).unwrap(),
        delay: Duration::from_millis(300),
    }));
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

/// A catalog change activated while a message is being committed: that
/// request finishes on the catalog version it started with (accepted), the
/// next one meets the new version (refused: the interface no longer
/// carries the contract).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_under_way_finishes_on_its_catalog_version() {
    use takt_engine::catalog::{Hub, HubOptions, ProposalInput};
    use takt_engine::{Principal, PrincipalKind};
    use takt_model::config::Role;

    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Slow {
        inner: SqliteStore::open(&dir.path().join("takt.db"), SqliteOptions::default()).unwrap(),
        delay: Duration::from_millis(800),
    });
    let options = GatewayOptions {
        max_batch_events: 10,
        idempotency_retention_ms: 60_000,
        store_quota_bytes: 0,
    };
    let hub = Arc::new(
        Hub::start(
            Deployment::load(&root().join("examples/acme")).unwrap(),
            store,
            Arc::new(SystemClock),
            options,
            HubOptions {
                contract_dirs: Vec::new(),
                secrets: Arc::new(|_: &str| None),
                grace: Duration::from_secs(1),
                adopt: false,
                started_by: "test".into(),
            },
        )
        .await
        .unwrap(),
    );
    let gateway = hub.gateway();
    let admin = gateway
        .authenticate(Some("acme-demo-integration-admin"))
        .unwrap();
    let approver = Principal {
        name: "quality-lead".into(),
        kind: PrincipalKind::Operator,
        sites: Vec::new(),
        roles: vec![Role::Approver],
    };
    let mes = gateway
        .authenticate(Some("acme-demo-mes-plant2020"))
        .unwrap();
    let interface = "interfaces/mes2020-production.toml";
    let edited = std::fs::read_to_string(root().join("examples/acme").join(interface))
        .unwrap()
        .replace("    \"mfg.operation.completed.v1\",\n", "");
    let proposal = hub
        .propose(
            &admin,
            ProposalInput {
                title: "plant 2020 stops confirming operations".into(),
                changes: Some([(interface.to_owned(), Some(edited))].into()),
                ..ProposalInput::default()
            },
        )
        .await
        .unwrap();
    hub.approve(&approver, proposal.id, None).await.unwrap();

    let body = std::fs::read(
        root().join("contracts/mfg.operation.completed.v1/examples/valid-final-no-scrap.json"),
    )
    .unwrap();
    let request = |key: &str| IngestRequest {
        route: Route::Events,
        body: body.clone(),
        batch: false,
        idempotency_key: Some(key.into()),
        header_sites: Vec::new(),
    };
    let under_way = {
        let (gateway, mes, request) = (hub.gateway(), mes.clone(), request("before"));
        tokio::spawn(async move { gateway.ingest(&mes, request).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let version = hub.activate(&admin, proposal.id).await.unwrap();
    assert_eq!(version.version, 2);
    assert!(
        !under_way.is_finished(),
        "the activation overlapped the request"
    );
    let accepted = under_way.await.unwrap();
    assert!(
        accepted.as_ref().is_ok_and(|a| a.status == 202),
        "{accepted:?}"
    );
    let after = hub.gateway().ingest(&mes, request("after")).await;
    assert!(
        matches!(after, Err(Rejection::Forbidden { .. })),
        "the next request meets version 2: {after:?}"
    );
    hub.stop().await;
}

/// An interface that pins the versions its producers send refuses the
/// others, naming the versions it takes; a pinned version goes through.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interface_refuses_versions_it_does_not_pin() {
    let dir = tempfile::tempdir().unwrap();
    let store =
        Arc::new(SqliteStore::open(&dir.path().join("takt.db"), SqliteOptions::default()).unwrap());
    let gateway = acme_gateway_with(store, |deployment| {
        let interface = deployment.interfaces.get_mut("mes1010-production").unwrap();
        interface
            .contract_versions
            .insert("mfg.material.consumed.v1".into(), vec!["1.1".into()]);
    });
    let mes = gateway
        .authenticate(Some("acme-demo-mes-plant1010"))
        .unwrap();
    let post = |example: &str| IngestRequest {
        route: Route::Events,
        body: std::fs::read(
            root()
                .join("contracts/mfg.material.consumed.v1/examples")
                .join(example),
        )
        .unwrap(),
        batch: false,
        idempotency_key: None,
        header_sites: Vec::new(),
    };
    let refused = gateway.ingest(&mes, post("valid-lot-managed.json")).await;
    let Err(Rejection::Invalid(violations)) = refused else {
        panic!("a 1.0 message is refused: {refused:?}");
    };
    assert_eq!(violations.len(), 1);
    assert_eq!(violations[0].pointer, "/dataschema");
    assert_eq!(violations[0].rule, "contract_versions");
    assert!(
        violations[0]
            .message
            .contains("at version 1.1 only, not 1.0")
            && violations[0]
                .message
                .contains("urn:takt:schema:mfg.material.consumed.v1:1.1"),
        "{}",
        violations[0].message
    );
    let accepted = gateway
        .ingest(&mes, post("valid-with-equipment.json"))
        .await;
    assert!(accepted.is_ok_and(|a| a.status == 202));
}
