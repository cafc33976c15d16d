//! Settling an attempt: the verdict, the next step, the durable record and
//! its audit entry, and which keys are held.

use takt_core::audit::AuditDraft;
use takt_core::delivery::{AttemptOutcome, NextStep, Verdict, classify, next_step};
use takt_core::store::{AttemptRecord, DeliveryRecord, DeliveryState, DeliveryWrite};

use super::{Finished, Worker};

impl Worker {
    /// Decides what follows an attempt, and records it.
    pub(super) fn finished(&mut self, f: Finished) {
        self.sending.remove(&f.key);
        let now = self.clock.now_ms();
        let policy = &self.sub.config.policy;
        let (verdict, status, response, answered) = match &f.result {
            Ok(report) => {
                let status = match report.outcome {
                    AttemptOutcome::Answered { status, .. } => Some(status),
                    _ => None,
                };
                (
                    classify(report.outcome.clone(), self.sub.config.idempotent),
                    status,
                    report.response.clone(),
                    true,
                )
            }
            Err(reason) => (
                Verdict::Refused {
                    reason: format!("the mapping failed, nothing was sent: {reason}"),
                },
                None,
                String::new(),
                false,
            ),
        };
        match verdict {
            Verdict::Delivered => self.circuit.success(),
            Verdict::Refused { .. } if answered => self.circuit.success(),
            Verdict::Refused { .. } => {}
            Verdict::Retry { .. } | Verdict::InDoubt { .. } => self.circuit.failure(now),
        }
        let base = f.record.as_ref().map_or(0, |r| r.attempt_base);
        let step = next_step(
            policy,
            f.attempt.saturating_sub(base),
            verdict.clone(),
            now,
            fastrand::f64(),
        );
        metrics::counter!("takt_deliveries_total", "subscription" => self.name().to_owned(), "outcome" => outcome_name(&step)).increment(1);
        if step == NextStep::Done && f.record.is_none() && !self.sub.keeps_answers() {
            self.window.remove(&f.seq);
            return;
        }
        let detail = match &verdict {
            Verdict::Delivered => "delivered".to_owned(),
            Verdict::Retry { reason, .. }
            | Verdict::Refused { reason }
            | Verdict::InDoubt { reason } => reason.clone(),
        };
        let attempt = AttemptRecord {
            subscription: self.name().to_owned(),
            seq: f.seq,
            attempt: f.attempt,
            started_at_ms: f.started_at_ms,
            finished_at_ms: now,
            outcome: verdict_name(&verdict).into(),
            status,
            detail: detail.clone(),
        };
        self.writes.push(DeliveryWrite::Attempt(attempt));
        if f.fresh {
            self.window.remove(&f.seq);
        }
        // A fresh message's in-flight record is not counted as holding its
        // key: nothing else of the key was sent meanwhile.
        let was_holding = !f.fresh && f.record.as_ref().is_some_and(|r| r.holds_key);
        let record = f
            .record
            .unwrap_or_else(|| self.new_record(&f.event, f.key.clone(), now));
        let record = DeliveryRecord {
            attempts: f.attempt,
            // What this attempt met; the step below words it for the operator.
            reason: detail,
            ..record
        };
        self.settle_record(record, was_holding, now, step, status, response);
    }

    /// Records the step decided for a message; `was_holding`: whether its
    /// record held its key before.
    pub(super) fn settle_record(
        &mut self,
        record: DeliveryRecord,
        was_holding: bool,
        now: i64,
        step: NextStep,
        status: Option<u16>,
        response: String,
    ) {
        let record = DeliveryRecord {
            updated_at_ms: now,
            last_status: status.or(record.last_status),
            last_response: if response.is_empty() {
                record.last_response
            } else {
                response
            },
            ..record
        };
        let record = match step {
            NextStep::Done => DeliveryRecord {
                state: DeliveryState::Delivered,
                holds_key: false,
                ..record
            },
            NextStep::RetryAt(at) => DeliveryRecord {
                state: DeliveryState::Pending,
                holds_key: true,
                next_attempt_at_ms: at,
                reason: format!(
                    "attempt {} failed: {}; next attempt at {}",
                    record.attempts,
                    record.reason,
                    chrono::DateTime::from_timestamp_millis(at)
                        .unwrap_or_default()
                        .to_rfc3339()
                ),
                ..record
            },
            NextStep::DeadLetter { reason, park_key } => {
                self.audit_action(
                    "delivery.dead_letter",
                    &record.event_id,
                    "dead_lettered",
                    "system",
                    now,
                );
                DeliveryRecord {
                    state: DeliveryState::DeadLettered,
                    holds_key: park_key,
                    reason,
                    ..record
                }
            }
            NextStep::InDoubt { reason } => self.in_doubt(record, reason, now),
        };
        self.hold(&record.key, was_holding, record.holds_key);
        self.writes.push(DeliveryWrite::Record(record));
    }

    /// The message goes to the in-doubt list (audited); its key waits.
    pub(super) fn in_doubt(
        &mut self,
        record: DeliveryRecord,
        reason: String,
        now: i64,
    ) -> DeliveryRecord {
        self.audit_action(
            "delivery.in_doubt",
            &record.event_id,
            "in_doubt",
            "system",
            now,
        );
        DeliveryRecord {
            state: DeliveryState::InDoubt,
            holds_key: true,
            reason,
            updated_at_ms: now,
            ..record
        }
    }

    /// Keeps the count of records holding `key` as one changes.
    pub(super) fn hold(&mut self, key: &str, was: bool, now_holding: bool) {
        match (was, now_holding) {
            (false, true) => {
                let count = self.held.entry(key.to_owned()).or_insert(0);
                *count += 1;
                if *count == 1 {
                    // The key's messages still in the window wait behind it.
                    let waiting: Vec<i64> = self
                        .window
                        .iter()
                        .filter(|(_, s)| s.key == key && !s.sending)
                        .map(|(seq, _)| *seq)
                        .collect();
                    for seq in waiting {
                        if let Some(slot) = self.window.remove(&seq) {
                            self.queue_behind(&slot.event, slot.key);
                        }
                    }
                }
            }
            (true, false) => {
                if let Some(count) = self.held.get_mut(key) {
                    *count = count.saturating_sub(1);
                    if *count == 0 {
                        self.held.remove(key);
                    }
                }
                self.check_due = true;
            }
            (true, true) => self.check_due = true,
            (false, false) => {}
        }
    }

    pub(super) fn audit_action(
        &mut self,
        action: &str,
        message_id: &str,
        outcome: &str,
        principal: &str,
        now: i64,
    ) {
        self.audit.push(AuditDraft {
            at_ms: now,
            principal: principal.to_owned(),
            action: action.to_owned(),
            interface: Some(self.name().to_owned()),
            outcome: outcome.to_owned(),
            message_id: Some(message_id.to_owned()),
        });
    }
}

fn outcome_name(step: &NextStep) -> &'static str {
    match step {
        NextStep::Done => "delivered",
        NextStep::RetryAt(_) => "retried",
        NextStep::DeadLetter { .. } => "dead_lettered",
        NextStep::InDoubt { .. } => "in_doubt",
    }
}

fn verdict_name(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Delivered => "delivered",
        Verdict::Retry { .. } => "retry",
        Verdict::Refused { .. } => "refused",
        Verdict::InDoubt { .. } => "in_doubt",
    }
}
