//! One subscription's delivery loop.
//!
//! The worker reads the event log from its subscription's cursor into a
//! bounded window, sends each key's oldest message (different keys in
//! parallel, up to the policy's concurrency), and settles what comes back:
//!
//! - delivered at the first attempt: nothing is written; the cursor moves
//!   past it (in batches);
//! - anything else becomes a durable [`DeliveryRecord`]: pending for a retry,
//!   dead-lettered, or in doubt. While a key has a record that holds it, its
//!   later messages are recorded as pending behind it and go out one by one
//!   in accepted order (the store's due-head query);
//! - for a destination that cannot de-duplicate, an in-flight record is
//!   written **before** the message is sent, so that after a crash the
//!   message goes to the in-doubt list instead of being sent again.
//!
//! Every change is committed before the cursor moves past it, so a crash at
//! any instant loses nothing: what was not settled is read again and sent
//! again (at least once; the idempotency header lets the destination drop
//! the copy). A failed commit restarts the worker from the durable state.
//!
//! `dispatch.rs` hands messages to the connector, `settle.rs` decides and
//! records what follows an attempt, `actions.rs` applies operators' actions.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use takt_core::audit::AuditDraft;
use takt_core::delivery::{Circuit, CircuitState};
use takt_core::registry::Registry;
use takt_core::store::{
    Clock, Commit, CommitOutcome, DeliveryQuery, DeliveryRecord, DeliveryState, DeliveryWrite,
    EventQuery, Store, StoreError, StoredEvent,
};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use super::connector::Report;
use super::subscription::Subscription;

mod actions;
mod dispatch;
mod settle;

pub(crate) use actions::Command;
pub use actions::{Action, ActionResult};

/// Most unsettled messages a worker keeps in memory, whatever the backlog.
const WINDOW: usize = 1_024;
/// Most events read from the log at once.
const PAGE: usize = 256;
/// How often waiting records are looked at, and idle workers look at the log.
const POLL: Duration = Duration::from_millis(250);
/// How often the cursor is written while messages keep flowing.
const CURSOR_EVERY: Duration = Duration::from_millis(50);

/// What a worker shows of itself, for metrics and `takt status`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Live {
    /// Every event at or before it is settled.
    pub cursor: i64,
    /// Messages read and not settled.
    pub window: usize,
    /// Attempts under way.
    pub in_flight: usize,
    /// `closed`, `open` or `half_open`.
    pub circuit: &'static str,
    /// Accepted time of the oldest message in the window.
    pub oldest_unsettled_ms: Option<i64>,
}

struct Slot {
    event: Arc<StoredEvent>,
    key: String,
    sending: bool,
}

/// A finished attempt, back from its task.
struct Finished {
    seq: i64,
    key: String,
    event: Arc<StoredEvent>,
    /// The record it was sent from (a retry, or an in-flight record).
    record: Option<DeliveryRecord>,
    /// Sent straight from the window (not waiting behind a record).
    fresh: bool,
    attempt: u32,
    started_at_ms: i64,
    result: Result<Report, String>,
}

pub(crate) struct Worker {
    sub: Arc<Subscription>,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    registry: Arc<Registry>,
    live: Arc<Mutex<Live>>,
    cursor: i64,
    cursor_written_at: tokio::time::Instant,
    read_to: i64,
    log_has_more: bool,
    window: BTreeMap<i64, Slot>,
    /// Records above the cursor: their events are not read again.
    recorded: HashSet<i64>,
    /// Ordering key → records holding it.
    held: HashMap<String, u32>,
    sending: HashSet<String>,
    tasks: JoinSet<Finished>,
    circuit: Circuit,
    writes: Vec<DeliveryWrite>,
    audit: Vec<AuditDraft>,
    check_due: bool,
}

impl Worker {
    pub(crate) fn new(
        sub: Arc<Subscription>,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        registry: Arc<Registry>,
        live: Arc<Mutex<Live>>,
    ) -> Self {
        let circuit = Circuit::new(sub.config.policy.circuit);
        Self {
            sub,
            store,
            clock,
            registry,
            live,
            cursor: 0,
            cursor_written_at: tokio::time::Instant::now(),
            read_to: 0,
            log_has_more: true,
            window: BTreeMap::new(),
            recorded: HashSet::new(),
            held: HashMap::new(),
            sending: HashSet::new(),
            tasks: JoinSet::new(),
            circuit,
            writes: Vec::new(),
            audit: Vec::new(),
            check_due: true,
        }
    }

    fn name(&self) -> &str {
        &self.sub.config.name
    }

