use std::path::PathBuf;

use takt_model::ErrorCode;

/// Result of `takt-core` operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in `takt-core`.
///
/// Each variant carries an [`ErrorCode`]; callers branch on the code, and only
/// the HTTP layer turns codes into status codes.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A model value (name, version, decimal, factor) did not parse.
    #[error(transparent)]
    Model(#[from] takt_model::Error),
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A contract file is malformed: bad JSON, bad schema, wrong `$id`, clash.
    #[error("{origin}: {reason}")]
    InvalidContract {
        /// Where the contract came from (`builtin:…` or a path).
        origin: String,
        /// What is wrong, in a sentence.
        reason: String,
    },
    /// The registry does not know this contract type or version.
    #[error("unknown contract {0}: `takt contract list` shows the known ones")]
    UnknownContract(String),
    /// A unit table is inconsistent.
    #[error("{origin}: {reason}")]
    InvalidUnitTable {
        /// The file.
        origin: String,
        /// What is wrong, in a sentence.
        reason: String,
    },
    /// An authorization policy does not compile or evaluate.
    #[error("policy: {0}")]
    Policy(String),
    /// A deployment file is malformed or refers to something that does not exist.
    #[error("{origin}: {reason}")]
    Config {
        /// The file.
        origin: String,
        /// What is wrong, naming the field.
        reason: String,
    },
    /// A unit code is not in the unit table.
    #[error(
        "unknown unit {0:?}: use a UN/CEFACT Rec 20 code from the unit table (e.g. KGM, C62), or add it to the deployment's units.toml"
    )]
    UnknownUnit(String),
    /// No conversion exists between two units for this material and day.
    #[error("cannot convert {from} to {to}: {reason}")]
    NoConversion {
        /// Source unit.
        from: String,
        /// Target unit.
        to: String,
        /// Why, and what would fix it.
        reason: String,
    },
}

impl Error {
    /// The stable code of this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::Model(e) => e.code(),
            Self::Io { .. } => ErrorCode::Io,
            Self::InvalidContract { .. } => ErrorCode::InvalidContract,
            Self::UnknownContract(_) => ErrorCode::UnknownContract,
            Self::InvalidUnitTable { .. } => ErrorCode::InvalidUnitTable,
            Self::UnknownUnit(_) => ErrorCode::UnknownUnit,
            Self::Policy(_) => ErrorCode::InvalidPolicy,
            Self::Config { .. } => ErrorCode::InvalidConfig,
            Self::NoConversion { .. } => ErrorCode::NoConversion,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn contract(origin: impl ToString, reason: impl Into<String>) -> Self {
        Self::InvalidContract {
            origin: origin.to_string(),
            reason: reason.into(),
        }
    }
}
