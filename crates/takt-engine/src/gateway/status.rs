//! `GET /v1/commands/{id}`: where a command stands, for its sender (or an
//! operator), read from the stored command and its delivery record on the
//! interface's hidden subscription.

use takt_core::store::{DeliveryRecord, DeliveryState, StoreError, StoredEvent};
use takt_core::sync::{CommandState, command_state, mark_of, subscription_name};
use takt_model::config::Role;

use super::*;

impl Gateway {
    /// The state of command `id`, as JSON: `status` (`queued`, `delivered`,
    /// `rejected`, `dead_lettered`, `in_doubt`, `discarded`, or `accepted`
    /// for a command without a `[sync]` destination), and the destination's
    /// (mapped) answer once there is one. Anyone but its sender or an
    /// operator gets 404, as for an unknown id.
    pub async fn command_status(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<Value, Rejection> {
        let not_found = || Rejection::NotFound(format!("no command with id {id}"));
        let stored = self.store.event(id).await.map_err(read_failed)?;
        let Some(stored) = stored else {
            return Err(not_found());
        };
        let event = &stored.event;
        let is_command = self
            .registry
            .contract(&event.contract)
            .is_some_and(|c| c.latest().meta.pattern == Pattern::Command);
        let operator = principal.has_any_role(&[Role::Admin, Role::Operator]);
        if !is_command || !(operator || event.principal == principal.name) {
            return Err(not_found());
        }
        let mark = mark_of(&event.business_keys);
        let record = match mark {
            Some(_) => self
                .store
                .delivery_record(&subscription_name(&event.interface), stored.seq)
                .await
                .map_err(read_failed)?,
            None => None,
        };
        let state = command_state(mark, record.as_ref());
        Ok(self.status_view(&stored, state, record.as_ref(), operator))
    }

    /// The answer of `GET /v1/commands/{id}`; the delivery record's reason
    /// (with the destination's address) only for operators.
    fn status_view(
        &self,
        stored: &StoredEvent,
        state: CommandState,
        record: Option<&DeliveryRecord>,
        operator: bool,
    ) -> Value {
        let event = &stored.event;
        let route = self.sync.get(&event.interface);
        let mut view = json!({
            "id": event.id,
            "type": event.contract,
            "interface": event.interface,
            "status": state.as_str(),
            "accepted_at_ms": event.accepted_at_ms,
            "destination": route.map(|r| r.config.destination.clone()),
        });
        let Some(record) = record else {
            return view;
        };
        view["attempts"] = json!(record.attempts);
        view["updated_at_ms"] = json!(record.updated_at_ms);
        if state == CommandState::Queued && record.state == DeliveryState::Pending {
            view["next_attempt_at_ms"] = json!(record.next_attempt_at_ms);
        }
        if operator && !matches!(state, CommandState::Delivered) {
            view["reason"] = json!(record.reason);
        }
        let answered = matches!(state, CommandState::Delivered | CommandState::Rejected);
        if let (true, Some(status), Some(route)) = (answered, record.last_status, route) {
            view["destination_status"] = json!(status);
            let request: Value = serde_json::from_slice(&event.body).unwrap_or_default();
            let env = self.map_env(record.updated_at_ms);
            match route.answer(&request, status, &record.last_response, env) {
                Ok(answer) => view["answer"] = answer,
                Err(e) => view["answer_error"] = json!(e.to_string()),
            }
        }
        view
    }
}

fn read_failed(e: StoreError) -> Rejection {
    tracing::warn!(error = %e, "store read failed");
    Rejection::Unavailable {
        detail: "the store does not answer".into(),
        retry_after_secs: 1,
    }
}