    /// Runs until `stop` turns true; a failing store restarts it from the
    /// durable state after a pause.
    pub(crate) async fn run(
        mut self,
        mut commands: mpsc::Receiver<Command>,
        mut log: watch::Receiver<u64>,
        mut stop: watch::Receiver<bool>,
        grace: Duration,
    ) {
        loop {
            match self
                .session(&mut commands, &mut log, &mut stop, grace)
                .await
            {
                Ok(()) => return,
                Err(e) => {
                    tracing::warn!(subscription = %self.name(), error = %e, "delivery worker restarts from the stored state");
                    self.tasks.abort_all();
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_secs(1)) => {}
                        _ = stop.changed() => {}
                    }
                    if *stop.borrow() {
                        return;
                    }
                }
            }
        }
    }

    async fn session(
        &mut self,
        commands: &mut mpsc::Receiver<Command>,
        log: &mut watch::Receiver<u64>,
        stop: &mut watch::Receiver<bool>,
        grace: Duration,
    ) -> Result<(), StoreError> {
        self.recover().await?;
        loop {
            if *stop.borrow() {
                return self.drain(grace).await;
            }
            self.fill().await?;
            self.dispatch_due().await?;
            self.dispatch_window().await?;
            self.flush(self.tasks.is_empty()).await?;
            self.publish();
            tokio::select! {
                Some(done) = self.tasks.join_next(), if !self.tasks.is_empty() => {
                    self.take(done);
                    while let Some(done) = self.tasks.try_join_next() {
                        self.take(done);
                    }
                }
                changed = log.changed() => {
                    self.log_has_more = true;
                    if changed.is_err() {
                        // The gateway is gone: poll instead.
                        tokio::time::sleep(POLL).await;
                    }
                }
                Some(command) = commands.recv() => self.command(command).await?,
                _ = stop.changed() => {}
                () = tokio::time::sleep(POLL) => {
                    self.log_has_more = true;
                    self.check_due = true;
                }
            }
        }
    }

    fn take(&mut self, done: Result<Finished, tokio::task::JoinError>) {
        match done {
            Ok(finished) => self.finished(finished),
            // A panicking connector: the message stays unsettled and is
            // sent again after the restart this error causes.
            Err(e) => {
                tracing::error!(subscription = %self.name(), error = %e, "a delivery task failed")
            }
        }
    }

    /// Waits up to `grace` for attempts under way, records them, and stops.
    async fn drain(&mut self, grace: Duration) -> Result<(), StoreError> {
        let deadline = tokio::time::Instant::now() + grace;
        while !self.tasks.is_empty() {
            match tokio::time::timeout_at(deadline, self.tasks.join_next()).await {
                Ok(Some(done)) => self.take(done),
                Ok(None) | Err(_) => break,
            }
        }
        // What is still out is sent again after a restart (or, for a
        // destination that cannot de-duplicate, found in flight: in doubt).
        self.tasks.abort_all();
        self.flush(true).await
    }

    /// Starts from the durable state: cursor, records, keys they hold.
    async fn recover(&mut self) -> Result<(), StoreError> {
        self.window.clear();
        self.recorded.clear();
        self.held.clear();
        self.sending.clear();
        self.writes.clear();
        self.audit.clear();
        self.cursor = self.store.delivery_cursor(self.name()).await?;
        self.read_to = self.cursor;
        self.log_has_more = true;
        self.check_due = true;
        let now = self.clock.now_ms();
        let holding = DeliveryQuery {
            only_holding: true,
            ..self.query()
        };
        for record in self.all_records(holding).await? {
            let record = if record.state == DeliveryState::InFlight {
                self.interrupted(record, now)
            } else {
                record
            };
            if record.holds_key {
                *self.held.entry(record.key.clone()).or_insert(0) += 1;
            }
        }
        // Events with a record above the cursor are settled: not read again.
        let above = DeliveryQuery {
            after_seq: self.cursor,
            ..self.query()
        };
        self.recorded = self
            .all_records(above)
            .await?
            .iter()
            .map(|r| r.seq)
            .collect();
        self.flush(true).await
    }

    /// A query for this subscription's records.
    fn query(&self) -> DeliveryQuery {
        DeliveryQuery {
            subscription: Some(self.name().to_owned()),
            ..Default::default()
        }
    }

    /// Every record `query` finds, page by page.
    async fn all_records(&self, query: DeliveryQuery) -> Result<Vec<DeliveryRecord>, StoreError> {
        let mut all = Vec::new();
        let mut after = query.after_seq;
        loop {
            let page = self
                .store
                .deliveries(DeliveryQuery {
                    after_seq: after,
                    limit: 1_000,
                    ..query.clone()
                })
                .await?;
            let Some(last) = page.last() else {
                return Ok(all);
            };
            after = last.seq;
            all.extend(page);
        }
    }

    /// A record found in flight after a restart: the attempt's outcome is
    /// unknown. Sent again when the destination de-duplicates; otherwise in
    /// doubt, for an operator.
    fn interrupted(&mut self, record: DeliveryRecord, now: i64) -> DeliveryRecord {
        let record = if self.sub.config.idempotent {
            DeliveryRecord {
                state: DeliveryState::Pending,
                holds_key: true,
                next_attempt_at_ms: now,
                reason: "the hub stopped during an attempt; it is sent again (the destination de-duplicates)".into(),
                updated_at_ms: now,
                ..record
            }
        } else {
            let reason = format!(
                "the hub stopped while attempt {} was being sent (since {}): it may have arrived, and the destination cannot de-duplicate",
                record.attempts,
                chrono::DateTime::from_timestamp_millis(record.updated_at_ms)
                    .unwrap_or_default()
                    .to_rfc3339()
            );
            self.in_doubt(record, reason, now)
        };
        self.writes.push(DeliveryWrite::Record(record.clone()));
        record
    }

    /// Reads the log past what was read, into the window (or behind a held key).
    async fn fill(&mut self) -> Result<(), StoreError> {
        while self.log_has_more && self.window.len() < WINDOW {
            let limit = PAGE.min(WINDOW - self.window.len());
            // A subscription that takes only events with a business key reads
            // only those; what it skipped is settled up to the head seen first.
            let required = self.sub.required_key().cloned();
            let head = match required {
                Some(_) => Some(self.store.log_head().await?),
                None => None,
            };
            let page = self
                .store
                .events(EventQuery {
                    after_seq: self.read_to,
                    limit,
                    business_key: required,
                    ..Default::default()
                })
                .await?;
            self.log_has_more = page.len() == limit;
            for stored in page {
                self.read_to = stored.seq;
                if !self.sub.matches(&stored.event) || self.recorded.contains(&stored.seq) {
                    continue;
                }
                let key = self.sub.key(&stored.event).to_owned();
                let event = Arc::new(stored);
                if self.held.contains_key(&key) {
                    self.queue_behind(&event, key);
                } else {
                    self.window.insert(
                        event.seq,
                        Slot {
                            event,
                            key,
                            sending: false,
                        },
                    );
                }
            }
            // What the key filter skipped is settled up to the head read first.
            if let Some(head) = head.filter(|_| !self.log_has_more) {
                self.read_to = self.read_to.max(head);
            }
        }
        Ok(())
    }

    /// Records a message as pending behind the record holding its key.
    fn queue_behind(&mut self, event: &StoredEvent, key: String) {
        let now = self.clock.now_ms();
        let record = DeliveryRecord {
            reason: "waiting for an earlier message of its ordering key".into(),
            ..self.new_record(event, key.clone(), now)
        };
        *self.held.entry(key).or_insert(0) += 1;
        self.writes.push(DeliveryWrite::Record(record));
    }

    fn new_record(&self, event: &StoredEvent, key: String, now: i64) -> DeliveryRecord {
        DeliveryRecord {
            subscription: self.name().to_owned(),
            seq: event.seq,
            event_id: event.event.id.clone(),
            contract: event.event.contract.clone(),
            site: event.event.site.clone(),
            key,
            state: DeliveryState::Pending,
            holds_key: true,
            attempts: 0,
            attempt_base: 0,
            next_attempt_at_ms: 0,
            reason: String::new(),
            last_status: None,
            last_response: String::new(),
            accepted_at_ms: event.event.accepted_at_ms,
            updated_at_ms: now,
            replay: false,
        }
    }

    /// Where the cursor may be: just before the oldest unsettled message.
    fn settled_to(&self) -> i64 {
        self.window
            .keys()
            .next()
            .map_or(self.read_to, |first| first - 1)
    }

    /// Commits what changed, with the cursor; a cursor-only change waits
    /// for [`CURSOR_EVERY`] unless `force`.
    async fn flush(&mut self, force: bool) -> Result<(), StoreError> {
        let cursor = self.settled_to();
        let cursor_due =
            cursor > self.cursor && (force || self.cursor_written_at.elapsed() >= CURSOR_EVERY);
        if self.writes.is_empty() && self.audit.is_empty() && !cursor_due {
            return Ok(());
        }
        let mut delivery = std::mem::take(&mut self.writes);
        if cursor > self.cursor {
            delivery.push(DeliveryWrite::Cursor {
                subscription: self.name().to_owned(),
                seq: cursor,
            });
        }
        let commit = Commit {
            delivery,
            audit: std::mem::take(&mut self.audit),
            ..Default::default()
        };
        match self.store.commit(commit).await? {
            CommitOutcome::Committed(_) => {}
            other => {
                return Err(StoreError::Corrupt(format!(
                    "a delivery commit was answered {other:?}"
                )));
            }
        }
        if cursor > self.cursor {
            self.cursor = cursor;
            self.cursor_written_at = tokio::time::Instant::now();
            self.recorded.retain(|seq| *seq > cursor);
        }
        Ok(())
    }

    fn publish(&self) {
        let circuit = match self.circuit.state() {
            CircuitState::Closed { .. } => "closed",
            CircuitState::Open { .. } => "open",
            CircuitState::HalfOpen => "half_open",
        };
        let live = Live {
            cursor: self.cursor,
            window: self.window.len(),
            in_flight: self.tasks.len(),
            circuit,
            oldest_unsettled_ms: self
                .window
                .values()
                .next()
                .map(|s| s.event.event.accepted_at_ms),
        };
        if let Ok(mut shared) = self.live.lock() {
            *shared = live;
        }
    }
}
