//! Sync commands and queries (an interface's `[sync]`): the decisions, free
//! of I/O.
//!
//! The gateway (in `takt-engine`) calls the destination while the sender
//! waits. These functions say what the destination's reaction means
//! ([`judge`]), which commands and queries an interface answers
//! synchronously ([`sync_contracts`]), which hidden subscription delivers
//! the commands queued while the destination was away ([`subscription`]),
//! what a response mapping reads ([`answer_input`]), and where a stored
//! command stands ([`command_state`]).
//!
//! A command the gateway stored carries the business key
//! `(`[`MARK`]`, `[`ANSWERED`]`)` when the destination acknowledged it while
//! the sender waited, or `(`[`MARK`]`, `[`QUEUED`]`)` when it was queued;
//! only queued commands match the hidden subscription.

use serde_json::{Value, json};
use takt_model::config::{InterfaceConfig, InterfacePattern};
use takt_model::delivery::{ConnectorConfig, Ordering, SubscriptionConfig, SyncConfig};

use crate::delivery::{AttemptOutcome, Verdict, classify};
use crate::registry::{Pattern, Registry};
use crate::store::{DeliveryRecord, DeliveryState};

/// The business-key kind marking how a command went through `[sync]`.
pub const MARK: &str = "takt.sync";
/// Stored after the destination acknowledged it while the sender waited.
pub const ANSWERED: &str = "answered";
/// Stored because the destination was away: delivered later by the worker.
pub const QUEUED: &str = "queued";
/// The longest `Retry-After` a sync refusal asks for, whatever the destination said.
pub const MAX_RETRY_AFTER_SECS: u64 = 3_600;

/// The hidden subscription of interface `interface`: `sync:<interface>`.
pub fn subscription_name(interface: &str) -> String {
    format!("sync:{interface}")
}

/// The contracts of `interface` that its `[sync]` answers: its commands
/// (command interface) or its queries (query interface); none for an
/// event interface.
pub fn sync_contracts(interface: &InterfaceConfig, registry: &Registry) -> Vec<String> {
    let wanted = match interface.pattern {
        InterfacePattern::Command => Pattern::Command,
        InterfacePattern::Query => Pattern::Query,
        InterfacePattern::Event => return Vec::new(),
    };
    interface
        .contracts
        .iter()
        .filter(|c| {
            registry
                .contract(c)
                .is_some_and(|c| c.latest().meta.pattern == wanted)
        })
        .cloned()
        .collect()
}

/// The subscription that delivers `interface`'s queued commands to the
/// `[sync]` destination, with the sync request mapping and the sync policy.
/// It is idempotent: a sync destination de-duplicates on `Idempotency-Key`.
pub fn subscription(
    interface: &InterfaceConfig,
    sync: &SyncConfig,
    contracts: Vec<String>,
) -> SubscriptionConfig {
    SubscriptionConfig {
        name: subscription_name(&interface.name),
        description: format!(
            "commands of interface {} queued while {} was away",
            interface.name, sync.destination
        ),
        owner: interface.owner.clone(),
        destination: sync.destination.clone(),
        contracts,
        versions: Vec::new(),
        sites: sync.sites.clone(),
        mapping: sync.request_mapping.clone(),
        ordering: Ordering::Partitionkey,
        idempotent: true,
        idempotency_header: "Idempotency-Key".into(),
        connector: ConnectorConfig::Http(sync.connector.clone()),
        policy: sync.policy.clone(),
    }
}

/// What a destination's reaction to a sync call means for the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SyncVerdict {
    /// 2xx: it acted; the sender gets its (mapped) answer.
    Answered,
    /// It refused the request itself (another status than 2xx, 408, 425,
    /// 429 or 5xx): retrying will not help.
    Refused,
    /// It cannot take it now (no connection, 408, 425, 429, 5xx, no answer
    /// within the deadline): the interface's `on_unavailable` decides.
    Unavailable {
        /// What happened, for the sender and the log.
        reason: String,
        /// The destination's `Retry-After`, in ms.
        retry_after_ms: Option<u64>,
    },
}

/// Judges a sync call as delivery would an attempt to a de-duplicating
/// destination ([`classify`]).
pub fn judge(outcome: AttemptOutcome) -> SyncVerdict {
    match classify(outcome, true) {
        Verdict::Delivered => SyncVerdict::Answered,
        Verdict::Refused { .. } => SyncVerdict::Refused,
        Verdict::Retry {
            reason,
            retry_after_ms,
        } => SyncVerdict::Unavailable {
            reason,
            retry_after_ms,
        },
        // Not produced for a de-duplicating destination; unknown is unavailable.
        Verdict::InDoubt { reason } => SyncVerdict::Unavailable {
            reason,
            retry_after_ms: None,
        },
    }
}

/// `Retry-After` of a 503: what the interface configures, or longer if the
/// destination asked for longer, at most [`MAX_RETRY_AFTER_SECS`].
pub fn retry_after_secs(configured: u64, asked_ms: Option<u64>) -> u64 {
    let asked = asked_ms.map_or(0, |ms| ms.div_ceil(1000));
    configured.max(asked).min(MAX_RETRY_AFTER_SECS)
}

/// What a response mapping reads: `{"status": <HTTP status>, "body": <the
/// answer as JSON, as a string when it is not JSON, null when empty>,
/// "request": <the CloudEvent sent>}`.
pub fn answer_input(request: &Value, status: u16, body: &str) -> Value {
    json!({"status": status, "body": answer_body(body), "request": request})
}

/// A destination's answer as JSON: parsed, as a string when it is not
/// JSON, null when empty.
pub fn answer_body(body: &str) -> Value {
    if body.trim().is_empty() {
        return Value::Null;
    }
    serde_json::from_str(body).unwrap_or_else(|_| Value::String(body.to_owned()))
}

