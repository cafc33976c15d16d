//! The storage port: what the hub needs from a durable store, whatever it is.
//!
//! Adapters live in `takt-store` (SQLite by default, PostgreSQL for
//! scale-out) and all pass one conformance suite. The central operation is
//! [`Store::commit`]: the accepted events, the idempotency record and the
//! audit entries of one request become durable **together** (one
//! transaction, fsynced) before the caller may answer 2xx.

use std::future::Future;
use std::pin::Pin;

use crate::audit::{AuditDraft, AuditEntry, AuditHead};

mod catalog;
mod delivery;

pub use catalog::{
    CatalogChanges, CatalogFiles, CatalogVersion, CatalogWrite, Proposal, ProposalState,
    VersionKind,
};
pub use delivery::{
    AttemptRecord, DeliveryCount, DeliveryQuery, DeliveryRecord, DeliveryState, DeliveryWrite,
};

/// Time, injected so that tests and replays control it.
pub trait Clock: Send + Sync {
    /// Now, in Unix milliseconds.
    fn now_ms(&self) -> i64;
}

/// A boxed future, so that the port can be used as `dyn Store`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a store operation failed. The caller must treat the outcome of a
/// failed commit as unknown-but-not-acknowledged: nothing was answered 2xx.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The store could not be reached or refused the operation.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The stored data is not what this version of Takt expects.
    #[error("store corrupt: {0}")]
    Corrupt(String),
    /// The store is shutting down and takes no more writes.
    #[error("store is shutting down")]
    ShuttingDown,
}

/// An accepted message, ready to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// CloudEvents `id`.
    pub id: String,
    /// CloudEvents `source`; with `id`, the de-duplication key.
    pub source: String,
    /// Contract type.
    pub contract: String,
    /// Schema id (`dataschema`).
    pub dataschema: String,
    /// Plant code.
    pub site: String,
    /// CloudEvents `subject`.
    pub subject: String,
    /// Ordering key.
    pub partition_key: String,
    /// Catalog interface it arrived through.
    pub interface: String,
    /// Authenticated principal that sent it.
    pub principal: String,
    /// When the hub accepted it, Unix milliseconds.
    pub accepted_at_ms: i64,
    /// Business keys extracted per contract: (kind, value), e.g. ("order", "100012345");
    /// a store returns them sorted by kind, then value.
    pub business_keys: Vec<(String, String)>,
    /// The canonical CloudEvent as JSON bytes.
    pub body: Vec<u8>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    /// Position in the log. With one writer (SQLite, or one PostgreSQL
    /// instance) positions increase in commit order; SQLite numbers without
    /// gaps. With several PostgreSQL instances, positions are taken at insert
    /// time and two instances' commits may become visible out of position
    /// order, so a reader paging by position can miss an event committed
    /// late: ordered delivery across instances needs a commit-ordered log
    /// (the delivery engine's job), not this number alone.
    pub seq: i64,
    /// What was stored.
    pub event: NewEvent,
}

/// The answer given to the first request with an idempotency key, kept so a
/// retry gets the same answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyRecord {
    /// Who the key belongs to: keys are scoped per principal.
    pub principal: String,
    /// The client's `Idempotency-Key`, or `native:<interface>:<key>` from a native mapping.
    pub key: String,
    /// SHA-256 of the request body: the same key with another body is refused.
    pub request_hash: [u8; 32],
    /// HTTP status of the first answer.
    pub status: u16,
    /// Body of the first answer.
    pub response: Vec<u8>,
    /// When it was recorded, Unix milliseconds.
    pub created_at_ms: i64,
    /// When it may be forgotten, Unix milliseconds.
    pub expires_at_ms: i64,
}

/// Everything one request makes durable, in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Commit {
    /// Accepted events (none for a rejected request).
    pub events: Vec<NewEvent>,
    /// The idempotency record, when the request had a key.
    pub idempotency: Option<IdempotencyRecord>,
    /// Audit entries to chain.
    pub audit: Vec<AuditDraft>,
    /// Delivery state changes (cursors, records, attempts).
    pub delivery: Vec<DeliveryWrite>,
    /// Governed catalog changes (proposals, decisions, versions).
    pub catalog: Vec<CatalogWrite>,
}

