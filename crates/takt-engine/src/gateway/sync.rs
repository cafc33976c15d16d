//! Sync commands: after the usual checks, the command goes to its
//! interface's `[sync]` destination while the sender waits.
//!
//! | destination | answer | stored |
//! |---|---|---|
//! | 2xx | 200 with the (mapped) answer | the command (marked answered), key, audit; then its delivery record |
//! | refuses (other 4xx) | 422 `destination_rejected` | key (the refusal replays), audit |
//! | away, `fail_fast` | 503 `destination_unavailable` + `Retry-After` | nothing (audit only) |
//! | away, `queue` | 202 + `Location: /v1/commands/{id}` | the command (marked queued), key, audit |
//!
//! A known key is answered from its record before anything is sent, so a
//! retry never calls the destination again. On a queueing interface, a
//! command whose ordering key still has a command in the queue is queued
//! behind it without a call, so the destination gets the key's commands in
//! accepted order.

use takt_core::delivery::AttemptOutcome;
use takt_core::mapping::MappingError;
use takt_core::store::{DeliveryQuery, EventQuery, NewEvent};
use takt_core::sync::{
    ANSWERED, MARK, QUEUED, SyncVerdict, judge, retry_after_secs, subscription_name,
};
use takt_model::delivery::{OnUnavailable, SyncConfig};

use super::sync_record::{Stored, rejection_json, replay};
use super::*;
use crate::sync::SyncRoute;

/// Queued commands read at once while looking for one of a key.
const PAGE: usize = 256;

/// The status stored with a refusal, so that a replay can tell it from an answer.
pub(super) const REFUSED: u16 = 422;

/// One sync command on its way.
pub(super) struct SyncCommand<'a> {
    pub(super) principal: &'a Principal,
    pub(super) action: &'a str,
    pub(super) route: &'a SyncRoute,
    pub(super) key: &'a str,
    pub(super) request_hash: [u8; 32],
}

/// What the destination said, once it answered.
pub(super) struct Answer {
    /// Its HTTP status.
    pub(super) status: u16,
    /// Its answer body (up to [`crate::sync::ANSWER_BYTES`]).
    pub(super) body: String,
}

impl Gateway {
    /// The `[sync]` route of a checked command's interface, if it covers its plant.
    pub(super) fn sync_route(&self, checked: &[Checked<'_>]) -> Option<&SyncRoute> {
        let [only] = checked else { return None };
        let site = only
            .validated
            .message
            .get("siteid")
            .and_then(Value::as_str)?;
        self.sync
            .get(&only.interface)
            .filter(|route| route.config.covers(site))
    }

    /// The mapping environment at `now_ms`.
    pub(super) fn map_env(&self, now_ms: i64) -> MapEnv<'_> {
        let on = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
        MapEnv {
            units: self.registry.units(),
            on: on.date_naive(),
        }
    }

    /// Calls the destination and answers the sender (see the module's table).
    pub(super) async fn sync_command(
        &self,
        command: SyncCommand<'_>,
        checked: Vec<Checked<'_>>,
    ) -> Result<Accepted, Rejection> {
        let now = self.clock.now_ms();
        if let Some(first) = self.known_answer(&command, now).await? {
            return replay(first);
        }
        let Some(only) = checked.first() else {
            return Err(Rejection::BadRequest("no command in the request".into()));
        };
        let event = new_event(
            &only.validated,
            &only.interface,
            &command.principal.name,
            now,
        );
        self.pressure
            .check(std::slice::from_ref(&event), self.options.store_quota_bytes)?;
        self.refuse_reused_id(&event).await?;
        if command.route.config.on_unavailable == OnUnavailable::Queue
            && self.key_is_queued(&event).await?
        {
            let reason = "an earlier command of its ordering key is still queued";
            return self.queued(&command, event, reason).await;
        }
        let message = &only.validated.message;
        let outgoing = command
            .route
            .outgoing(&event, message, self.map_env(now))
            .map_err(mapping_failed)?;
        let report = command.route.call(&outgoing).await;
        let (status, public) = public_reason(&report.outcome, &command.route.config);
        let answer = Answer {
            status,
            body: report.response,
        };
        match judge(report.outcome) {
            SyncVerdict::Answered => self.answered(&command, event, message, answer).await,
            SyncVerdict::Refused => self.refused(&command, &event, message, answer).await,
            SyncVerdict::Unavailable {
                reason,
                retry_after_ms,
            } => {
                tracing::warn!(interface = %event.interface, %reason, "sync destination unavailable");
                self.away(&command, event, &public, retry_after_ms).await
            }
        }
    }

