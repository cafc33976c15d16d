//! The ingest pipeline: one request in, one durable answer out.

mod authorize;
mod check;
mod commit;
mod lifecycle;
mod native;
mod pressure;
mod query;
mod status;
mod sync;
mod sync_record;

pub use lifecycle::DeprecationNotice;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use takt_core::audit::AuditDraft;
use takt_core::deployment::Deployment;
use takt_core::ingest::{new_event, sites_of};
use takt_core::mapping::MapEnv;
use takt_core::native::{EnvelopeFacts, NativeError, NativeInterface};
use takt_core::policy::Policy;
use takt_core::registry::{Pattern, Registry};
use takt_core::store::{
    Clock, Commit, CommitOutcome, EventOutcome, IdempotencyRecord, Store, StoreError,
};
use takt_core::validate::{Validated, Violation};
use takt_model::config::InterfaceConfig;

use crate::limits::RateLimits;
use crate::{Principal, Principals, Rejection};

/// The wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(now.as_millis()).unwrap_or(i64::MAX)
    }
}

/// Limits that are not per interface.
#[derive(Debug, Clone)]
pub struct GatewayOptions {
    /// Most events in one batch request.
    pub max_batch_events: usize,
    /// How long an idempotency key's first answer is kept.
    pub idempotency_retention_ms: i64,
    /// Past this many bytes on disk, producers get 507 (`[quota]
    /// store_bytes`); 0: no quota.
    pub store_quota_bytes: u64,
}

/// Which endpoint a request came through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `POST /v1/events`: CloudEvents, one or a batch.
    Events,
    /// `POST /v1/commands/{type}`: one command of that type; `Idempotency-Key` required.
    Command(String),
    /// `POST /v1/interfaces/{name}/messages`: a native payload for that interface's mapping.
    Native(String),
    /// `POST /v1/queries/{type}`: one query of that type, answered by its
    /// interface's `[sync]` destination; nothing is stored.
    Query(String),
}

/// One request, as the HTTP layer hands it over.
#[derive(Debug, Clone)]
pub struct IngestRequest {
    /// Which endpoint.
    pub route: Route,
    /// The raw body (hashed for idempotency, parsed here).
    pub body: Vec<u8>,
    /// Whether the media type is `application/cloudevents-batch+json`.
    pub batch: bool,
    /// The `Idempotency-Key` header.
    pub idempotency_key: Option<String>,
    /// Plants named in headers (`Takt-Site-Id`), checked like those in the body.
    pub header_sites: Vec<String>,
}

/// A durable answer (or, for a query, the destination's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// HTTP status: 202 stored, 200 answered by a `[sync]` destination.
    pub status: u16,
    /// JSON body.
    pub body: Vec<u8>,
    /// True when this repeats an earlier answer (same key, or same `source`+`id`).
    pub replayed: bool,
    /// Where the sender reads what became of a queued command (`Location`).
    pub location: Option<String>,
    /// Deprecated contract versions the request used (`Deprecation`,
    /// `Sunset` and `Link` headers).
    pub deprecations: Vec<DeprecationNotice>,
}

/// Removes an idempotency key from the in-flight set when the request ends.
struct InFlight<'a> {
    set: &'a Mutex<HashSet<(String, String)>>,
    key: (String, String),
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if let Ok(mut set) = self.set.lock() {
            set.remove(&self.key);
        }
    }
}

/// A message that passed validation, with the interface it goes through.
struct Checked<'r> {
    validated: Validated<'r>,
    interface: String,
}

/// What every generation of the gateway shares, so that a catalog change
/// applied live loses no state of requests under way.
struct Shared {
    /// Idempotency keys whose request is being processed.
    in_flight: Mutex<HashSet<(String, String)>>,
    /// Requests refused for want of a credential since the last audit entry
    /// about them, by action (see [`Gateway::flush_unauthenticated`]).
    unauthenticated: Mutex<BTreeMap<&'static str, u64>>,
    /// Bumped after every commit that stored events: delivery workers wait on it.
    appended: tokio::sync::watch::Sender<u64>,
    /// Where `[sync]` connectors read their secrets.
    secrets: SecretSource,
}

