//! What a sync command leaves behind: the commit of the command (or of a
//! refusal), its key's answer and audit entry; the delivery record with the
//! destination's answer; and the stored answer a retry with the key gets.

use takt_core::store::{AttemptRecord, DeliveryRecord, DeliveryState, DeliveryWrite, NewEvent};

use super::sync::{Answer, REFUSED, SyncCommand};
use super::*;

/// What a sync commit stored.
pub(super) enum Stored {
    /// The command, at this log position.
    Seq(i64),
    /// No command (a refusal).
    Nothing,
    /// Another request with the key committed first: its answer.
    Replay(IdempotencyRecord),
}

impl Gateway {
    /// Commits the command (if any), the key's answer and the audit entry together.
    pub(super) async fn commit_sync(
        &self,
        command: &SyncCommand<'_>,
        event: Option<NewEvent>,
        status: u16,
        response: Vec<u8>,
        outcome: &str,
    ) -> Result<Stored, Rejection> {
        let now = self.clock.now_ms();
        let audit = AuditDraft {
            at_ms: now,
            principal: command.principal.name.clone(),
            action: command.action.to_owned(),
            interface: event.as_ref().map(|e| e.interface.clone()),
            outcome: outcome.to_owned(),
            message_id: event.as_ref().map(|e| e.id.clone()),
        };
        let idempotency = IdempotencyRecord {
            principal: command.principal.name.clone(),
            key: command.key.to_owned(),
            request_hash: command.request_hash,
            status,
            response,
            created_at_ms: now,
            expires_at_ms: now.saturating_add(self.options.idempotency_retention_ms),
        };
        let commit = Commit {
            events: event.into_iter().collect(),
            idempotency: Some(idempotency),
            audit: vec![audit],
            ..Commit::default()
        };
        match self.store.commit(commit).await.map_err(unavailable)? {
            CommitOutcome::Committed(outcomes) => Ok(self.stored(&outcomes)),
            CommitOutcome::Replay(first) => {
                self.audit_replay(command.principal, command.action).await?;
                Ok(Stored::Replay(first))
            }
            CommitOutcome::KeyReused(_) => Err(Rejection::IdempotencyKeyReused),
            CommitOutcome::EventConflict { id } => Err(Rejection::EventIdReused { id }),
            // Only catalog changes can conflict so; this commit has none.
            CommitOutcome::CatalogConflict { reason } => {
                Err(unavailable(StoreError::Corrupt(reason)))
            }
        }
    }

    fn stored(&self, outcomes: &[EventOutcome]) -> Stored {
        match outcomes.first() {
            Some(EventOutcome::Stored(seq)) => {
                self.wake_delivery();
                Stored::Seq(*seq)
            }
            Some(EventOutcome::AlreadyStored(seq)) => Stored::Seq(*seq),
            None => Stored::Nothing,
        }
    }

    /// Records the delivery of an answered command on its hidden
    /// subscription, with the destination's answer, for
    /// `GET /v1/commands/{id}` and operators. Best effort: the command and
    /// its answer are already durable; without this record the command
    /// still reads as delivered, without the answer.
    pub(super) async fn record_answer(
        &self,
        event: &NewEvent,
        seq: i64,
        answer: Answer,
        started_at_ms: i64,
    ) {
        let now = self.clock.now_ms();
        let subscription = takt_core::sync::subscription_name(&event.interface);
        let detail = "answered while the sender waited".to_owned();
        let attempt = AttemptRecord {
            subscription: subscription.clone(),
            seq,
            attempt: 1,
            started_at_ms,
            finished_at_ms: now,
            outcome: "delivered".into(),
            status: Some(answer.status),
            detail: detail.clone(),
        };
        let record = DeliveryRecord {
            subscription,
            seq,
            event_id: event.id.clone(),
            contract: event.contract.clone(),
            site: event.site.clone(),
            key: event.partition_key.clone(),
            state: DeliveryState::Delivered,
            holds_key: false,
            attempts: 1,
            attempt_base: 0,
            next_attempt_at_ms: 0,
            reason: detail,
            last_status: Some(answer.status),
            last_response: answer.body,
            accepted_at_ms: event.accepted_at_ms,
            updated_at_ms: now,
            replay: false,
        };
        let commit = Commit {
            delivery: vec![
                DeliveryWrite::Attempt(attempt),
                DeliveryWrite::Record(record),
            ],
            ..Commit::default()
        };
        if let Err(e) = self.store.commit(commit).await {
            tracing::warn!(error = %e, id = %event.id, "the answer of a sync command was not recorded");
        }
    }
}

/// The first answer of a key, again: a stored refusal is refused again.
pub(super) fn replay(first: IdempotencyRecord) -> Result<Accepted, Rejection> {
    let stored: Value = serde_json::from_slice(&first.response).unwrap_or_default();
    if first.status == REFUSED
        && let Some(rejection) = rejection_from(&stored["rejected"])
    {
        return Err(rejection);
    }
    let location = stored["location"].as_str().map(str::to_owned);
    Ok(Accepted {
        status: first.status,
        body: first.response,
        replayed: true,
        location,
        deprecations: Vec::new(),
    })
}

/// A refusal as stored in its key's answer.
pub(super) fn rejection_json(rejection: &Rejection) -> Value {
    match rejection {
        Rejection::DestinationRejected {
            destination,
            status,
            excerpt,
            answer,
        } => {
            json!({"destination": destination, "status": status, "excerpt": excerpt, "answer": answer})
        }
        _ => Value::Null,
    }
}

fn rejection_from(stored: &Value) -> Option<Rejection> {
    Some(Rejection::DestinationRejected {
        destination: stored["destination"].as_str()?.to_owned(),
        status: u16::try_from(stored["status"].as_u64()?).ok()?,
        excerpt: stored["excerpt"].as_str()?.to_owned(),
        answer: Some(stored["answer"].clone())
            .filter(|a| !a.is_null())
            .map(Box::new),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(status: u16, response: &Value) -> IdempotencyRecord {
        IdempotencyRecord {
            principal: "erp-central".into(),
            key: "rel-1".into(),
            request_hash: [0; 32],
            status,
            response: serde_json::to_vec(response).unwrap_or_default(),
            created_at_ms: 0,
            expires_at_ms: 1,
        }
    }

    #[test]
    fn a_stored_refusal_is_refused_again_and_a_queued_answer_keeps_its_location() {
        let refusal = Rejection::DestinationRejected {
            destination: "mes-plant1010".into(),
            status: 409,
            excerpt: "{\"code\":\"ORDER_LOCKED\"}".into(),
            answer: Some(Box::new(json!({"reasons": [{"code": "ORDER_LOCKED"}]}))),
        };
        let stored = json!({"rejected": rejection_json(&refusal)});
        assert_eq!(replay(record(REFUSED, &stored)), Err(refusal));
        let queued = json!({"status": "queued", "id": "c1", "location": "/v1/commands/c1"});
        let again = replay(record(202, &queued)).unwrap_or_else(|e| panic!("{e}"));
        assert!(again.replayed);
        assert_eq!(again.location.as_deref(), Some("/v1/commands/c1"));
        let answered = replay(record(200, &json!({"status": "delivered"})));
        assert_eq!(answered.map(|a| (a.status, a.location)), Ok((200, None)));
    }
}