/// The `[sync]` mark of a stored command, from its business keys.
pub fn mark_of(business_keys: &[(String, String)]) -> Option<&str> {
    business_keys
        .iter()
        .find(|(kind, _)| kind == MARK)
        .map(|(_, value)| value.as_str())
}

/// Where a stored command stands, for `GET /v1/commands/{id}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommandState {
    /// Recorded only: it did not go through a `[sync]` destination.
    Accepted,
    /// Queued: waiting for (another) attempt.
    Queued,
    /// The destination acknowledged it.
    Delivered,
    /// The destination refused it.
    Rejected,
    /// Given up on after its attempts: in the dead-letter queue.
    DeadLettered,
    /// Its outcome is unknown: an operator decides.
    InDoubt,
    /// An operator discarded it.
    Discarded,
}

impl CommandState {
    /// The name in answers: `queued`, `delivered`, …
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
            Self::Queued => "queued",
            Self::Delivered => "delivered",
            Self::Rejected => "rejected",
            Self::DeadLettered => "dead_lettered",
            Self::InDoubt => "in_doubt",
            Self::Discarded => "discarded",
        }
    }
}

/// Where a command stands, from its `[sync]` mark and its record on the
/// hidden subscription (if one was written).
pub fn command_state(mark: Option<&str>, record: Option<&DeliveryRecord>) -> CommandState {
    match (mark, record.map(|r| (r.state, r.last_status))) {
        (Some(ANSWERED), _) => CommandState::Delivered,
        (Some(QUEUED), None | Some((DeliveryState::Pending | DeliveryState::InFlight, _))) => {
            CommandState::Queued
        }
        (Some(QUEUED), Some((DeliveryState::Delivered, _))) => CommandState::Delivered,
        (Some(QUEUED), Some((DeliveryState::DeadLettered, Some(status))))
            if judge(AttemptOutcome::Answered {
                status,
                retry_after_ms: None,
            }) == SyncVerdict::Refused =>
        {
            CommandState::Rejected
        }
        (Some(QUEUED), Some((DeliveryState::DeadLettered, _))) => CommandState::DeadLettered,
        (Some(QUEUED), Some((DeliveryState::InDoubt, _))) => CommandState::InDoubt,
        (Some(QUEUED), Some((DeliveryState::Discarded, _))) => CommandState::Discarded,
        _ => CommandState::Accepted,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(state: DeliveryState, last_status: Option<u16>) -> DeliveryRecord {
        DeliveryRecord {
            subscription: "sync:x".into(),
            seq: 1,
            event_id: "e".into(),
            contract: "c".into(),
            site: "1010".into(),
            key: "k".into(),
            state,
            holds_key: false,
            attempts: 1,
            attempt_base: 0,
            next_attempt_at_ms: 0,
            reason: String::new(),
            last_status,
            last_response: String::new(),
            accepted_at_ms: 0,
            updated_at_ms: 0,
            replay: false,
        }
    }

    #[test]
    fn answers_are_judged_as_deliveries_to_a_deduplicating_destination() {
        let answered = |status| AttemptOutcome::Answered {
            status,
            retry_after_ms: Some(7_000),
        };
        assert_eq!(judge(answered(201)), SyncVerdict::Answered);
        assert_eq!(judge(answered(409)), SyncVerdict::Refused);
        assert!(matches!(
            judge(answered(503)),
            SyncVerdict::Unavailable {
                retry_after_ms: Some(7_000),
                ..
            }
        ));
        assert!(matches!(
            judge(AttemptOutcome::NoAnswer {
                reason: "timed out".into()
            }),
            SyncVerdict::Unavailable { .. }
        ));
        assert_eq!(retry_after_secs(5, Some(7_001)), 8);
        assert_eq!(retry_after_secs(5, None), 5);
        assert_eq!(retry_after_secs(5, Some(u64::MAX)), MAX_RETRY_AFTER_SECS);
    }

    #[test]
    fn a_command_stands_where_its_mark_and_record_say() {
        let state = |mark, record: Option<DeliveryRecord>| command_state(mark, record.as_ref());
        assert_eq!(state(None, None), CommandState::Accepted);
        assert_eq!(state(Some(ANSWERED), None), CommandState::Delivered);
        assert_eq!(state(Some(QUEUED), None), CommandState::Queued);
        let pending = record(DeliveryState::Pending, Some(503));
        assert_eq!(state(Some(QUEUED), Some(pending)), CommandState::Queued);
        let delivered = record(DeliveryState::Delivered, Some(201));
        assert_eq!(
            state(Some(QUEUED), Some(delivered)),
            CommandState::Delivered
        );
        let refused = record(DeliveryState::DeadLettered, Some(422));
        assert_eq!(state(Some(QUEUED), Some(refused)), CommandState::Rejected);
        let gave_up = record(DeliveryState::DeadLettered, Some(503));
        assert_eq!(
            state(Some(QUEUED), Some(gave_up)),
            CommandState::DeadLettered
        );
        assert_eq!(CommandState::DeadLettered.as_str(), "dead_lettered");
    }

    #[test]
    fn a_response_mapping_reads_status_body_and_request() {
        let request = json!({"id": "c1"});
        assert_eq!(
            answer_input(&request, 201, "{\"document\":7}"),
            json!({"status": 201, "body": {"document": 7}, "request": {"id": "c1"}})
        );
        assert_eq!(answer_body("OK"), json!("OK"));
        assert_eq!(answer_body(" "), Value::Null);
        let keys = vec![
            ("order".to_owned(), "1".to_owned()),
            (MARK.to_owned(), QUEUED.to_owned()),
        ];
        assert_eq!(mark_of(&keys), Some(QUEUED));
    }
}
