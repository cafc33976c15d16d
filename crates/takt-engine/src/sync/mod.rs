//! Sync commands and queries: an interface's `[sync]` destination, called
//! while the sender waits (see `docs/commands.md`).
//!
//! - [`SyncRoute`]: per interface with `[sync]`, the request mapping, an
//!   HTTP connector with the sync deadline, the response mapping and, for
//!   queries, the answer cache. The gateway builds them and calls them
//!   (`gateway/sync.rs`, `gateway/query.rs`).
//! - [`queue_subscriptions`]: for interfaces with `on_unavailable =
//!   "queue"`, the hidden subscription `sync:<interface>` that delivers the
//!   commands queued while the destination was away, with the normal
//!   retries, dead-letter queue and operator actions. The delivery engine
//!   runs them beside the deployment's subscriptions.
//!
//! Commands go to the destination with their CloudEvents id as
//! `Idempotency-Key`: a sync destination must de-duplicate on it, since a
//! sender retrying after a timeout, or a queued command sent again, reaches
//! it twice.

mod cache;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use takt_core::delivery::AttemptOutcome;
use takt_core::deployment::Deployment;
use takt_core::mapping::{MapEnv, Mapping, MappingError};
use takt_core::registry::Registry;
use takt_core::store::NewEvent;
use takt_core::sync::{QUEUED, answer_input, sync_contracts};
use takt_model::config::InterfaceConfig;
use takt_model::delivery::{OnUnavailable, SubscriptionConfig, SyncConfig};

pub(crate) use cache::{AnswerCache, CachedAnswer};

use crate::delivery::{
    Connector, DeliveryError, HttpDelivery, Outgoing, Report, Secrets, Subscription, percent_encode,
};

/// How much of a sync answer is read, kept and mapped.
pub const ANSWER_BYTES: usize = 64 * 1024;

/// One interface's `[sync]`, ready to call.
pub(crate) struct SyncRoute {
    /// As configured.
    pub(crate) config: SyncConfig,
    request: Option<Mapping>,
    response: Option<Mapping>,
    connector: Arc<dyn Connector>,
    /// Query answers, when `cache_ttl_ms` is set.
    pub(crate) cache: Option<AnswerCache>,
}

/// The subscription form of `interface`'s `[sync]` (see
/// [`takt_core::sync::subscription`]).
fn hidden_config(
    interface: &InterfaceConfig,
    sync: &SyncConfig,
    registry: &Registry,
) -> SubscriptionConfig {
    takt_core::sync::subscription(interface, sync, sync_contracts(interface, registry))
}

fn compile(mapping: Option<&(String, String)>) -> Result<Option<Mapping>, MappingError> {
    mapping
        .map(|(origin, code)| Mapping::compile(origin, code))
        .transpose()
}

/// A connector mistake as a deployment error naming the interface file.
fn config_error(deployment: &Deployment, interface: &str, e: &DeliveryError) -> takt_core::Error {
    let file = deployment
        .root
        .clone()
        .unwrap_or_default()
        .join("interfaces")
        .join(format!("{interface}.toml"));
    let reason = match e {
        DeliveryError::Config { field, reason, .. } => format!("field `sync.{field}`: {reason}"),
        other => other.to_string(),
    };
    takt_core::Error::Config {
        origin: file.display().to_string(),
        reason,
    }
}

/// The sync routes of a checked deployment, by interface; `secrets` reads
/// the connectors' secrets by environment variable name.
pub(crate) fn routes(
    deployment: &Deployment,
    registry: &Registry,
    secrets: Secrets<'_>,
) -> takt_core::Result<HashMap<String, SyncRoute>> {
    let mut routes = HashMap::new();
    for interface in deployment.interfaces.values() {
        if let Some(sync) = &interface.sync {
            let route = route(deployment, registry, interface, sync, secrets)?;
            routes.insert(interface.name.clone(), route);
        }
    }
    Ok(routes)
}