/// What happened to one event of a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventOutcome {
    /// Newly stored at this position.
    Stored(i64),
    /// The same event (same `source`, `id` and body) was stored before, at this position.
    AlreadyStored(i64),
}

/// The result of [`Store::commit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommitOutcome {
    /// Durable: one outcome per event, in order.
    Committed(Vec<EventOutcome>),
    /// The idempotency key was used before with the same body: nothing new
    /// was stored, audit entries included; answer with this first answer.
    Replay(IdempotencyRecord),
    /// The idempotency key was used before with a different body: nothing
    /// was stored, audit entries included.
    KeyReused(IdempotencyRecord),
    /// An event reuses the `source` and `id` of a stored event with other
    /// content: nothing of this commit was stored, audit entries included.
    EventConflict {
        /// The reused CloudEvents id.
        id: String,
    },
    /// A catalog write's precondition no longer holds (the proposal was
    /// decided meanwhile, or the version number or proposal id is taken):
    /// nothing of this commit was stored, audit entries included.
    CatalogConflict {
        /// What no longer holds.
        reason: String,
    },
}

/// How to page through events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventQuery {
    /// Only events that came through this interface.
    pub interface: Option<String>,
    /// Only events with this business key (kind, value).
    pub business_key: Option<(String, String)>,
    /// Only events after this position (for paging).
    pub after_seq: i64,
    /// At most this many (the store caps it).
    pub limit: usize,
}

/// How one principal used one contract through one interface.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ContractUsage {
    /// Who sent it.
    pub principal: String,
    /// Through which interface.
    pub interface: String,
    /// The schema id it named, `urn:takt:schema:<type>:<major>.<minor>`.
    pub dataschema: String,
    /// How many messages.
    pub count: u64,
    /// When the last one was accepted, Unix milliseconds.
    pub last_seen_ms: i64,
}

/// The storage port. Implementations must be safe to share between tasks.
pub trait Store: Send + Sync {
    /// Makes a commit durable (fsync) before resolving; see [`Commit`].
    ///
    /// An idempotency key already recorded turns the commit into a
    /// [`CommitOutcome::Replay`] or [`CommitOutcome::KeyReused`]; events whose
    /// `source`+`id` exist with the same body are reported as
    /// [`EventOutcome::AlreadyStored`]; with another body, the whole commit
    /// is [`CommitOutcome::EventConflict`] and nothing is stored.
    /// Concurrent commits with the same key: exactly one stores.
    fn commit(&self, commit: Commit) -> BoxFuture<'_, Result<CommitOutcome, StoreError>>;

    /// The answer recorded for `principal`'s idempotency `key`, if it has
    /// not expired at `now_ms`. Sync commands look here before calling their
    /// destination, so a retry gets the first answer without a second call.
    fn idempotency_record(
        &self,
        principal: &str,
        key: &str,
        now_ms: i64,
    ) -> BoxFuture<'_, Result<Option<IdempotencyRecord>, StoreError>>;

    /// Forgets idempotency records that expired before `now_ms`; returns how many.
    fn purge_idempotency(&self, now_ms: i64) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// One event by CloudEvents id (the first stored, if several sources used it).
    fn event(&self, id: &str) -> BoxFuture<'_, Result<Option<StoredEvent>, StoreError>>;

    /// Events in accepted order, filtered and paged.
    fn events(&self, query: EventQuery) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>>;

    /// Audit entries from position `from_seq`, at most `limit`, in storage order.
    fn audit_entries(
        &self,
        from_seq: i64,
        limit: usize,
    ) -> BoxFuture<'_, Result<Vec<AuditEntry>, StoreError>>;

    /// The recorded end of the audit chain.
    fn audit_head(&self) -> BoxFuture<'_, Result<AuditHead, StoreError>>;

    /// How far a subscription has read the log: every event at or before
    /// this position is settled (0 for a new subscription).
    fn delivery_cursor(&self, subscription: &str) -> BoxFuture<'_, Result<i64, StoreError>>;

