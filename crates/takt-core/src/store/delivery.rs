//! Delivery state as the store keeps it.
//!
//! A subscription reads the event log from its **cursor**: every event at or
//! before the cursor is settled, either delivered or recorded here as a
//! [`DeliveryRecord`]. Deliveries that go through at the first attempt
//! leave no record at all, only the cursor moving past them; a record is
//! written when a message needs more than one attempt, waits behind another
//! message of its key, is dead-lettered or in doubt, or (for destinations
//! that cannot de-duplicate) before it is sent.
//!
//! Every change is a [`DeliveryWrite`] in a [`Commit`](super::Commit), so
//! the store's single writer applies it durably with its audit entries.

/// Where a recorded delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DeliveryState {
    /// Waiting for its next attempt at `next_attempt_at_ms`, or for the
    /// older messages of its key.
    Pending,
    /// An attempt was started and its result is not recorded yet. Only
    /// written for destinations that cannot de-duplicate: found after a
    /// crash, it becomes in doubt.
    InFlight,
    /// Handed over.
    Delivered,
    /// Given up on: in the dead-letter queue, until redriven or discarded.
    DeadLettered,
    /// Its outcome is unknown and the destination cannot de-duplicate: an
    /// operator decides.
    InDoubt,
    /// An operator discarded it.
    Discarded,
}

impl DeliveryState {
    /// Every state.
    pub const ALL: [Self; 6] = [
        Self::Pending,
        Self::InFlight,
        Self::Delivered,
        Self::DeadLettered,
        Self::InDoubt,
        Self::Discarded,
    ];

    /// The stored and displayed name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::InFlight => "in_flight",
            Self::Delivered => "delivered",
            Self::DeadLettered => "dead_lettered",
            Self::InDoubt => "in_doubt",
            Self::Discarded => "discarded",
        }
    }

    /// The state named `name`, if any.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether an operator may redrive a message in this state.
    pub fn redrivable(self) -> bool {
        matches!(self, Self::DeadLettered | Self::InDoubt)
    }
}

/// One message on one subscription that needed more than the happy path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryRecord {
    /// The subscription's name.
    pub subscription: String,
    /// The event's position in the log.
    pub seq: i64,
    /// The event's CloudEvents id (the idempotency key sent along).
    pub event_id: String,
    /// The event's contract type.
    pub contract: String,
    /// The event's plant.
    pub site: String,
    /// Its ordering key on this subscription.
    pub key: String,
    /// Where it stands.
    pub state: DeliveryState,
    /// Whether later messages of its key wait for it. Always true while
    /// pending or in flight; for a dead-lettered or in-doubt message, true
    /// when the policy parks the key.
    pub holds_key: bool,
    /// Attempts made so far (numbering the attempt history).
    pub attempts: u32,
    /// Attempts made before the last redrive: the policy's `max_attempts`
    /// counts from here, so a redriven message gets a full budget again.
    pub attempt_base: u32,
    /// When the next attempt may go, Unix milliseconds.
    pub next_attempt_at_ms: i64,
    /// The last failure or the dead-letter reason; empty while none.
    pub reason: String,
    /// The destination's last HTTP status (or the connector's equivalent).
    pub last_status: Option<u16>,
    /// The start of the destination's last answer body.
    pub last_response: String,
    /// When the hub accepted the event, Unix milliseconds.
    pub accepted_at_ms: i64,
    /// When this record last changed, Unix milliseconds.
    pub updated_at_ms: i64,
    /// Made by a replay: the message goes out again marked as a replay.
    pub replay: bool,
}

/// One attempt to hand a message over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttemptRecord {
    /// The subscription's name.
    pub subscription: String,
    /// The event's position in the log.
    pub seq: i64,
    /// Attempt number, from 1.
    pub attempt: u32,
    /// When it started, Unix milliseconds.
    pub started_at_ms: i64,
    /// When its outcome was known, Unix milliseconds.
    pub finished_at_ms: i64,
    /// `delivered`, `retry`, `refused` or `in_doubt`.
    pub outcome: String,
    /// The destination's HTTP status, if it answered.
    pub status: Option<u16>,
    /// What happened, with the start of the answer body.
    pub detail: String,
}

/// A change to delivery state, applied in a commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeliveryWrite {
    /// Moves a subscription's cursor forward (never back).
    Cursor {
        /// The subscription's name.
        subscription: String,
        /// Every event at or before it is settled.
        seq: i64,
    },
    /// Creates or replaces a record.
    Record(DeliveryRecord),
    /// Adds an attempt to a message's history.
    Attempt(AttemptRecord),
}

/// Which delivery records to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryQuery {
    /// Only this subscription's.
    pub subscription: Option<String>,
    /// Only records in one of these states; empty: any.
    pub states: Vec<DeliveryState>,
    /// Only records of this ordering key.
    pub key: Option<String>,
    /// Only records that hold their key (later messages of the key wait).
    pub only_holding: bool,
    /// Only this contract's.
    pub contract: Option<String>,
    /// Only this plant's.
    pub site: Option<String>,
    /// Only records whose reason contains this text.
    pub reason_contains: Option<String>,
    /// Only records last changed at or before this instant (Unix ms): "older than".
    pub updated_before_ms: Option<i64>,
    /// Only records that are the oldest record holding their key, pending,
    /// and due at or before this instant (Unix ms): what may be sent now.
    pub due_heads_at_ms: Option<i64>,
    /// Only records after this position (for paging).
    pub after_seq: i64,
    /// At most this many (the store caps it).
    pub limit: usize,
}

impl DeliveryQuery {
    /// `(subscription, at_ms)` when this asks only for one subscription's
    /// due heads (after `after_seq`, at most `limit`): the question a
    /// delivery worker asks over and over while it drains, which the
    /// stores answer with a query of its own over the records that hold
    /// their key.
    pub fn due_heads_only(&self) -> Option<(&str, i64)> {
        let plain = self.states.is_empty()
            && self.key.is_none()
            && !self.only_holding
            && self.contract.is_none()
            && self.site.is_none()
            && self.reason_contains.is_none()
            && self.updated_before_ms.is_none();
        match (&self.subscription, self.due_heads_at_ms) {
            (Some(subscription), Some(at_ms)) if plain => Some((subscription, at_ms)),
            _ => None,
        }
    }
}

/// How many records of a subscription are in one state, and the oldest
/// accepted time among them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryCount {
    /// The subscription's name.
    pub subscription: String,
    /// The state counted.
    pub state: DeliveryState,
    /// How many.
    pub count: u64,
    /// The oldest `accepted_at_ms` among them.
    pub oldest_accepted_at_ms: i64,
}