fn route(
    deployment: &Deployment,
    registry: &Registry,
    interface: &InterfaceConfig,
    sync: &SyncConfig,
    secrets: Secrets<'_>,
) -> takt_core::Result<SyncRoute> {
    let mut config = hidden_config(interface, sync, registry);
    // The client's own deadline is the sync call's.
    config.policy.timeout_ms = sync.timeout_ms;
    let mappings = deployment.sync_mappings.get(&interface.name);
    let mapping_error = |e: MappingError| takt_core::Error::Config {
        origin: e.mapping.clone(),
        reason: e.message,
    };
    let request = compile(mappings.and_then(|m| m.request.as_ref())).map_err(mapping_error)?;
    let response = compile(mappings.and_then(|m| m.response.as_ref())).map_err(mapping_error)?;
    let connector = HttpDelivery::new(&config, &sync.connector, secrets)
        .map_err(|e| config_error(deployment, &interface.name, &e))?
        .with_answer_limit(ANSWER_BYTES);
    Ok(SyncRoute {
        cache: (sync.cache_ttl_ms > 0).then(|| AnswerCache::new(sync.cache_ttl_ms)),
        config: sync.clone(),
        request,
        response,
        connector: Arc::new(connector),
    })
}

/// The hidden subscriptions `sync:<interface>` of interfaces that queue
/// commands while their destination is away: they deliver only commands
/// marked queued, and keep the destination's answer of every delivery.
pub fn queue_subscriptions(
    deployment: &Deployment,
    registry: &Registry,
    secrets: Secrets<'_>,
) -> Result<Vec<Subscription>, DeliveryError> {
    let mut subscriptions = Vec::new();
    for interface in deployment.interfaces.values() {
        let Some(sync) = &interface.sync else {
            continue;
        };
        if sync.on_unavailable != OnUnavailable::Queue {
            continue;
        }
        let config = hidden_config(interface, sync, registry);
        let mappings = deployment.sync_mappings.get(&interface.name);
        let request = compile(mappings.and_then(|m| m.request.as_ref())).map_err(|e| {
            DeliveryError::Config {
                subscription: config.name.clone(),
                field: "request_mapping".into(),
                reason: e.to_string(),
            }
        })?;
        let connector =
            HttpDelivery::new(&config, &sync.connector, secrets)?.with_answer_limit(ANSWER_BYTES);
        let subscription = Subscription::with_connector(config, request, Arc::new(connector))
            .only_with_key(takt_core::sync::MARK, QUEUED)
            .keeping_answers();
        subscriptions.push(subscription);
    }
    Ok(subscriptions)
}

impl SyncRoute {
    /// The request as the destination receives it: the stored form of the
    /// command or query, mapped by the request mapping.
    pub(crate) fn outgoing(
        &self,
        event: &NewEvent,
        message: &Value,
        env: MapEnv<'_>,
    ) -> Result<Outgoing, MappingError> {
        let body = match &self.request {
            None => event.body.clone(),
            Some(mapping) => {
                let output = mapping.run(message, env)?;
                serde_json::to_vec(&output).map_err(|e| MappingError {
                    mapping: mapping.name().to_owned(),
                    message: e.to_string(),
                })?
            }
        };
        Ok(Outgoing {
            id: event.id.clone(),
            contract: event.contract.clone(),
            subject: event.subject.clone(),
            site: event.site.clone(),
            partition_key: event.partition_key.clone(),
            body,
            replay: false,
        })
    }

    /// The cache key of `outgoing` sent for `principal`.
    pub(crate) fn cache_key(&self, principal: &str, outgoing: &Outgoing) -> [u8; 32] {
        let url = outgoing.expand(&self.config.connector.url, percent_encode);
        cache::key(principal, &url, &outgoing.body)
    }

    /// Calls the destination; no answer within `timeout_ms` is
    /// [`AttemptOutcome::NoAnswer`].
    pub(crate) async fn call(&self, outgoing: &Outgoing) -> Report {
        let deadline = Duration::from_millis(self.config.timeout_ms);
        match tokio::time::timeout(deadline, self.connector.send(outgoing)).await {
            Ok(report) => report,
            Err(_) => Report {
                outcome: AttemptOutcome::NoAnswer {
                    reason: format!("no answer within {} ms", self.config.timeout_ms),
                },
                response: String::new(),
            },
        }
    }

    /// The answer the sender gets for the destination's `status` and
    /// `body`: the response mapping's output, or the body as JSON.
    pub(crate) fn answer(
        &self,
        request: &Value,
        status: u16,
        body: &str,
        env: MapEnv<'_>,
    ) -> Result<Value, MappingError> {
        match &self.response {
            None => Ok(takt_core::sync::answer_body(body)),
            Some(mapping) => mapping.run(&answer_input(request, status, body), env),
        }
    }
}
