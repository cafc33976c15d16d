//! Idempotency (in flight, replays) and the durable commit.

use super::*;

impl Gateway {
    pub(super) fn enter(
        &self,
        principal: &Principal,
        key: &str,
    ) -> Result<InFlight<'_>, Rejection> {
        let entry = (principal.name.clone(), key.to_owned());
        let mut set =
            self.shared.in_flight.lock().map_err(|_| {
                unavailable(StoreError::Unavailable("in-flight set poisoned".into()))
            })?;
        if !set.insert(entry.clone()) {
            return Err(Rejection::IdempotencyKeyInFlight);
        }
        Ok(InFlight {
            set: &self.shared.in_flight,
            key: entry,
        })
    }

    /// Audits one request answered with an earlier answer.
    pub(super) async fn audit_replay(
        &self,
        principal: &Principal,
        action: &str,
    ) -> Result<(), Rejection> {
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

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn commit(
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
        self.pressure
            .check(&events, self.options.store_quota_bytes)?;
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
                ..Commit::default()
            })
            .await
            .map_err(unavailable)?
        {
            CommitOutcome::Committed(outcomes) => {
                if outcomes
                    .iter()
                    .any(|o| matches!(o, EventOutcome::Stored(_)))
                {
                    self.wake_delivery();
                }
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
                    location: None,
                    deprecations: Vec::new(),
                })
            }
            CommitOutcome::Replay(first) => {
                self.audit_replay(principal, action).await?;
                Ok(Accepted {
                    status: first.status,
                    body: first.response,
                    replayed: true,
                    location: None,
                    deprecations: Vec::new(),
                })
            }
            CommitOutcome::KeyReused(_) => Err(Rejection::IdempotencyKeyReused),
            CommitOutcome::EventConflict { id } => Err(Rejection::EventIdReused { id }),
            // Only catalog changes can conflict so; this commit has none.
            CommitOutcome::CatalogConflict { reason } => {
                Err(unavailable(StoreError::Corrupt(reason)))
            }
        }
    }
}