    /// The destination is away: 503, or the command is queued, as the
    /// interface's `on_unavailable` says.
    async fn away(
        &self,
        command: &SyncCommand<'_>,
        event: NewEvent,
        reason: &str,
        retry_after_ms: Option<u64>,
    ) -> Result<Accepted, Rejection> {
        match command.route.config.on_unavailable {
            OnUnavailable::FailFast => {
                count(&event.interface, "unavailable");
                let route = command.route;
                Err(destination_unavailable(route, reason, retry_after_ms))
            }
            OnUnavailable::Queue => self.queued(command, event, reason).await,
        }
    }

    /// The first answer of the command's key, if it was used before with
    /// the same body (audited as a replay); another body is refused.
    async fn known_answer(
        &self,
        command: &SyncCommand<'_>,
        now: i64,
    ) -> Result<Option<IdempotencyRecord>, Rejection> {
        let known = self
            .store
            .idempotency_record(&command.principal.name, command.key, now)
            .await
            .map_err(unavailable)?;
        let Some(first) = known else {
            return Ok(None);
        };
        if first.request_hash != command.request_hash {
            return Err(Rejection::IdempotencyKeyReused);
        }
        self.audit_replay(command.principal, command.action).await?;
        Ok(Some(first))
    }

    /// Whether an earlier command of `event`'s ordering key waits in its
    /// interface's queue: then this one waits behind it, so that the
    /// destination gets the key's commands in accepted order.
    async fn key_is_queued(&self, event: &NewEvent) -> Result<bool, Rejection> {
        let subscription = subscription_name(&event.interface);
        let holding = DeliveryQuery {
            subscription: Some(subscription.clone()),
            key: Some(event.partition_key.clone()),
            only_holding: true,
            limit: 1,
            ..DeliveryQuery::default()
        };
        if !self
            .store
            .deliveries(holding)
            .await
            .map_err(unavailable)?
            .is_empty()
        {
            return Ok(true);
        }
        // Queued commands the queue has not settled yet, recorded or not.
        let mut after = self
            .store
            .delivery_cursor(&subscription)
            .await
            .map_err(unavailable)?;
        loop {
            let query = EventQuery {
                after_seq: after,
                business_key: Some((MARK.into(), QUEUED.into())),
                limit: PAGE,
                ..EventQuery::default()
            };
            let page = self.store.events(query).await.map_err(unavailable)?;
            for stored in page.iter().filter(|s| {
                s.event.interface == event.interface && s.event.partition_key == event.partition_key
            }) {
                let record = self.store.delivery_record(&subscription, stored.seq);
                let settled = record
                    .await
                    .map_err(unavailable)?
                    .is_some_and(|r| !r.holds_key);
                if !settled {
                    return Ok(true);
                }
            }
            match page.last() {
                Some(last) if page.len() == PAGE => after = last.seq,
                _ => return Ok(false),
            }
        }
    }

    /// Refuses an event whose `source` + `id` is stored with other content,
    /// before the destination hears of it.
    async fn refuse_reused_id(&self, event: &NewEvent) -> Result<(), Rejection> {
        let stored = self.store.event(&event.id).await.map_err(unavailable)?;
        match stored {
            Some(s) if s.event.source == event.source && s.event.body != event.body => {
                Err(Rejection::EventIdReused {
                    id: event.id.clone(),
                })
            }
            _ => Ok(()),
        }
    }

    /// 2xx: stores the command with the answer as its key's answer, then
    /// records the delivery with the destination's answer.
    async fn answered(
        &self,
        command: &SyncCommand<'_>,
        mut event: NewEvent,
        message: &Value,
        answer: Answer,
    ) -> Result<Accepted, Rejection> {
        let route = command.route;
        let now = self.clock.now_ms();
        let mut body = json!({
            "status": "delivered",
            "id": event.id,
            "destination": route.config.destination,
        });
        match route.answer(message, answer.status, &answer.body, self.map_env(now)) {
            Ok(mapped) => body["answer"] = mapped,
            Err(e) => {
                tracing::warn!(interface = %event.interface, error = %e, "a sync answer could not be mapped");
                body["answer"] = Value::Null;
                body["answer_error"] = json!(e.to_string());
            }
        }
        event.business_keys.push((MARK.into(), ANSWERED.into()));
        let body = serde_json::to_vec(&body).unwrap_or_default();
        let stored = self
            .commit_sync(
                command,
                Some(event.clone()),
                200,
                body.clone(),
                &format!("delivered:{}", route.config.destination),
            )
            .await?;
        let seq = match stored {
            Stored::Seq(seq) => seq,
            // Not produced for a commit with an event; the sender retries
            // and the destination drops the copy by its Idempotency-Key.
            Stored::Nothing => {
                let e = StoreError::Corrupt("a commit with a command stored none".into());
                return Err(unavailable(e));
            }
            Stored::Replay(first) => return replay(first),
        };
        count(&event.interface, "answered");
        self.record_answer(&event, seq, answer, now).await;
        Ok(Accepted {
            status: 200,
            body,
            replayed: false,
            location: None,
            deprecations: Vec::new(),
        })
    }

