//! Replay: messages a subscription already delivered go out once more, in
//! accepted order per key, marked as replays and with their idempotency
//! key unchanged — after a destination restored a backup, say.
//!
//! A replay job pages through the log (bounded memory whatever its size),
//! picks the messages its [`ReplaySelection`] names among those the
//! subscription delivers, and hands them in batches to the subscription's
//! worker as [`Action::Replay`]: each becomes a pending record that holds
//! its ordering key, so later messages of that key wait behind it.
//! Messages that are not delivered yet are left alone (they go out anyway);
//! dead-lettered, in-doubt and discarded ones are the operator's to
//! redrive. The job's progress is kept in memory: a job cut short by a
//! restart is not resumed (start it again; what was replayed goes out once
//! more, with the same idempotency keys).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use takt_core::store::{Clock, EventQuery, Store, StoreError, StoredEvent};
use tokio::sync::{mpsc, oneshot};

use super::DeliveryError;
use super::subscription::Subscription;
use super::worker::{Action, ActionResult, Command};

/// Events read from the log at once.
const PAGE: usize = 500;
/// Jobs kept for `GET /v1/replays` (the oldest finished ones are forgotten).
const KEPT: usize = 100;
/// Accepted times are not strictly ordered across hub instances: a time
/// range is scanned this far past its end.
const CLOCK_SLACK_MS: i64 = 60_000;

/// Which delivered messages a replay sends again. Every field narrows it;
/// none at all replays everything the subscription delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplaySelection {
    /// Accepted at or after this instant (Unix milliseconds).
    #[serde(default)]
    pub from_ms: Option<i64>,
    /// Accepted before this instant (Unix milliseconds).
    #[serde(default)]
    pub to_ms: Option<i64>,
    /// Only messages with this business key, e.g. `("orderId", "100012345")`.
    #[serde(default)]
    pub business_key: Option<(String, String)>,
    /// Only these contract types (each one the subscription delivers).
    #[serde(default)]
    pub types: Vec<String>,
}

/// Where a replay job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplayState {
    /// Still reading the log.
    Running,
    /// Every selected message was handed to the worker.
    Done,
    /// Stopped by an error (see `error`).
    Failed,
}

/// A replay job's progress, for the admin API and `takt replay`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReplayStatus {
    /// The job's id.
    pub id: String,
    /// The subscription replayed to.
    pub subscription: String,
    /// Who started it.
    pub principal: String,
    /// What it replays.
    pub selection: ReplaySelection,
    /// Running, done or failed.
    pub state: ReplayState,
    /// The log's last position when the job started: it scans up to here.
    pub head: i64,
    /// The log position scanned so far (progress is `scanned_to / head`).
    pub scanned_to: i64,
    /// Messages selected.
    pub matched: u64,
    /// Messages that go out again.
    pub replayed: u64,
    /// Messages left alone: not delivered yet, or waiting, dead-lettered,
    /// in doubt or discarded.
    pub skipped: u64,
    /// When it started and ended, Unix milliseconds.
    pub started_at_ms: i64,
    /// When it ended.
    pub finished_at_ms: Option<i64>,
    /// Why it failed.
    pub error: Option<String>,
}

/// The jobs of every subscription, newest last.
#[derive(Default)]
pub(super) struct Replays {
    jobs: Mutex<BTreeMap<String, Arc<Mutex<ReplayStatus>>>>,
}

impl Replays {
    /// A snapshot of one job.
    pub(super) fn get(&self, id: &str) -> Option<ReplayStatus> {
        let jobs = self.jobs.lock().ok()?;
        let job = jobs.get(id)?;
        job.lock().ok().map(|s| s.clone())
    }

    /// Snapshots of every kept job, oldest first.
    pub(super) fn all(&self) -> Vec<ReplayStatus> {
        let Ok(jobs) = self.jobs.lock() else {
            return Vec::new();
        };
        jobs.values()
            .filter_map(|j| j.lock().ok().map(|s| s.clone()))
            .collect()
    }

    fn add(&self, status: ReplayStatus) -> Arc<Mutex<ReplayStatus>> {
        let job = Arc::new(Mutex::new(status.clone()));
        if let Ok(mut jobs) = self.jobs.lock() {
            while jobs.len() >= KEPT {
                let Some(oldest) = jobs.keys().next().cloned() else {
                    break;
                };
                jobs.remove(&oldest);
            }
            jobs.insert(status.id, job.clone());
        }
        job
    }
}

/// What a job needs to run.
pub(super) struct Job {
    pub(super) subscription: Arc<Subscription>,
    pub(super) commands: mpsc::Sender<Command>,
    pub(super) store: Arc<dyn Store>,
    pub(super) clock: Arc<dyn Clock>,
}

