//! The ingest pipeline: one request in, one durable answer out.

use std::collections::{BTreeSet, HashMap, HashSet};
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

/// A durable answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// HTTP status (202).
    pub status: u16,
    /// JSON body.
    pub body: Vec<u8>,
    /// True when this repeats an earlier answer (same key, or same `source`+`id`).
    pub replayed: bool,
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

/// The gateway: shared by every request handler.
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
    in_flight: Mutex<HashSet<(String, String)>>,
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
        deployment.check(&registry)?;
        let policy = Policy::new(&deployment.policies)?;
        let natives = deployment
            .natives
            .iter()
            .map(|(name, source)| Ok((name.clone(), NativeInterface::compile(source)?)))
            .collect::<takt_core::Result<HashMap<_, _>>>()?;
        Ok(Self {
            natives,
            principals: Principals::from_deployment(&deployment)?,
            limits: RateLimits::from_deployment(&deployment),
            registry,
            deployment,
            policy,
            store,
            clock,
            options,
            in_flight: Mutex::new(HashSet::new()),
        })
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
        let started = std::time::Instant::now();
        let result = self.run(principal, request, action).await;
        if let Err(rejection) = &result {
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

    /// Audits (and counts) a request that failed before a principal was known.
    pub async fn audit_unauthenticated(&self, route: &Route) {
        let action = route.action();
        metrics::counter!("takt_requests_total", "route" => route.label(), "outcome" => "unauthenticated").increment(1);
        self.audit_rejection("anonymous", action, &Rejection::Unauthenticated)
            .await;
    }

    /// Audits a request the HTTP layer refused after authentication (body
    /// too large, wrong media type, malformed header).
    pub async fn audit_refused(&self, principal: &Principal, route: &Route, rejection: &Rejection) {
        metrics::counter!("takt_requests_total", "route" => route.label(), "outcome" => rejection.code().as_str()).increment(1);
        self.audit_rejection(&principal.name, route.action(), rejection)
            .await;
    }

    async fn audit_rejection(&self, principal: &str, action: &str, rejection: &Rejection) {
        let draft = AuditDraft {
            at_ms: self.clock.now_ms(),
            principal: principal.to_owned(),
            action: action.to_owned(),
            interface: None,
            outcome: format!("rejected:{}", rejection.code()),
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
            tracing::warn!(error = %e, "could not audit a rejection");
        }
    }

    async fn run(
        &self,
        principal: &Principal,
        request: IngestRequest,
        action: &str,
    ) -> Result<Accepted, Rejection> {
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
        let key = match (&request.route, &request.idempotency_key, mapped_key) {
            (_, Some(key), _) => Some(key.clone()),
            (Route::Native(name), None, Some(key)) => Some(format!("native:{name}:{key}")),
            (Route::Command(_) | Route::Native(_), None, _) => {
                return Err(Rejection::IdempotencyKeyMissing);
            }
            (Route::Events, None, _) => None,
        };
        let request_hash: [u8; 32] = Sha256::digest(&request.body).into();
        let _in_flight = match &key {
            Some(key) => Some(self.enter(principal, key)?),
            None => None,
        };
        let now = self.clock.now_ms();
        if let Some(key) = &key
            && let Some(first) = self
                .store
                .idempotency(&principal.name, key, now)
                .await
                .map_err(unavailable)?
        {
            return self.replay(principal, action, first, request_hash).await;
        }
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

    /// Checks a native payload's producer and rate before the mapping runs,
    /// then maps it to a canonical message.
    fn map_native(
        &self,
        principal: &Principal,
        name: &str,
        request: &IngestRequest,
    ) -> Result<(Value, Option<String>), Rejection> {
        let (Some(native), Some(interface)) =
            (self.natives.get(name), self.deployment.interfaces.get(name))
        else {
            return Err(Rejection::NotFound(format!(
                "interface {name} takes no native payloads (it has no [native] mapping)"
            )));
        };
        if request.batch {
            return Err(Rejection::BadRequest(
                "native payloads are sent one at a time".into(),
            ));
        }
        let sites = request.header_sites.iter().cloned().collect();
        self.decide(principal, interface, native.contract(), sites)?;
        self.limits.take(name, &principal.name, 1)?;
        let payload: Value = serde_json::from_slice(&request.body).map_err(|e| {
            Rejection::Invalid(vec![Violation {
                pointer: String::new(),
                rule: "json".into(),
                message: format!("not valid JSON: {e}"),
            }])
        })?;
        let now_ms = self.clock.now_ms();
        let now = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
        let env = MapEnv {
            units: self.registry.units(),
            on: now.date_naive(),
        };
        let facts = EnvelopeFacts {
            principal: &principal.name,
            id: uuid::Uuid::now_v7().to_string(),
            now: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            traceparent: traceparent(),
        };
        match native.to_canonical(&payload, &self.registry, env, &facts) {
            Ok(mapped) => Ok((mapped.message, mapped.key)),
            Err(NativeError::Invalid(violations)) => Err(Rejection::Invalid(violations)),
            Err(NativeError::Mapping(e)) => Err(Rejection::MappingFailed {
                mapping: e.mapping,
                message: e.message,
            }),
        }
    }

    fn parse(&self, request: &IngestRequest) -> Result<Vec<Value>, Rejection> {
        if request.batch && matches!(request.route, Route::Command(_)) {
            return Err(Rejection::BadRequest(
                "commands are sent one at a time, not as a batch".into(),
            ));
        }
        let value: Value = serde_json::from_slice(&request.body).map_err(|e| {
            Rejection::Invalid(vec![Violation {
                pointer: String::new(),
                rule: "json".into(),
                message: format!("not valid JSON: {e}"),
            }])
        })?;
        let messages = match (request.batch, value) {
            (true, Value::Array(items)) => items,
            (true, _) => {
                return Err(Rejection::BadRequest(
                    "a CloudEvents batch must be a JSON array of events".into(),
                ));
            }
            (false, Value::Array(_)) => {
                return Err(Rejection::BadRequest(
                    "a JSON array is a batch: send it as application/cloudevents-batch+json".into(),
                ));
            }
            (false, value) => vec![value],
        };
        if messages.is_empty() {
            return Err(Rejection::BadRequest("the batch is empty".into()));
        }
        if messages.len() > self.options.max_batch_events {
            return Err(Rejection::PayloadTooLarge(format!(
                "a batch holds at most {} events; this one has {}",
                self.options.max_batch_events,
                messages.len()
            )));
        }
        if let Route::Command(path_type) = &request.route
            && messages[0].get("type").and_then(Value::as_str) != Some(path_type.as_str())
        {
            return Err(Rejection::Invalid(vec![Violation {
                pointer: "/type".into(),
                rule: "route".into(),
                message: format!(
                    "this endpoint takes {path_type}; send other types to their own /v1/commands/{{type}}"
                ),
            }]));
        }
        Ok(messages)
    }

    /// The interface each message goes through, after the policy allowed it.
    fn authorize(
        &self,
        principal: &Principal,
        messages: &[Value],
        request: &IngestRequest,
        fixed: Option<&str>,
    ) -> Result<Vec<String>, Rejection> {
        let mut interfaces = Vec::with_capacity(messages.len());
        let mut reasons = Vec::new();
        for message in messages {
            let Some(contract) = message.get("type").and_then(Value::as_str) else {
                // Nothing to authorize against: validation reports the missing type.
                interfaces.push(String::new());
                continue;
            };
            let interface = match fixed {
                Some(name) => self.deployment.interfaces.get(name),
                None => self.interface_for(principal, contract),
            };
            let Some(interface) = interface else {
                reasons.push(format!(
                    "no interface lets {} send {contract}",
                    principal.name
                ));
                interfaces.push(String::new());
                continue;
            };
            let mut sites = sites_of(message);
            sites.extend(request.header_sites.iter().cloned());
            match self.decide(principal, interface, contract, sites) {
                Ok(()) => {}
                Err(Rejection::Forbidden {
                    reasons: denied, ..
                }) => reasons.extend(denied),
                Err(other) => return Err(other),
            }
            interfaces.push(interface.name.clone());
        }
        if reasons.is_empty() {
            return Ok(interfaces);
        }
        reasons.sort();
        reasons.dedup();
        Err(Rejection::Forbidden {
            detail: format!("{} may not send this", principal.name),
            reasons,
        })
    }

    /// Asks the policy about one contract through one interface for these sites.
    fn decide(
        &self,
        principal: &Principal,
        interface: &InterfaceConfig,
        contract: &str,
        sites: BTreeSet<String>,
    ) -> Result<(), Rejection> {
        let input = || {
            json!({
                "principal": {"name": principal.name, "kind": principal.kind, "sites": principal.sites, "roles": principal.roles},
                "interface": {"name": interface.name, "pattern": interface.pattern, "producers": interface.producers, "contracts": interface.contracts},
                "contract": contract,
                "sites": sites,
            })
        };
        // Principals and interfaces are fixed for the gateway's lifetime, so
        // their names, the contract and the sites identify the input. Sites
        // come from the request: only well-formed ones (as the envelope
        // allows) may enter the cache, so it stays bounded.
        let cacheable = sites.len() <= MAX_CACHED_SITES
            && sites.iter().all(|s| is_site_code(s))
            && contract.len() <= 128;
        let decided = if cacheable {
            let mut key = String::with_capacity(64);
            for part in [principal.name.as_str(), interface.name.as_str(), contract]
                .into_iter()
                .chain(sites.iter().map(String::as_str))
            {
                key.push_str(&part.len().to_string());
                key.push(':');
                key.push_str(part);
            }
            self.policy.decide_keyed(&key, input)
        } else {
            self.policy.decide_uncached(&input())
        };
        let decision = decided.map_err(|e| {
            tracing::error!(error = %e, "policy evaluation failed");
            Rejection::Unavailable {
                detail: "authorization is unavailable".into(),
                retry_after_secs: 5,
            }
        })?;
        if decision.allow {
            return Ok(());
        }
        Err(Rejection::Forbidden {
            detail: format!("{} may not send this", principal.name),
            reasons: decision.reasons,
        })
    }

    /// The principal's first interface (by name) that carries `contract`.
    fn interface_for(&self, principal: &Principal, contract: &str) -> Option<&InterfaceConfig> {
        self.deployment.interfaces.values().find(|i| {
            i.producers.contains(&principal.name) && i.contracts.iter().any(|c| c == contract)
        })
    }

    fn rate_limit(&self, principal: &Principal, interfaces: &[String]) -> Result<(), Rejection> {
        let mut counts: Vec<(&str, u32)> = Vec::new();
        for interface in interfaces.iter().filter(|i| !i.is_empty()) {
            match counts.iter_mut().find(|(name, _)| name == interface) {
                Some((_, n)) => *n += 1,
                None => counts.push((interface, 1)),
            }
        }
        counts
            .into_iter()
            .try_for_each(|(interface, n)| self.limits.take(interface, &principal.name, n))
    }

    fn validate(
        &self,
        messages: Vec<Value>,
        interfaces: Vec<String>,
        route: &Route,
        batch: bool,
    ) -> Result<Vec<Checked<'_>>, Rejection> {
        let mut checked = Vec::with_capacity(messages.len());
        let mut violations = Vec::new();
        for (index, (message, interface)) in messages.into_iter().zip(interfaces).enumerate() {
            let found = match self.registry.validate(message) {
                Ok(validated) => match route_violation(route, &validated) {
                    None => {
                        checked.push(Checked {
                            validated,
                            interface,
                        });
                        continue;
                    }
                    Some(violation) => vec![violation],
                },
                Err(found) => found,
            };
            violations.extend(found.into_iter().map(|mut v| {
                if batch {
                    v.pointer = format!("/{index}{}", v.pointer);
                }
                v
            }));
        }
        if violations.is_empty() {
            Ok(checked)
        } else {
            Err(Rejection::Invalid(violations))
        }
    }

    fn enter(&self, principal: &Principal, key: &str) -> Result<InFlight<'_>, Rejection> {
        let entry = (principal.name.clone(), key.to_owned());
        let mut set = self
            .in_flight
            .lock()
            .map_err(|_| unavailable(StoreError::Unavailable("in-flight set poisoned".into())))?;
        if !set.insert(entry.clone()) {
            return Err(Rejection::IdempotencyKeyInFlight);
        }
        Ok(InFlight {
            set: &self.in_flight,
            key: entry,
        })
    }

    /// Audits one request answered with an earlier answer.
    async fn audit_replay(&self, principal: &Principal, action: &str) -> Result<(), Rejection> {
        let draft = AuditDraft {
            at_ms: self.clock.now_ms(),
            principal: principal.name.clone(),
            action: action.to_owned(),
            interface: None,
            outcome: "replayed".into(),
            message_id: None,
        };
        self.store
            .commit(Commit {
                audit: vec![draft],
                ..Commit::default()
            })
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn replay(
        &self,
        principal: &Principal,
        action: &str,
        first: IdempotencyRecord,
        request_hash: [u8; 32],
    ) -> Result<Accepted, Rejection> {
        if first.request_hash != request_hash {
            return Err(Rejection::IdempotencyKeyReused);
        }
        self.audit_replay(principal, action).await?;
        Ok(Accepted {
            status: first.status,
            body: first.response,
            replayed: true,
        })
    }

    #[allow(clippy::too_many_arguments)]
    async fn commit(
        &self,
        principal: &Principal,
        action: &str,
        checked: Vec<Checked<'_>>,
        key: Option<String>,
        request_hash: [u8; 32],
        batch: bool,
        now: i64,
    ) -> Result<Accepted, Rejection> {
        let events: Vec<_> = checked
            .iter()
            .map(|c| new_event(&c.validated, &c.interface, &principal.name, now))
            .collect();
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        let body = if batch {
            json!({"status": "accepted", "ids": ids})
        } else {
            json!({"status": "accepted", "id": ids.first()})
        };
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let audit = events
            .iter()
            .map(|e| AuditDraft {
                at_ms: now,
                principal: principal.name.clone(),
                action: action.to_owned(),
                interface: Some(e.interface.clone()),
                outcome: "accepted".into(),
                message_id: Some(e.id.clone()),
            })
            .collect();
        let idempotency = key.map(|key| IdempotencyRecord {
            principal: principal.name.clone(),
            key,
            request_hash,
            status: 202,
            response: body.clone(),
            created_at_ms: now,
            expires_at_ms: now.saturating_add(self.options.idempotency_retention_ms),
        });
        let had_key = idempotency.is_some();
        match self
            .store
            .commit(Commit {
                events,
                idempotency,
                audit,
            })
            .await
            .map_err(unavailable)?
        {
            CommitOutcome::Committed(outcomes) => {
                for (check, outcome) in checked.iter().zip(&outcomes) {
                    if matches!(outcome, EventOutcome::Stored(_)) {
                        let contract = check.validated.contract.contract().to_string();
                        metrics::counter!("takt_messages_accepted_total", "interface" => check.interface.clone(), "contract" => contract).increment(1);
                    }
                }
                let all_known = outcomes
                    .iter()
                    .all(|o| matches!(o, EventOutcome::AlreadyStored(_)));
                Ok(Accepted {
                    status: 202,
                    body,
                    replayed: all_known && !had_key,
                })
            }
            CommitOutcome::Replay(first) => {
                self.audit_replay(principal, action).await?;
                Ok(Accepted {
                    status: first.status,
                    body: first.response,
                    replayed: true,
                })
            }
            CommitOutcome::KeyReused(_) => Err(Rejection::IdempotencyKeyReused),
            CommitOutcome::EventConflict { id } => Err(Rejection::EventIdReused { id }),
        }
    }
}

