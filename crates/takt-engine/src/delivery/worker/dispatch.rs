//! Handing messages to the connector: the window's free keys first, then
//! the records that are due, each attempt in a task of its own.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use takt_core::delivery::NextStep;
use takt_core::mapping::MapEnv;
use takt_core::store::{
    DeliveryQuery, DeliveryRecord, DeliveryState, DeliveryWrite, StoreError, StoredEvent,
};

use super::{Finished, Worker};

impl Worker {
    pub(super) fn room(&self) -> usize {
        (self.sub.config.policy.concurrency as usize).saturating_sub(self.tasks.len())
    }

    /// Sends the window's messages whose key is free, oldest first.
    pub(super) async fn dispatch_window(&mut self) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut chosen = Vec::new();
        for (seq, slot) in &self.window {
            if chosen.len() >= self.room() {
                break;
            }
            if slot.sending || self.sending.contains(&slot.key) || self.held.contains_key(&slot.key)
            {
                continue;
            }
            if !self.circuit.try_call(now) {
                break;
            }
            self.sending.insert(slot.key.clone());
            chosen.push(*seq);
        }
        if chosen.is_empty() {
            return Ok(());
        }
        let idempotent = self.sub.config.idempotent;
        let mut out = Vec::with_capacity(chosen.len());
        for seq in chosen {
            if idempotent {
                let Some(slot) = self.window.get_mut(&seq) else {
                    continue;
                };
                slot.sending = true;
                out.push((slot.event.clone(), slot.key.clone(), None));
            } else if let Some(slot) = self.window.remove(&seq) {
                // Recorded in flight before it goes: settled for the cursor.
                let record = DeliveryRecord {
                    state: DeliveryState::InFlight,
                    attempts: 1,
                    reason: "being sent".into(),
                    ..self.new_record(&slot.event, slot.key.clone(), now)
                };
                self.writes.push(DeliveryWrite::Record(record.clone()));
                out.push((slot.event, slot.key, Some(record)));
            }
        }
        if !idempotent {
            self.flush(true).await?;
        }
        for (event, key, record) in out {
            self.spawn(event, key, record, true);
        }
        Ok(())
    }

    /// Sends recorded messages that are their key's oldest and due.
    pub(super) async fn dispatch_due(&mut self) -> Result<(), StoreError> {
        if !self.check_due || self.held.is_empty() || self.room() == 0 {
            return Ok(());
        }
        // Each look costs a commit (below) and a query: while attempts are
        // under way, wait until a quarter of the slots are free, so that a
        // draining backlog is handed out in batches, not one by one.
        let batch = (self.sub.config.policy.concurrency as usize / 4).max(1);
        if !self.tasks.is_empty() && self.room() < batch {
            return Ok(());
        }
        self.check_due = false;
        // The store does not know yet what was settled since the last
        // commit: a record written here but not committed is passed over
        // (its key's next message is found at the next look, after the
        // commit), so nothing is handed out twice and no commit is waited
        // for before looking.
        let unwritten: HashSet<i64> = self
            .writes
            .iter()
            .filter_map(|w| match w {
                DeliveryWrite::Record(r) => Some(r.seq),
                _ => None,
            })
            .collect();
        let now = self.clock.now_ms();
        let due = self
            .store
            .deliveries(DeliveryQuery {
                due_heads_at_ms: Some(now),
                limit: self.room() + self.sending.len() + unwritten.len(),
                ..self.query()
            })
            .await?;
        let mut chosen = Vec::new();
        for record in due {
            if chosen.len() >= self.room() {
                break;
            }
            if self.sending.contains(&record.key) || unwritten.contains(&record.seq) {
                continue;
            }
            if !self.circuit.try_call(now) {
                break;
            }
            self.sending.insert(record.key.clone());
            chosen.push(record);
        }
        if chosen.is_empty() {
            return Ok(());
        }
        let idempotent = self.sub.config.idempotent;
        // One read for every message handed out.
        let seqs = chosen.iter().map(|r| r.seq).collect();
        let mut events: HashMap<i64, StoredEvent> = self
            .store
            .events_at(seqs)
            .await?
            .into_iter()
            .map(|e| (e.seq, e))
            .collect();
        let mut out = Vec::with_capacity(chosen.len());
        for record in chosen {
            let Some(event) = events.remove(&record.seq) else {
                self.sending.remove(&record.key);
                let reason = "the event is no longer in the log".to_owned();
                let holding = record.holds_key;
                let step = NextStep::DeadLetter {
                    reason,
                    park_key: false,
                };
                self.settle_record(record, holding, now, step, None, String::new());
                continue;
            };
            let record = if idempotent {
                record
            } else {
                let in_flight = DeliveryRecord {
                    state: DeliveryState::InFlight,
                    attempts: record.attempts + 1,
                    updated_at_ms: now,
                    ..record
                };
                self.writes.push(DeliveryWrite::Record(in_flight.clone()));
                in_flight
            };
            out.push((Arc::new(event), record));
        }
        if !idempotent && !out.is_empty() {
            self.flush(true).await?;
        }
        for (event, record) in out {
            let key = record.key.clone();
            self.spawn(event, key, Some(record), false);
        }
        Ok(())
    }

    pub(super) fn spawn(
        &mut self,
        event: Arc<StoredEvent>,
        key: String,
        record: Option<DeliveryRecord>,
        fresh: bool,
    ) {
        let attempt = match (&record, self.sub.config.idempotent) {
            // An in-flight record already counts the attempt under way.
            (Some(r), false) => r.attempts,
            (Some(r), true) => r.attempts + 1,
            (None, _) => 1,
        };
        let replay = record.as_ref().is_some_and(|r| r.replay);
        let (sub, clock, registry) = (self.sub.clone(), self.clock.clone(), self.registry.clone());
        self.tasks.spawn(async move {
            let started_at_ms = clock.now_ms();
            let env = MapEnv {
                units: registry.units(),
                on: chrono::DateTime::from_timestamp_millis(started_at_ms)
                    .unwrap_or_default()
                    .date_naive(),
            };
            let result = match sub.prepare(&event.event, env) {
                Ok(mut message) => {
                    message.replay = replay;
                    Ok(sub.connector.send(&message).await)
                }
                Err(reason) => Err(reason),
            };
            Finished {
                seq: event.seq,
                key,
                event,
                record,
                fresh,
                attempt,
                started_at_ms,
                result,
            }
        });
    }
}