impl Job {
    /// Checks `selection`, registers the job in `replays` and starts it.
    pub(super) async fn start(
        self,
        replays: &Replays,
        selection: ReplaySelection,
        principal: &str,
    ) -> Result<ReplayStatus, DeliveryError> {
        self.check(&selection)?;
        let now = self.clock.now_ms();
        let status = ReplayStatus {
            id: uuid::Uuid::now_v7().to_string(),
            subscription: self.subscription.config.name.clone(),
            principal: principal.to_owned(),
            selection,
            state: ReplayState::Running,
            head: self.store.log_head().await?,
            scanned_to: 0,
            matched: 0,
            replayed: 0,
            skipped: 0,
            started_at_ms: now,
            finished_at_ms: None,
            error: None,
        };
        tracing::info!(subscription = %status.subscription, replay = %status.id, principal, "replay started");
        let job = replays.add(status.clone());
        tokio::spawn(self.run(job));
        Ok(status)
    }

    fn check(&self, selection: &ReplaySelection) -> Result<(), DeliveryError> {
        let config = &self.subscription.config;
        let bad = |field: &str, reason: String| DeliveryError::BadReplay {
            field: field.to_owned(),
            reason,
        };
        if let (Some(from), Some(to)) = (selection.from_ms, selection.to_ms)
            && from >= to
        {
            return Err(bad("to", "must be after `from`".into()));
        }
        if let Some(unknown) = selection
            .types
            .iter()
            .find(|t| !config.contracts.contains(t))
        {
            let reason = format!(
                "subscription {} does not deliver {unknown}; it delivers {}",
                config.name,
                config.contracts.join(", ")
            );
            return Err(bad("types", reason));
        }
        Ok(())
    }

    async fn run(self, job: Arc<Mutex<ReplayStatus>>) {
        let (selection, principal, head) = match job.lock() {
            Ok(s) => (s.selection.clone(), s.principal.clone(), s.head),
            Err(_) => return,
        };
        let outcome = self.scan(&job, &selection, &principal, head).await;
        let now = self.clock.now_ms();
        if let Ok(mut status) = job.lock() {
            status.finished_at_ms = Some(now);
            match outcome {
                Ok(()) => {
                    status.state = ReplayState::Done;
                    status.scanned_to = head;
                }
                Err(e) => {
                    status.state = ReplayState::Failed;
                    status.error = Some(e.to_string());
                }
            }
            tracing::info!(replay = %status.id, state = ?status.state, replayed = status.replayed, "replay ended");
        }
    }

    /// Reads the log up to `head`, page by page, and hands each page's
    /// selected messages to the worker.
    async fn scan(
        &self,
        job: &Mutex<ReplayStatus>,
        selection: &ReplaySelection,
        principal: &str,
        head: i64,
    ) -> Result<(), DeliveryError> {
        let mut after = 0;
        while after < head {
            let page = self
                .store
                .events(EventQuery {
                    business_key: selection.business_key.clone(),
                    after_seq: after,
                    limit: PAGE,
                    ..EventQuery::default()
                })
                .await?;
            let Some(last) = page.last() else {
                return Ok(());
            };
            after = last.seq;
            let past_range = selection
                .to_ms
                .is_some_and(|to| last.event.accepted_at_ms > to.saturating_add(CLOCK_SLACK_MS));
            let seqs: Vec<i64> = page
                .iter()
                .filter(|e| e.seq <= head && self.selects(selection, e))
                .map(|e| e.seq)
                .collect();
            let results = self.replay(seqs, principal).await?;
            if let Ok(mut status) = job.lock() {
                tally(&mut status, &results);
                status.scanned_to = after.min(head);
            }
            if past_range {
                return Ok(());
            }
        }
        Ok(())
    }

    fn selects(&self, selection: &ReplaySelection, stored: &StoredEvent) -> bool {
        let event = &stored.event;
        let at = event.accepted_at_ms;
        self.subscription.matches(event)
            && selection.from_ms.is_none_or(|from| at >= from)
            && selection.to_ms.is_none_or(|to| at < to)
            && (selection.types.is_empty() || selection.types.contains(&event.contract))
    }

    async fn replay(
        &self,
        seqs: Vec<i64>,
        principal: &str,
    ) -> Result<Vec<ActionResult>, DeliveryError> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let (reply, answer) = oneshot::channel();
        let command = Command {
            action: Action::Replay,
            seqs,
            principal: principal.to_owned(),
            reply,
        };
        self.commands
            .send(command)
            .await
            .map_err(|_| DeliveryError::Stopped)?;
        let results: Result<Vec<ActionResult>, StoreError> =
            answer.await.map_err(|_| DeliveryError::Stopped)?;
        Ok(results?)
    }
}

fn tally(status: &mut ReplayStatus, results: &[ActionResult]) {
    for result in results {
        status.matched += 1;
        if result.outcome == "replayed" {
            status.replayed += 1;
        } else {
            status.skipped += 1;
        }
    }
}
