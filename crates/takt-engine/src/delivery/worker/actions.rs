//! Operators' actions, applied by the worker between deliveries so that an
//! action never races a delivery, and repeating one does nothing more:
//! redrive and discard (dead-lettered or in-doubt messages) and replay
//! (delivered messages, sent again marked as replays).

use takt_core::store::{DeliveryRecord, DeliveryState, DeliveryWrite, StoreError};
use tokio::sync::oneshot;

use super::Worker;

/// What an operator does: redrive or discard dead-lettered or in-doubt
/// messages, or replay delivered ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Back to pending, with a full `max_attempts` budget.
    Redrive,
    /// Given up on, for this reason.
    Discard(String),
    /// Delivered messages go out once more, marked as replays, with their
    /// idempotency key unchanged.
    Replay,
}

/// An operator's action on recorded messages, applied by the worker so that
/// it never races with a delivery.
pub(crate) struct Command {
    pub(crate) action: Action,
    pub(crate) seqs: Vec<i64>,
    pub(crate) principal: String,
    pub(crate) reply: oneshot::Sender<Result<Vec<ActionResult>, StoreError>>,
}

/// What an operator's action did to one message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ActionResult {
    /// The message's position in the log.
    pub seq: i64,
    /// `redriven`, `discarded`, `replayed`, `skipped` (not in a state the
    /// action applies to), `not_yet` (a replay of a message not delivered
    /// yet: it goes out anyway) or `not_found`.
    pub outcome: &'static str,
    /// The message's state after the action.
    pub state: Option<&'static str>,
}

impl Worker {
    /// Applies an operator's action, durably, then answers.
    pub(super) async fn command(&mut self, command: Command) -> Result<(), StoreError> {
        let outcome = self
            .act(&command.action, command.seqs, &command.principal)
            .await;
        let answer = match &outcome {
            Ok(results) => Ok(results.clone()),
            Err(e) => Err(StoreError::Unavailable(e.to_string())),
        };
        let _ = command.reply.send(answer);
        outcome.map(|_| ())
    }

    async fn act(
        &mut self,
        action: &Action,
        seqs: Vec<i64>,
        principal: &str,
    ) -> Result<Vec<ActionResult>, StoreError> {
        let now = self.clock.now_ms();
        let mut results: Vec<ActionResult> = Vec::with_capacity(seqs.len());
        for seq in seqs {
            // Writes are committed at the end, so a second read of the same
            // message would see its old state: a repeat is answered as such.
            if let Some(first) = results.iter().find(|r| r.seq == seq) {
                let repeat = ActionResult {
                    outcome: if first.outcome == "not_found" {
                        "not_found"
                    } else {
                        "skipped"
                    },
                    ..first.clone()
                };
                results.push(repeat);
                continue;
            }
            let result = match action {
                Action::Redrive => self.operate(None, seq, principal, now).await?,
                Action::Discard(reason) => self.operate(Some(reason), seq, principal, now).await?,
                Action::Replay => self.replay(seq, principal, now).await?,
            };
            results.push(result);
        }
        self.check_due = true;
        self.flush(true).await?;
        Ok(results)
    }

    /// Redrives (`discard` none) or discards one dead-lettered or in-doubt message.
    async fn operate(
        &mut self,
        discard: Option<&str>,
        seq: i64,
        principal: &str,
        now: i64,
    ) -> Result<ActionResult, StoreError> {
        let Some(record) = self.store.delivery_record(self.name(), seq).await? else {
            return Ok(result(seq, "not_found", None));
        };
        if !record.state.redrivable() {
            // Redriving twice, or discarding what moved on: nothing to do.
            return Ok(result(seq, "skipped", Some(record.state)));
        }
        let was_holding = record.holds_key;
        let (updated, outcome, audited) = match discard {
            None => (
                DeliveryRecord {
                    state: DeliveryState::Pending,
                    holds_key: true,
                    attempt_base: record.attempts,
                    next_attempt_at_ms: now,
                    reason: format!("redriven by {principal}"),
                    updated_at_ms: now,
                    ..record
                },
                "redriven",
                "delivery.redrive",
            ),
            Some(reason) => (
                DeliveryRecord {
                    state: DeliveryState::Discarded,
                    holds_key: false,
                    reason: format!("discarded by {principal}: {reason}"),
                    updated_at_ms: now,
                    ..record
                },
                "discarded",
                "delivery.discard",
            ),
        };
        self.audit_action(audited, &updated.event_id, outcome, principal, now);
        self.hold(&updated.key, was_holding, updated.holds_key);
        let answer = result(seq, outcome, Some(updated.state));
        self.writes.push(DeliveryWrite::Record(updated));
        Ok(answer)
    }

    /// Sends one delivered message again: a pending record marked as a
    /// replay, holding its key, so later messages of the key wait behind it.
    async fn replay(
        &mut self,
        seq: i64,
        principal: &str,
        now: i64,
    ) -> Result<ActionResult, StoreError> {
        let record = self.store.delivery_record(self.name(), seq).await?;
        if let Some(record) = &record
            && record.state != DeliveryState::Delivered
        {
            // Pending, in flight or held back: it goes out anyway. Dead
            // letters and discards are the operator's to redrive.
            return Ok(result(seq, "skipped", Some(record.state)));
        }
        if record.is_none() && seq > self.cursor {
            return Ok(result(seq, "not_yet", None));
        }
        let Some(event) = self.store.event_at(seq).await? else {
            return Ok(result(seq, "not_found", None));
        };
        if !self.sub.matches(&event.event) {
            return Ok(result(seq, "not_found", None));
        }
        let key = self.sub.key(&event.event).to_owned();
        let fresh = self.new_record(&event, key, now);
        let (attempts, last_status, last_response) = record.map_or((0, None, String::new()), |r| {
            (r.attempts, r.last_status, r.last_response)
        });
        let replayed = DeliveryRecord {
            attempts,
            attempt_base: attempts,
            next_attempt_at_ms: now,
            reason: format!("replayed by {principal}"),
            last_status,
            last_response,
            replay: true,
            ..fresh
        };
        self.audit_action(
            "delivery.replay",
            &replayed.event_id,
            "replayed",
            principal,
            now,
        );
        self.hold(&replayed.key, false, true);
        self.writes.push(DeliveryWrite::Record(replayed));
        Ok(result(seq, "replayed", Some(DeliveryState::Pending)))
    }
}

fn result(seq: i64, outcome: &'static str, state: Option<DeliveryState>) -> ActionResult {
    ActionResult {
        seq,
        outcome,
        state: state.map(DeliveryState::as_str),
    }
}