/// Most plants one cached policy decision may name.
const MAX_CACHED_SITES: usize = 8;

/// A plant code as the envelope allows it: 1 to 16 of `A-Za-z0-9_-`.
fn is_site_code(site: &str) -> bool {
    (1..=16).contains(&site.len())
        && site
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// Commands go through `/v1/commands/{type}` (one at a time, with an
/// `Idempotency-Key`); `/v1/events` and native routes take events and queries.
fn route_violation(route: &Route, validated: &Validated<'_>) -> Option<Violation> {
    let pattern = validated.contract.meta.pattern;
    let contract = validated.contract.contract();
    let message = match (route, pattern) {
        (Route::Command(_), Pattern::Command)
        | (Route::Events | Route::Native(_), Pattern::Event | Pattern::Query) => return None,
        (Route::Command(_), _) => format!("{contract} is not a command; post events to /v1/events"),
        (_, _) => format!(
            "{contract} is a command; post it to /v1/commands/{contract} with an Idempotency-Key"
        ),
    };
    Some(Violation {
        pointer: "/type".into(),
        rule: "route".into(),
        message,
    })
}

impl Route {
    /// The metrics label of this route: `events`, `commands` or `native`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Events => "events",
            Self::Command(_) => "commands",
            Self::Native(_) => "native",
        }
    }

    /// The audit action of requests on this route.
    pub fn action(&self) -> &'static str {
        match self {
            Self::Events => "event.ingest",
            Self::Command(_) => "command.record",
            Self::Native(_) => "native.ingest",
        }
    }
}

/// A fresh W3C traceparent for a request that brought none.
fn traceparent() -> String {
    let trace = *uuid::Uuid::now_v7().as_bytes();
    let span = *uuid::Uuid::now_v7().as_bytes();
    format!("00-{}-{}-01", hex::encode(trace), hex::encode(&span[8..16]))
}

fn unavailable(e: StoreError) -> Rejection {
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
