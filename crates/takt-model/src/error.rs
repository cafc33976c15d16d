use std::fmt;

/// Result of parsing model values.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A stable, machine-readable error code.
///
/// Codes are part of Takt's public interface: they appear in CLI `--json`
/// output and, later, in problem+json bodies. Never rename one; add a new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// A contract type name does not follow `<namespace>.<aggregate>.<verb>.v<major>`.
    InvalidContractType,
    /// A schema version is not `<major>.<minor>`.
    InvalidSchemaVersion,
    /// A schema id is not `urn:takt:schema:<type>:<major>.<minor>`.
    InvalidSchemaId,
    /// A quantity value is not a plain decimal string.
    InvalidDecimal,
    /// A conversion factor is not a positive exact rational.
    InvalidFactor,
    /// The contract type or version is not in the registry.
    UnknownContract,
    /// A contract file could not be read, parsed or compiled.
    InvalidContract,
    /// A message broke its envelope or contract schema.
    ValidationFailed,
    /// A unit code is not in the unit table.
    UnknownUnit,
    /// No conversion exists between two units (for this material and date).
    NoConversion,
    /// A unit table file is inconsistent.
    InvalidUnitTable,
    /// A file could not be read.
    Io,
    /// An authorization policy does not compile or evaluate.
    InvalidPolicy,
    /// A deployment configuration file is malformed or inconsistent.
    InvalidConfig,
    /// No valid credential was presented.
    Unauthenticated,
    /// The principal may not do this (policy decision).
    Forbidden,
    /// The principal exceeded the interface's rate limit.
    RateLimited,
    /// The request is malformed (header, media type, JSON shape).
    BadRequest,
    /// The body's media type is not accepted.
    UnsupportedMediaType,
    /// The body is larger than allowed.
    PayloadTooLarge,
    /// A command arrived without an `Idempotency-Key`.
    IdempotencyKeyMissing,
    /// The `Idempotency-Key` was used before with a different body.
    IdempotencyKeyReused,
    /// A request with the same `Idempotency-Key` is still being processed.
    IdempotencyKeyInFlight,
    /// An event reuses the `source` and `id` of a stored event with other content.
    EventIdReused,
    /// A native payload's mapping failed or produced the wrong shape.
    MappingFailed,
    /// The thing asked for does not exist.
    NotFound,
    /// The hub cannot take the request now (store queue full, shutting down,
    /// a subscription's backlog over its limit).
    Unavailable,
    /// The contract version is past its sunset, or retired.
    Gone,
    /// The store is over its disk quota: nothing more is accepted until
    /// deliveries and retention free space.
    InsufficientStorage,
    /// The destination of a sync command or query refused it (it answered
    /// a status other than 2xx, 408, 425, 429 or 5xx).
    DestinationRejected,
    /// The destination of a sync command or query could not be reached,
    /// failed, or did not answer within the deadline: nothing was acknowledged.
    DestinationUnavailable,
    /// A catalog change cannot be made in the state the catalog is in now:
    /// the proposal was decided already, is not approved yet, or its files
    /// changed in the active version since it was proposed.
    CatalogConflict,
}

impl ErrorCode {
    /// The code as it appears in JSON output, e.g. `unknown_unit`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidContractType => "invalid_contract_type",
            Self::InvalidSchemaVersion => "invalid_schema_version",
            Self::InvalidSchemaId => "invalid_schema_id",
            Self::InvalidDecimal => "invalid_decimal",
            Self::InvalidFactor => "invalid_factor",
            Self::UnknownContract => "unknown_contract",
            Self::InvalidContract => "invalid_contract",
            Self::ValidationFailed => "validation_failed",
            Self::UnknownUnit => "unknown_unit",
            Self::NoConversion => "no_conversion",
            Self::InvalidUnitTable => "invalid_unit_table",
            Self::Io => "io",
            Self::InvalidPolicy => "invalid_policy",
            Self::InvalidConfig => "invalid_config",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::RateLimited => "rate_limited",
            Self::BadRequest => "bad_request",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::PayloadTooLarge => "payload_too_large",
            Self::IdempotencyKeyMissing => "idempotency_key_missing",
            Self::IdempotencyKeyReused => "idempotency_key_reused",
            Self::IdempotencyKeyInFlight => "idempotency_key_in_flight",
            Self::EventIdReused => "event_id_reused",
            Self::MappingFailed => "mapping_failed",
            Self::NotFound => "not_found",
            Self::Unavailable => "unavailable",
            Self::InsufficientStorage => "insufficient_storage",
            Self::Gone => "gone",
            Self::DestinationRejected => "destination_rejected",
            Self::DestinationUnavailable => "destination_unavailable",
            Self::CatalogConflict => "catalog_conflict",
        }
    }
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a model value could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// See [`ErrorCode::InvalidContractType`].
    #[error(
        "contract type {0:?} must look like <namespace>.<aggregate>.<verb>.v<major>, e.g. mfg.material.consumed.v1"
    )]
    InvalidContractType(String),
    /// See [`ErrorCode::InvalidSchemaVersion`].
    #[error("schema version {0:?} must be <major>.<minor>, e.g. 1.2")]
    InvalidSchemaVersion(String),
    /// See [`ErrorCode::InvalidSchemaId`].
    #[error(
        "schema id {0:?} must be urn:takt:schema:<type>:<major>.<minor>, e.g. urn:takt:schema:mfg.material.consumed.v1:1.0"
    )]
    InvalidSchemaId(String),
    /// See [`ErrorCode::InvalidDecimal`].
    #[error(
        "{0:?} is not a decimal number: write digits with an optional sign and fraction, e.g. \"12.5\" (no exponent, no spaces)"
    )]
    InvalidDecimal(String),
    /// See [`ErrorCode::InvalidFactor`].
    #[error(
        "factor {0:?} must be a positive exact number written as \"n\", \"n/d\" or a decimal like \"0.001\""
    )]
    InvalidFactor(String),
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidContractType(_) => ErrorCode::InvalidContractType,
            Self::InvalidSchemaVersion(_) => ErrorCode::InvalidSchemaVersion,
            Self::InvalidSchemaId(_) => ErrorCode::InvalidSchemaId,
            Self::InvalidDecimal(_) => ErrorCode::InvalidDecimal,
            Self::InvalidFactor(_) => ErrorCode::InvalidFactor,
        }
    }
}