/// Reads a secret (token, password, signing key) by name.
pub type SecretSource = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// The gateway: shared by every request handler. Immutable but for its
/// counters: a catalog change builds its [`successor`](Gateway::successor).
pub struct Gateway {
    registry: Arc<Registry>,
    deployment: Arc<Deployment>,
    principals: Principals,
    policy: Policy,
    limits: RateLimits,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    options: GatewayOptions,
    natives: HashMap<String, NativeInterface>,
    /// What outlives a catalog change: the next generation of the gateway
    /// shares it (see [`Gateway::successor`]).
    shared: Arc<Shared>,
    /// The delivery engine, once started (see [`Gateway::attach_delivery`]).
    delivery: std::sync::OnceLock<Arc<crate::delivery::DeliveryEngine>>,
    /// What is refused for full backlogs or a full store.
    pressure: pressure::Pressure,
    /// Deprecated and retired contract versions (`lifecycle.toml`).
    lifecycles: takt_core::lifecycle::ContractLifecycles,
    /// The `[sync]` destinations, by interface.
    sync: HashMap<String, crate::sync::SyncRoute>,
}

impl std::fmt::Debug for Gateway {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gateway")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Gateway {
    /// Builds a gateway over a checked deployment, its registry and a store.
    pub fn new(
        registry: Arc<Registry>,
        deployment: Arc<Deployment>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        options: GatewayOptions,
    ) -> takt_core::Result<Self> {
        let from_env: SecretSource = Arc::new(|name: &str| std::env::var(name).ok());
        Self::with_secrets(registry, deployment, store, clock, options, from_env)
    }

    /// [`Gateway::new`] with `[sync]` connectors reading their secrets from
    /// `secrets` instead of the environment.
    pub fn with_secrets(
        registry: Arc<Registry>,
        deployment: Arc<Deployment>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        options: GatewayOptions,
        secrets: SecretSource,
    ) -> takt_core::Result<Self> {
        let shared = Arc::new(Shared {
            in_flight: Mutex::new(HashSet::new()),
            unauthenticated: Mutex::new(BTreeMap::new()),
            appended: tokio::sync::watch::channel(0).0,
            secrets,
        });
        Self::build(registry, deployment, store, clock, options, shared)
    }

    /// A gateway for another catalog (registry and deployment) that shares
    /// this one's store, clock, options, idempotency keys in flight,
    /// unaudited refusals and log notifications. The delivery engine is
    /// not carried over: attach the one started for the new catalog.
    pub fn successor(
        &self,
        registry: Arc<Registry>,
        deployment: Arc<Deployment>,
    ) -> takt_core::Result<Self> {
        Self::build(
            registry,
            deployment,
            self.store.clone(),
            self.clock.clone(),
            self.options.clone(),
            self.shared.clone(),
        )
    }

    fn build(
        registry: Arc<Registry>,
        deployment: Arc<Deployment>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        options: GatewayOptions,
        shared: Arc<Shared>,
    ) -> takt_core::Result<Self> {
        deployment.check(&registry)?;
        let policy = Policy::new(&deployment.policies)?;
        let natives = deployment
            .natives
            .iter()
            .map(|(name, source)| Ok((name.clone(), NativeInterface::compile(source)?)))
            .collect::<takt_core::Result<HashMap<_, _>>>()?;
        let secrets = shared.secrets.clone();
        let sync = crate::sync::routes(&deployment, &registry, &|name| secrets(name))?;
        let lifecycles = takt_core::lifecycle::ContractLifecycles::new(&deployment.lifecycle);
        Ok(Self {
            natives,
            sync,
            principals: Principals::from_deployment(&deployment)?,
            limits: RateLimits::from_deployment(&deployment),
            registry,
            deployment,
            policy,
            store,
            clock,
            options,
            shared,
            delivery: std::sync::OnceLock::new(),
            pressure: pressure::Pressure::default(),
            lifecycles,
        })
    }

    /// The registry, shared.
    pub fn shared_registry(&self) -> Arc<Registry> {
        self.registry.clone()
    }

    /// The deployment, shared.
    pub fn shared_deployment(&self) -> Arc<Deployment> {
        self.deployment.clone()
    }

    /// Changes after every commit that stored new events.
    pub fn appended(&self) -> tokio::sync::watch::Receiver<u64> {
        self.shared.appended.subscribe()
    }

