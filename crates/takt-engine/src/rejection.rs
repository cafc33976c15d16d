use takt_core::validate::Violation;
use takt_model::ErrorCode;

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
            Self::Unavailable { .. } => ErrorCode::Unavailable,
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
            } => Some(*retry_after_secs),
            Self::IdempotencyKeyInFlight => Some(1),
            _ => None,
        }
    }
}
