use takt_core::validate::Violation;
use takt_model::ErrorCode;

/// `Retry-After` of a refusal for a full backlog: about when the next
/// check (every second) after some draining can let messages in again.
pub const BACKLOG_RETRY_SECS: u64 = 5;

/// `Retry-After` of a refusal for a full store.
pub const STORE_FULL_RETRY_SECS: u64 = 60;

/// Why a request was not accepted. Each variant has a stable [`ErrorCode`];
/// details never include secrets or internals.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// No valid credential. Deliberately says nothing more.
    #[error("authentication required")]
    Unauthenticated,
    /// The policy denied it.
    #[error("{detail}")]
    Forbidden {
        /// Summary sentence.
        detail: String,
        /// One sentence per denying rule.
        reasons: Vec<String>,
    },
    /// Too many requests for this principal on this interface.
    #[error("rate limit of interface {interface} exceeded; retry after {retry_after_secs} s")]
    RateLimited {
        /// The interface whose bucket is empty.
        interface: String,
        /// When a retry can succeed.
        retry_after_secs: u64,
    },
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// The media type is not accepted.
    #[error("{0}")]
    UnsupportedMediaType(String),
    /// The body (or batch) is too large.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The message(s) broke their schemas; every violation is listed.
    #[error("{} violation(s): the message does not match its contract", .0.len())]
    Invalid(Vec<Violation>),
    /// The interface's native mapping failed on this payload.
    #[error("mapping {mapping} failed: {message}")]
    MappingFailed {
        /// The mapping file.
        mapping: String,
        /// What went wrong.
        message: String,
    },
    /// A command without `Idempotency-Key`.
    #[error(
        "commands need an Idempotency-Key header: a unique key per command, the same on every retry"
    )]
    IdempotencyKeyMissing,
    /// The key was used with another body.
    #[error("this Idempotency-Key was already used with a different request body")]
    IdempotencyKeyReused,
    /// An event reuses a stored event's `source` and `id` with other content.
    #[error(
        "event {id} was already accepted from this source with different content; a new fact needs a new id"
    )]
    EventIdReused {
        /// The reused id.
        id: String,
    },
    /// The key is being processed right now.
    #[error("a request with this Idempotency-Key is still being processed; retry shortly")]
    IdempotencyKeyInFlight,
    /// Nothing by that name.
    #[error("{0}")]
    NotFound(String),
    /// A subscription that would deliver the message has too many waiting.
    #[error(
        "subscription {subscription} (to {destination}) has {backlog} undelivered messages, over its limit of {limit}; messages of type {contract} are refused until it drains"
    )]
    Backlogged {
        /// The full subscription.
        subscription: String,
        /// Its destination system.
        destination: String,
        /// The refused message's contract type.
        contract: String,
        /// Messages waiting.
        backlog: u64,
        /// The subscription's `policy.backlog.max_messages`.
        limit: u64,
    },
    /// The store is over its disk quota.
    #[error(
        "the store holds {used_bytes} bytes, over its quota of {quota_bytes}; nothing is accepted until deliveries and retention free space"
    )]
    StoreFull {
        /// Bytes on disk.
        used_bytes: u64,
        /// `[quota] store_bytes`.
        quota_bytes: u64,
    },
    /// The `[sync]` destination refused the command or query itself.
    #[error("{destination} refused it (HTTP {status}); see errors for its answer")]
    DestinationRejected {
        /// The destination system.
        destination: String,
        /// Its HTTP status.
        status: u16,
        /// The start of its answer.
        excerpt: String,
        /// Its answer through the interface's response mapping, when that worked.
        answer: Option<Box<serde_json::Value>>,
    },
    /// The `[sync]` destination could not be reached, failed or did not
    /// answer in time; nothing was acknowledged.
    #[error("{detail}")]
    DestinationUnavailable {
        /// What happened and what the sender does now.
        detail: String,
        /// When to retry.
        retry_after_secs: u64,
    },
    /// The contract version is past its sunset, or retired.
    #[error("{contract} is no longer accepted{}{}{}",
        .sunset_on.as_ref().map(|d| format!(" (sunset {d})")).unwrap_or_default(),
        .replacement.as_ref().map(|r| format!("; use {r}")).unwrap_or_default(),
        .migration.as_ref().map(|m| format!("; migration: {m}")).unwrap_or_default())]
    Gone {
        /// The contract (and version) refused.
        contract: String,
        /// Its sunset day, if it had one.
        sunset_on: Option<String>,
        /// What to use instead.
        replacement: Option<String>,
        /// Where the migration is explained.
        migration: Option<String>,
    },
    /// A catalog change conflicts with the catalog's state now.
    #[error("{0}")]
    CatalogConflict(String),
    /// A proposed catalog does not check: every problem, naming file and field.
    #[error("the catalog would not check: {}", .0.join("; "))]
    CatalogInvalid(Vec<String>),
    /// The hub cannot take it now.
    #[error("{detail}")]
    Unavailable {
        /// What is going on.
        detail: String,
        /// When to retry.
        retry_after_secs: u64,
    },
}

impl Rejection {
    /// The stable code.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Unauthenticated => ErrorCode::Unauthenticated,
            Self::Forbidden { .. } => ErrorCode::Forbidden,
            Self::RateLimited { .. } => ErrorCode::RateLimited,
            Self::BadRequest(_) => ErrorCode::BadRequest,
            Self::UnsupportedMediaType(_) => ErrorCode::UnsupportedMediaType,
            Self::PayloadTooLarge(_) => ErrorCode::PayloadTooLarge,
            Self::Invalid(_) => ErrorCode::ValidationFailed,
            Self::MappingFailed { .. } => ErrorCode::MappingFailed,
            Self::IdempotencyKeyMissing => ErrorCode::IdempotencyKeyMissing,
            Self::IdempotencyKeyReused => ErrorCode::IdempotencyKeyReused,
            Self::IdempotencyKeyInFlight => ErrorCode::IdempotencyKeyInFlight,
            Self::EventIdReused { .. } => ErrorCode::EventIdReused,
            Self::NotFound(_) => ErrorCode::NotFound,
            Self::Unavailable { .. } | Self::Backlogged { .. } => ErrorCode::Unavailable,
            Self::StoreFull { .. } => ErrorCode::InsufficientStorage,
            Self::Gone { .. } => ErrorCode::Gone,
            Self::DestinationRejected { .. } => ErrorCode::DestinationRejected,
            Self::DestinationUnavailable { .. } => ErrorCode::DestinationUnavailable,
            Self::CatalogConflict(_) => ErrorCode::CatalogConflict,
            Self::CatalogInvalid(_) => ErrorCode::InvalidConfig,
        }
    }

    /// Seconds after which a retry may succeed, for `Retry-After`.
    pub fn retry_after_secs(&self) -> Option<u64> {
        match self {
            Self::RateLimited {
                retry_after_secs, ..
            }
            | Self::Unavailable {
                retry_after_secs, ..
            }
            | Self::DestinationUnavailable {
                retry_after_secs, ..
            } => Some(*retry_after_secs),
            Self::IdempotencyKeyInFlight => Some(1),
            Self::Backlogged { .. } => Some(BACKLOG_RETRY_SECS),
            Self::StoreFull { .. } => Some(STORE_FULL_RETRY_SECS),
            _ => None,
        }
    }
}