    /// The destination refused it: the refusal is the key's answer.
    async fn refused(
        &self,
        command: &SyncCommand<'_>,
        event: &NewEvent,
        message: &Value,
        answer: Answer,
    ) -> Result<Accepted, Rejection> {
        let route = command.route;
        let mapped = route.answer(
            message,
            answer.status,
            &answer.body,
            self.map_env(event.accepted_at_ms),
        );
        let rejection = Rejection::DestinationRejected {
            destination: route.config.destination.clone(),
            status: answer.status,
            excerpt: excerpt(&answer.body),
            answer: mapped.ok().map(Box::new),
        };
        let stored = json!({"rejected": rejection_json(&rejection)});
        let stored = serde_json::to_vec(&stored).unwrap_or_default();
        count(&event.interface, "refused");
        match self
            .commit_sync(
                command,
                None,
                REFUSED,
                stored,
                "rejected:destination_rejected",
            )
            .await?
        {
            Stored::Replay(first) => replay(first),
            Stored::Seq(_) | Stored::Nothing => Err(rejection),
        }
    }

    /// The destination is away and the interface queues: stores the command
    /// for its hidden subscription and answers 202 with where to look.
    async fn queued(
        &self,
        command: &SyncCommand<'_>,
        mut event: NewEvent,
        reason: &str,
    ) -> Result<Accepted, Rejection> {
        let location = format!("/v1/commands/{}", event.id);
        let body = json!({
            "status": "queued",
            "id": event.id,
            "destination": command.route.config.destination,
            "location": location,
            "reason": reason,
        });
        let body = serde_json::to_vec(&body).unwrap_or_default();
        event.business_keys.push((MARK.into(), QUEUED.into()));
        let interface = event.interface.clone();
        match self
            .commit_sync(
                command,
                Some(event),
                202,
                body.clone(),
                &format!("queued:{}", command.route.config.destination),
            )
            .await?
        {
            Stored::Replay(first) => replay(first),
            Stored::Seq(_) | Stored::Nothing => {
                count(&interface, "queued");
                Ok(Accepted {
                    status: 202,
                    body,
                    replayed: false,
                    location: Some(location),
                    deprecations: Vec::new(),
                })
            }
        }
    }
}

/// The destination's HTTP status (0 without an answer), and what happened
/// in words a sender may read: no URL, no connector internals (those are logged).
pub(super) fn public_reason(outcome: &AttemptOutcome, config: &SyncConfig) -> (u16, String) {
    match outcome {
        AttemptOutcome::Answered { status, .. } => (*status, format!("it answered {status}")),
        AttemptOutcome::NotSent { .. } => (0, "it could not be reached".into()),
        AttemptOutcome::NoAnswer { reason }
            if reason.contains("timed out") || reason.contains("no answer within") =>
        {
            (0, format!("no answer within {} ms", config.timeout_ms))
        }
        AttemptOutcome::NoAnswer { .. } => (0, "the connection was lost before its answer".into()),
    }
}

/// 503: the destination is away; what the sender does now.
pub(super) fn destination_unavailable(
    route: &SyncRoute,
    reason: &str,
    retry_after_ms: Option<u64>,
) -> Rejection {
    let retry_after_secs = retry_after_secs(route.config.retry_after_secs, retry_after_ms);
    Rejection::DestinationUnavailable {
        detail: format!(
            "{} cannot answer now ({reason}); nothing was acknowledged: send the same request again after {retry_after_secs} s",
            route.config.destination
        ),
        retry_after_secs,
    }
}

/// At most [`crate::delivery::EXCERPT_BYTES`] of an answer, cut at a character.
pub(super) fn excerpt(text: &str) -> String {
    let mut end = text.len().min(crate::delivery::EXCERPT_BYTES);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

pub(super) fn mapping_failed(e: MappingError) -> Rejection {
    Rejection::MappingFailed {
        mapping: e.mapping,
        message: e.message,
    }
}

/// Counts a sync call by interface and outcome.
pub(super) fn count(interface: &str, outcome: &'static str) {
    metrics::counter!("takt_sync_calls_total", "interface" => interface.to_owned(), "outcome" => outcome)
        .increment(1);
}