    /// Tells waiting delivery workers that the log grew.
    pub(crate) fn wake_delivery(&self) {
        self.shared.appended.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Makes the delivery engine reachable from the admin API (once).
    pub fn attach_delivery(&self, engine: Arc<crate::delivery::DeliveryEngine>) {
        let _ = self.delivery.set(engine);
    }

    /// The delivery engine, when one runs.
    pub fn delivery(&self) -> Option<&Arc<crate::delivery::DeliveryEngine>> {
        self.delivery.get()
    }

    /// The contract registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The deployment served.
    pub fn deployment(&self) -> &Deployment {
        &self.deployment
    }

    /// The store, for read endpoints.
    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Finds the principal an API key or a JWT proves.
    pub fn authenticate(&self, credential: Option<&str>) -> Result<Arc<Principal>, Rejection> {
        credential
            .and_then(|c| self.principals.authenticate(c))
            .ok_or(Rejection::Unauthenticated)
    }

    /// Runs a request through every check and commits it durably.
    ///
    /// Rejections are audited too (best effort: a store failure while
    /// auditing a rejection does not change the answer).
    pub async fn ingest(
        &self,
        principal: &Principal,
        request: IngestRequest,
    ) -> Result<Accepted, Rejection> {
        let action = request.route.action();
        let route = request.route.label();
        let command = matches!(request.route, Route::Command(_));
        let started = std::time::Instant::now();
        let result = self.run(principal, request, action).await;
        // A command's refusal by its destination is audited with its
        // idempotency record (or as a replay).
        if let Err(rejection) = &result
            && !(command && matches!(rejection, Rejection::DestinationRejected { .. }))
        {
            self.audit_rejection(&principal.name, action, rejection)
                .await;
        }
        let outcome = match &result {
            Ok(accepted) if accepted.replayed => {
                metrics::counter!("takt_idempotent_replays_total", "route" => route).increment(1);
                "replayed"
            }
            Ok(_) => "accepted",
            Err(rejection) => rejection.code().as_str(),
        };
        metrics::counter!("takt_requests_total", "route" => route, "outcome" => outcome)
            .increment(1);
        metrics::histogram!("takt_request_duration_seconds", "route" => route)
            .record(started.elapsed().as_secs_f64());
        result
    }

    /// Counts a request refused before a principal was known. It is not
    /// audited on its own: that would let anyone without a credential make
    /// the hub write (and fsync) at will. [`Gateway::flush_unauthenticated`]
    /// audits the count, one entry per action.
    pub fn count_unauthenticated(&self, route: &Route) {
        metrics::counter!("takt_requests_total", "route" => route.label(), "outcome" => "unauthenticated").increment(1);
        if let Ok(mut counts) = self.shared.unauthenticated.lock() {
            *counts.entry(route.action()).or_default() += 1;
        }
    }

    /// Audits the unauthenticated requests counted since the last call: one
    /// entry per action, principal `anonymous`, outcome
    /// `rejected:unauthenticated` (one request) or
    /// `rejected:unauthenticated (N requests)`. `takt serve` calls it every
    /// second and once more at shutdown.
    pub async fn flush_unauthenticated(&self) {
        let counts = match self.shared.unauthenticated.lock() {
            Ok(mut counts) => std::mem::take(&mut *counts),
            Err(_) => return,
        };
        for (action, count) in counts {
            let outcome = match count {
                1 => "rejected:unauthenticated".to_owned(),
                n => format!("rejected:unauthenticated ({n} requests)"),
            };
            self.audit("anonymous", action, outcome).await;
        }
    }

    /// Audits a request the HTTP layer refused after authentication (body
    /// too large, wrong media type, malformed header).
    pub async fn audit_refused(&self, principal: &Principal, route: &Route, rejection: &Rejection) {
        metrics::counter!("takt_requests_total", "route" => route.label(), "outcome" => rejection.code().as_str()).increment(1);
        self.audit_rejection(&principal.name, route.action(), rejection)
            .await;
    }

    async fn audit_rejection(&self, principal: &str, action: &str, rejection: &Rejection) {
        self.audit(principal, action, format!("rejected:{}", rejection.code()))
            .await;
    }

    /// Audits an outcome that stored no message (best effort: a store
    /// failure is logged, and does not change the answer).
    async fn audit(&self, principal: &str, action: &str, outcome: String) {
        let draft = AuditDraft {
            at_ms: self.clock.now_ms(),
            principal: principal.to_owned(),
            action: action.to_owned(),
            interface: None,
            outcome,
            message_id: None,
        };
        if let Err(e) = self
            .store
            .commit(Commit {
                audit: vec![draft],
                ..Commit::default()
            })
            .await
        {
            tracing::warn!(error = %e, "could not audit a request");
        }
    }

    async fn run(
        &self,
        principal: &Principal,
        request: IngestRequest,
        action: &str,
    ) -> Result<Accepted, Rejection> {
        if let Route::Query(_) = &request.route {
            return self.query(principal, &request, action).await;
        }
        let (messages, fixed_interface, mapped_key) = match &request.route {
            Route::Native(name) => {
                let (message, key) = self.map_native(principal, name, &request)?;
                (vec![message], Some(name.as_str()), key)
            }
            _ => (self.parse(&request)?, None, None),
        };
        let interfaces = self.authorize(principal, &messages, &request, fixed_interface)?;
        if fixed_interface.is_none() {
            self.rate_limit(principal, &interfaces)?;
        }
        let checked = self.validate(messages, interfaces, &request.route, request.batch)?;
        let deprecations = self.lifecycle(&checked, request.batch)?;
        let mut accepted = self
            .accept(principal, &request, action, checked, mapped_key)
            .await?;
        accepted.deprecations = deprecations;
        Ok(accepted)
    }

    /// Takes checked messages to their owner (a sync command) or the log.
    async fn accept(
        &self,
        principal: &Principal,
        request: &IngestRequest,
        action: &str,
        checked: Vec<Checked<'_>>,
        mapped_key: Option<String>,
    ) -> Result<Accepted, Rejection> {
        let key = match (&request.route, &request.idempotency_key, mapped_key) {
            (_, Some(key), _) => Some(key.clone()),
            (Route::Native(name), None, Some(key)) => Some(format!("native:{name}:{key}")),
            (Route::Command(_) | Route::Native(_), None, _) => {
                return Err(Rejection::IdempotencyKeyMissing);
            }
            (Route::Events | Route::Query(_), None, _) => None,
        };
        let request_hash: [u8; 32] = Sha256::digest(&request.body).into();
        let _in_flight = match &key {
            Some(key) => Some(self.enter(principal, key)?),
            None => None,
        };
        if let (Route::Command(_), Some(key)) = (&request.route, &key)
            && let Some(route) = self.sync_route(&checked)
        {
            let command = sync::SyncCommand {
                principal,
                action,
                route,
                key,
                request_hash,
            };
            return self.sync_command(command, checked).await;
        }
        // A known key is found inside the commit, atomically with storing
        // a new one: the commit answers with the first answer (or refuses
        // another body), and nothing is read before it.
        let now = self.clock.now_ms();
        self.commit(
            principal,
            action,
            checked,
            key,
            request_hash,
            request.batch,
            now,
        )
        .await
    }
}

impl Route {
    /// The metrics label of this route: `events`, `commands`, `native` or `queries`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Events => "events",
            Self::Command(_) => "commands",
            Self::Native(_) => "native",
            Self::Query(_) => "queries",
        }
    }

    /// The audit action of requests on this route.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Events => "event.ingest",
            Self::Command(_) => "command.record",
            Self::Native(_) => "native.ingest",
            Self::Query(_) => "query.answer",
        }
    }
}

/// A request body as JSON, or the `json` violation that says why not.
pub(super) fn parse_json(body: &[u8]) -> Result<Value, Rejection> {
    serde_json::from_slice(body).map_err(|e| Rejection::Invalid(vec![Violation::not_json(&e)]))
}

pub(super) fn unavailable(e: StoreError) -> Rejection {
    tracing::error!(error = %e, "store unavailable");
    match e {
        StoreError::ShuttingDown => Rejection::Unavailable {
            detail: "the hub is shutting down".into(),
            retry_after_secs: 5,
        },
        _ => Rejection::Unavailable {
            detail: "the hub cannot store messages right now".into(),
            retry_after_secs: 1,
        },
    }
}
