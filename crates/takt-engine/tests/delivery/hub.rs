//! The hub every delivery test drives: a real SQLite store, the log signal
//! and a delivery engine with one subscription, without HTTP in front.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use takt_core::deployment::Deployment;
use takt_core::registry::Registry;
use takt_core::store::{Commit, DeliveryQuery, DeliveryState, NewEvent, Store};
use takt_engine::SystemClock;
use takt_engine::delivery::{DeliveryEngine, Subscription};
use takt_model::delivery::SubscriptionConfig;
use takt_store::{SqliteOptions, SqliteStore};
use takt_testkit::Erp;
use tokio::sync::watch;

pub const WAIT: Duration = Duration::from_secs(20);

pub fn registry() -> Arc<Registry> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/acme"));
    let deployment = Deployment::load(root).unwrap();
    Arc::new(Registry::load(&deployment.contracts_dir().into_iter().collect::<Vec<_>>()).unwrap())
}

/// A subscription file for the ERP at `url`; `policy` holds `[policy]`
/// keys that replace the test defaults.
pub fn config(url: &str, idempotent: bool, policy: &str) -> SubscriptionConfig {
    let connector = format!("kind = \"http\"\nurl = \"{url}/postings/{{siteid}}\"");
    subscription(&connector, idempotent, policy)
}

/// A subscription of consumption events with `connector` (the body of its
/// `[connector]` table); `policy` holds `[policy]` keys that replace the
/// test defaults.
pub fn subscription(connector: &str, idempotent: bool, policy: &str) -> SubscriptionConfig {
    let text = format!(
        r#"
name = "erp-postings"
description = "test"
owner = "team-erp"
destination = "erp"
contracts = ["mfg.material.consumed.v1"]
idempotent = {idempotent}
[connector]
{connector}
[policy]
timeout_ms = 2000
concurrency = 4
backoff = {{ base_ms = 50, max_ms = 200, jitter = 0.0 }}
circuit = {{ failures = 0, open_ms = 1000 }}
retry_after_max_ms = 5000
"#
    );
    let mut table: toml::Table = toml::from_str(&text).unwrap();
    let overrides: toml::Table = toml::from_str(policy).unwrap();
    let Some(toml::Value::Table(defaults)) = table.get_mut("policy") else {
        unreachable!("the text has a [policy] table")
    };
    defaults.extend(overrides);
    table.try_into().unwrap()
}

/// A hub without HTTP: a store, the log signal, a delivery engine.
pub struct Hub {
    pub store: Arc<SqliteStore>,
    _dir: tempfile::TempDir,
    appended: watch::Sender<u64>,
    pub engine: Option<DeliveryEngine>,
    next: u32,
}

impl Hub {
    pub async fn new(config: SubscriptionConfig) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(
            SqliteStore::open(&dir.path().join("takt.db"), SqliteOptions::default()).unwrap(),
        );
        let (appended, _) = watch::channel(0);
        let mut hub = Self {
            store,
            _dir: dir,
            appended,
            engine: None,
            next: 0,
        };
        hub.start(config);
        hub
    }

    pub fn start(&mut self, config: SubscriptionConfig) {
        let secrets = |name: &str| match name {
            "ERP_TOKEN" => Some("t0ken".to_owned()),
            "ERP_PASSWORD" => Some("s3cret".to_owned()),
            "ERP_SIGNING" => Some("signing-key".to_owned()),
            "AMQP_PASSWORD" => Some("guest".to_owned()),
            _ => None,
        };
        let subscription = Subscription::new(config, None, &secrets).unwrap();
        let store: Arc<dyn Store> = self.store.clone();
        self.engine = Some(DeliveryEngine::with_subscriptions(
            vec![subscription],
            registry(),
            store,
            Arc::new(SystemClock),
            &self.appended.subscribe(),
            Duration::from_secs(2),
        ));
    }

    pub fn engine(&self) -> &DeliveryEngine {
        self.engine.as_ref().unwrap()
    }

    /// Accepts one consumption event per key given, in order.
    pub async fn accept(&mut self, keys: &[&str]) {
        let events = keys
            .iter()
            .map(|key| {
                self.next += 1;
                let n = self.next;
                NewEvent {
                    id: format!("evt-{n:04}"),
                    source: "urn:takt:site:1010:mes:mes01".into(),
                    contract: "mfg.material.consumed.v1".into(),
                    dataschema: "urn:takt:schema:mfg.material.consumed.v1:1.0".into(),
                    site: "1010".into(),
                    subject: format!("productionorder/1010/{key}"),
                    partition_key: (*key).into(),
                    interface: "mes1010-consumption".into(),
                    principal: "mes-plant1010".into(),
                    accepted_at_ms: 1_764_000_000_000 + i64::from(n),
                    business_keys: vec![("order".into(), (*key).into())],
                    body: format!(r#"{{"id":"evt-{n:04}","data":{{"n":{n},"key":"{key}"}}}}"#)
                        .into_bytes(),
                }
            })
            .collect();
        self.store
            .commit(Commit {
                events,
                ..Default::default()
            })
            .await
            .unwrap();
        self.appended.send_modify(|n| *n += 1);
    }

    /// The log's last position.
    pub async fn store_head(&self) -> i64 {
        self.store.log_head().await.unwrap()
    }

    pub async fn records(&self, state: DeliveryState) -> Vec<takt_core::store::DeliveryRecord> {
        self.store
            .deliveries(DeliveryQuery {
                states: vec![state],
                limit: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
    }
}

/// (key, n) of every posting, in the order the ERP made them.
pub fn postings(erp: &Erp) -> Vec<(String, u64)> {
    erp.effects()
        .iter()
        .map(|e| {
            (
                e.body["data"]["key"].as_str().unwrap().to_owned(),
                e.body["data"]["n"].as_u64().unwrap(),
            )
        })
        .collect()
}

pub fn numbers_of(postings: &[(String, u64)], key: &str) -> Vec<u64> {
    postings
        .iter()
        .filter(|(k, _)| k == key)
        .map(|(_, n)| *n)
        .collect()
}

pub fn is_sorted(numbers: &[u64]) -> bool {
    numbers.windows(2).all(|w| w[0] < w[1])
}

/// Polls the async `check` every 20 ms until it is true or `within` has
/// passed; returns whether it became true.
pub async fn eventually_async<F: Future<Output = bool>>(
    within: Duration,
    mut check: impl FnMut() -> F,
) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
