//! The delivery engine: one worker per subscription, delivering accepted
//! messages to their destinations in order, with retries, a circuit
//! breaker, a dead-letter queue and an in-doubt list (see [`worker`] for how
//! a message moves).
//!
//! [`DeliveryEngine::start`] builds every subscription of a deployment (its
//! mapping and connector) and starts its worker; the gateway wakes the
//! workers when it commits new events. Operators act through
//! [`DeliveryEngine::redrive`] and [`DeliveryEngine::discard`], which the
//! worker applies between deliveries, so an action never races a delivery
//! and repeating one does nothing more.

mod amqp;
mod connector;
mod convert;
mod file;
mod http;
mod mqtt;
mod replay;
mod subscription;
mod worker;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use takt_core::deployment::Deployment;
use takt_core::registry::Registry;
use takt_core::store::{Clock, DeliveryState, Store, StoreError};
use tokio::sync::{mpsc, oneshot, watch};

pub use amqp::AmqpDelivery;
pub use connector::{Connector, EXCERPT_BYTES, Outgoing, Report, percent_encode};
pub use convert::Conversion;
pub use file::FileDelivery;
pub use http::{HttpDelivery, Secrets, sign};
pub use mqtt::MqttDelivery;
pub use replay::{ReplaySelection, ReplayState, ReplayStatus};
pub use subscription::Subscription;
pub use worker::{Action, ActionResult, Live};
use worker::{Command, Worker};

/// Why the delivery engine could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    /// A subscription cannot be used as configured.
    #[error("subscription {subscription}: field `{field}`: {reason}")]
    Config {
        /// The subscription's name.
        subscription: String,
        /// The offending field.
        field: String,
        /// What is wrong.
        reason: String,
    },
    /// No subscription has this name.
    #[error("no subscription is named {0:?}")]
    UnknownSubscription(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The engine is stopping.
    #[error("the delivery engine is stopping")]
    Stopped,
    /// A replay cannot be started as asked.
    #[error("field `{field}`: {reason}")]
    BadReplay {
        /// The offending field of the request.
        field: String,
        /// What is wrong.
        reason: String,
    },
}

/// A running subscription, as the engine holds it.
struct Running {
    subscription: Arc<Subscription>,
    commands: mpsc::Sender<Command>,
    live: Arc<Mutex<Live>>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

/// Every subscription's worker.
pub struct DeliveryEngine {
    running: BTreeMap<String, Running>,
    stop: watch::Sender<bool>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    replays: replay::Replays,
}

/// A subscription's delivery state, for `takt status` and metrics.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SubscriptionStatus {
    /// The subscription's name.
    pub subscription: String,
    /// The destination system.
    pub destination: String,
    /// Every event at or before this log position is settled.
    pub cursor: i64,
    /// Attempts under way.
    pub in_flight: usize,
    /// Messages read and not yet settled.
    pub unsettled: usize,
    /// Recorded messages waiting for a retry or behind their key.
    pub pending: u64,
    /// Messages in the dead-letter queue.
    pub dead_lettered: u64,
    /// Messages in the in-doubt list.
    pub in_doubt: u64,
    /// What waits for this subscription: messages accepted after its cursor
    /// (of every type; it reads them all) plus pending records. Compared
    /// with `policy.backlog.max_messages`.
    pub backlog: u64,
    /// `closed`, `open` or `half_open`.
    pub circuit: &'static str,
    /// Now minus the accepted time of the oldest undelivered message, in seconds.
    pub lag_seconds: f64,
}

/// How the engine is started.
pub struct DeliveryOptions<'a> {
    /// Reads secrets (tokens, passwords, signing keys) by environment variable name.
    pub secrets: Secrets<'a>,
    /// How long a stopping worker waits for attempts under way.
    pub grace: Duration,
}

impl DeliveryEngine {
    /// Builds and starts every subscription of `deployment` (needs a tokio
    /// runtime). `log` changes whenever new events are committed.
    pub fn start(
        deployment: &Deployment,
        registry: Arc<Registry>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        log: &watch::Receiver<u64>,
        options: &DeliveryOptions<'_>,
    ) -> Result<Self, DeliveryError> {
        let subscriptions = Self::build(deployment, &registry, options)?;
        Ok(Self::with_subscriptions(
            subscriptions,
            registry,
            store,
            clock,
            log,
            options.grace,
        ))
    }