    /// Delivery records in position order (then by subscription), filtered and paged.
    fn deliveries(
        &self,
        query: DeliveryQuery,
    ) -> BoxFuture<'_, Result<Vec<DeliveryRecord>, StoreError>>;

    /// The event at position `seq`, if the log holds it.
    fn event_at(&self, seq: i64) -> BoxFuture<'_, Result<Option<StoredEvent>, StoreError>> {
        let query = EventQuery {
            after_seq: seq - 1,
            limit: 1,
            ..Default::default()
        };
        Box::pin(async move {
            let page = self.events(query).await?;
            Ok(page.into_iter().find(|e| e.seq == seq))
        })
    }

    /// The events at positions `seqs` that the log holds, in position
    /// order: a draining delivery worker reads the messages it hands out
    /// in one query. At most [`EventQuery`]'s page size of positions.
    fn events_at(&self, seqs: Vec<i64>) -> BoxFuture<'_, Result<Vec<StoredEvent>, StoreError>> {
        Box::pin(async move {
            let mut sorted = seqs;
            sorted.sort_unstable();
            sorted.dedup();
            let mut found = Vec::with_capacity(sorted.len());
            for seq in sorted {
                found.extend(self.event_at(seq).await?);
            }
            Ok(found)
        })
    }

    /// The delivery record of message `seq` on `subscription`, if there is one.
    fn delivery_record(
        &self,
        subscription: &str,
        seq: i64,
    ) -> BoxFuture<'_, Result<Option<DeliveryRecord>, StoreError>> {
        let query = DeliveryQuery {
            subscription: Some(subscription.to_owned()),
            after_seq: seq - 1,
            limit: 1,
            ..Default::default()
        };
        Box::pin(async move {
            let page = self.deliveries(query).await?;
            Ok(page.into_iter().find(|r| r.seq == seq))
        })
    }

    /// The attempt history of one message on one subscription, oldest first.
    fn delivery_attempts(
        &self,
        subscription: &str,
        seq: i64,
    ) -> BoxFuture<'_, Result<Vec<AttemptRecord>, StoreError>>;

    /// Records per subscription and state, for metrics and `takt status`.
    fn delivery_counts(&self) -> BoxFuture<'_, Result<Vec<DeliveryCount>, StoreError>>;

    /// Who sent `contract` from `since_ms` on: one row per principal,
    /// interface and schema, with a count and the last time. Deprecation
    /// readiness reads it; it scans the log's events of that period.
    fn contract_usage(
        &self,
        contract: &str,
        since_ms: i64,
    ) -> BoxFuture<'_, Result<Vec<ContractUsage>, StoreError>>;

    /// The highest log position (`seq`) stored, 0 when the log is empty.
    /// A subscription's backlog is this minus its cursor.
    fn log_head(&self) -> BoxFuture<'_, Result<i64, StoreError>>;

    /// Bytes the store takes on disk (SQLite: the database's pages;
    /// PostgreSQL: the schema's tables with their indexes), for the store quota.
    fn size_bytes(&self) -> BoxFuture<'_, Result<u64, StoreError>>;

    /// The catalog version `version`, with its files; the newest (active)
    /// one when `None`; `None` when there is no such version.
    fn catalog_version(
        &self,
        version: Option<i64>,
    ) -> BoxFuture<'_, Result<Option<CatalogVersion>, StoreError>>;

    /// Every catalog version, newest first, without files.
    fn catalog_history(&self) -> BoxFuture<'_, Result<Vec<CatalogVersion>, StoreError>>;

    /// One proposal.
    fn catalog_proposal(&self, id: i64) -> BoxFuture<'_, Result<Option<Proposal>, StoreError>>;

    /// Proposals, newest first, optionally only those in `state`.
    fn catalog_proposals(
        &self,
        state: Option<ProposalState>,
    ) -> BoxFuture<'_, Result<Vec<Proposal>, StoreError>>;

    /// Whether commits can still be made: false once the writer has stopped.
    /// Readiness checks use it, since reads may still work without a writer.
    fn accepts_commits(&self) -> bool;
}