    /// Every subscription of `deployment` (and the queues of its sync
    /// interfaces), built and ready to run, without starting anything: what
    /// can fail (a mapping, a connector, a missing secret) fails here.
    pub fn build(
        deployment: &Deployment,
        registry: &Arc<Registry>,
        options: &DeliveryOptions<'_>,
    ) -> Result<Vec<Subscription>, DeliveryError> {
        let conversions = Conversion::compile_all(&deployment.conversions, registry)?;
        let mut subscriptions = Vec::new();
        for config in deployment.subscriptions.values() {
            let mapping = deployment
                .subscription_mappings
                .get(&config.name)
                .map(|(origin, code)| (origin.as_str(), code.as_str()));
            let subscription = Subscription::new(config.clone(), mapping, options.secrets)?;
            subscriptions.push(subscription.with_conversions(&conversions));
        }
        // Commands queued by sync interfaces while their destination was away.
        subscriptions.extend(crate::sync::queue_subscriptions(
            deployment,
            registry,
            options.secrets,
        )?);
        Ok(subscriptions)
    }

    /// Starts workers for subscriptions built elsewhere (tests, other connectors).
    pub fn with_subscriptions(
        subscriptions: Vec<Subscription>,
        registry: Arc<Registry>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        log: &watch::Receiver<u64>,
        grace: Duration,
    ) -> Self {
        let (stop, stopped) = watch::channel(false);
        let mut running = BTreeMap::new();
        for subscription in subscriptions {
            let subscription = Arc::new(subscription);
            let live = Arc::new(Mutex::new(Live::default()));
            let (commands, receiver) = mpsc::channel(16);
            let worker = Worker::new(
                subscription.clone(),
                store.clone(),
                clock.clone(),
                registry.clone(),
                live.clone(),
            );
            let task = tokio::spawn(worker.run(receiver, log.clone(), stopped.clone(), grace));
            running.insert(
                subscription.config.name.clone(),
                Running {
                    subscription,
                    commands,
                    live,
                    task: Mutex::new(Some(task)),
                },
            );
        }
        Self {
            running,
            stop,
            store,
            clock,
            replays: replay::Replays::default(),
        }
    }

    fn running(&self, name: &str) -> Result<&Running, DeliveryError> {
        self.running
            .get(name)
            .ok_or_else(|| DeliveryError::UnknownSubscription(name.to_owned()))
    }

    /// The subscriptions, by name.
    pub fn subscriptions(&self) -> impl Iterator<Item = &Subscription> {
        self.running.values().map(|r| r.subscription.as_ref())
    }

    /// Applies an operator's action to messages of `subscription`. Only
    /// dead-lettered or in-doubt messages change; any other is answered
    /// `skipped` with its state, so repeating an action does nothing more.
    pub async fn act(
        &self,
        subscription: &str,
        action: Action,
        seqs: Vec<i64>,
        principal: &str,
    ) -> Result<Vec<ActionResult>, DeliveryError> {
        let running = self.running(subscription)?;
        let (reply, answer) = oneshot::channel();
        let command = Command {
            action,
            seqs,
            principal: principal.to_owned(),
            reply,
        };
        running
            .commands
            .send(command)
            .await
            .map_err(|_| DeliveryError::Stopped)?;
        Ok(answer.await.map_err(|_| DeliveryError::Stopped)??)
    }

    /// Puts dead-lettered or in-doubt messages back to pending: redriving twice sends once.
    pub async fn redrive(
        &self,
        subscription: &str,
        seqs: Vec<i64>,
        principal: &str,
    ) -> Result<Vec<ActionResult>, DeliveryError> {
        self.act(subscription, Action::Redrive, seqs, principal)
            .await
    }

    /// Gives up on dead-lettered or in-doubt messages, with a reason.
    pub async fn discard(
        &self,
        subscription: &str,
        seqs: Vec<i64>,
        reason: &str,
        principal: &str,
    ) -> Result<Vec<ActionResult>, DeliveryError> {
        let action = Action::Discard(reason.to_owned());
        self.act(subscription, action, seqs, principal).await
    }

    /// Starts a replay of `subscription`'s delivered messages that
    /// `selection` names (see [`replay`](self::replay)); follow it with
    /// [`DeliveryEngine::replay_status`].
    pub async fn replay(
        &self,
        subscription: &str,
        selection: ReplaySelection,
        principal: &str,
    ) -> Result<ReplayStatus, DeliveryError> {
        let running = self.running(subscription)?;
        let job = replay::Job {
            subscription: running.subscription.clone(),
            commands: running.commands.clone(),
            store: self.store.clone(),
            clock: self.clock.clone(),
        };
        job.start(&self.replays, selection, principal).await
    }

    /// A replay job's progress, while the hub keeps it (the last 100 jobs).
    pub fn replay_status(&self, id: &str) -> Option<ReplayStatus> {
        self.replays.get(id)
    }

    /// Every kept replay job, oldest first.
    pub fn replays(&self) -> Vec<ReplayStatus> {
        self.replays.all()
    }

    /// Every subscription's state; also sets the delivery gauges.
    pub async fn status(&self) -> Result<Vec<SubscriptionStatus>, DeliveryError> {
        let counts = self.store.delivery_counts().await?;
        let head = self.store.log_head().await?;
        let now = self.clock.now_ms();
        let mut all = Vec::with_capacity(self.running.len());
        for (name, running) in &self.running {
            let live = running.live.lock().map(|l| l.clone()).unwrap_or_default();
            let count = |state: DeliveryState| {
                counts
                    .iter()
                    .find(|c| &c.subscription == name && c.state == state)
                    .map_or((0, None), |c| (c.count, Some(c.oldest_accepted_at_ms)))
            };
            let (pending, oldest_pending) = count(DeliveryState::Pending);
            let (in_flight_records, oldest_in_flight) = count(DeliveryState::InFlight);
            let oldest = [live.oldest_unsettled_ms, oldest_pending, oldest_in_flight]
                .into_iter()
                .flatten()
                .min();
            #[allow(clippy::cast_precision_loss)]
            let lag_seconds = oldest.map_or(0.0, |at| (now - at).max(0) as f64 / 1000.0);
            // A worker that has not loaded its cursor yet shows 0: the stored one counts then.
            let cursor = live.cursor.max(self.store.delivery_cursor(name).await?);
            let unread = u64::try_from(head - cursor).unwrap_or(0);
            let status = SubscriptionStatus {
                subscription: name.clone(),
                destination: running.subscription.config.destination.clone(),
                cursor: live.cursor,
                in_flight: live.in_flight,
                unsettled: live.window,
                pending: pending + in_flight_records,
                dead_lettered: count(DeliveryState::DeadLettered).0,
                in_doubt: count(DeliveryState::InDoubt).0,
                backlog: unread + pending + in_flight_records,
                circuit: live.circuit,
                lag_seconds,
            };
            set_gauges(&status);
            all.push(status);
        }
        Ok(all)
    }

    /// Stops every worker: attempts under way get the grace period to finish.
    pub async fn stop(&self) {
        let _ = self.stop.send(true);
        for running in self.running.values() {
            let task = running.task.lock().ok().and_then(|mut t| t.take());
            if let Some(task) = task {
                let _ = task.await;
            }
        }
    }
}

impl Drop for DeliveryEngine {
    /// Workers not stopped with [`DeliveryEngine::stop`] are aborted, with
    /// their attempts under way: what they had not settled is sent again by
    /// the next engine (as after a crash).
    fn drop(&mut self) {
        for running in self.running.values() {
            if let Some(task) = running.task.lock().ok().and_then(|mut t| t.take()) {
                task.abort();
            }
        }
    }
}

#[allow(clippy::cast_precision_loss)]
fn set_gauges(s: &SubscriptionStatus) {
    let name = s.subscription.clone();
    metrics::gauge!("takt_event_lag_seconds", "subscription" => name.clone()).set(s.lag_seconds);
    metrics::gauge!("takt_delivery_pending", "subscription" => name.clone()).set(s.pending as f64);
    metrics::gauge!("takt_delivery_dead_lettered", "subscription" => name.clone())
        .set(s.dead_lettered as f64);
    metrics::gauge!("takt_delivery_in_doubt", "subscription" => name.clone())
        .set(s.in_doubt as f64);
    metrics::gauge!("takt_delivery_in_flight", "subscription" => name.clone())
        .set(s.in_flight as f64);
    metrics::gauge!("takt_delivery_backlog", "subscription" => name.clone()).set(s.backlog as f64);
    let circuit = match s.circuit {
        "open" => 1.0,
        "half_open" => 0.5,
        _ => 0.0,
    };
    metrics::gauge!("takt_delivery_circuit_open", "subscription" => name).set(circuit);
}
