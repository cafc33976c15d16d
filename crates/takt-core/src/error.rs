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
    /// A deployment file is not valid TOML or does not fit its struct,
    /// at a known place.
    #[error("{file}:{line}:{column}: {reason}")]
    ConfigAt {
        /// The file.
        file: String,
        /// Line, from 1.
        line: usize,
        /// Column (in characters), from 1.
        column: usize,
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
            Self::Config { .. } | Self::ConfigAt { .. } => ErrorCode::InvalidConfig,
            Self::NoConversion { .. } => ErrorCode::NoConversion,
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// A TOML error in `file` (whose text is `text`), placed at its line
    /// and column when the parser knows them.
    pub(crate) fn toml(file: &std::path::Path, text: &str, error: &toml::de::Error) -> Self {
        let file = file.display().to_string();
        let Some(span) = error.span() else {
            return Self::Config {
                origin: file,
                reason: error.to_string().trim_end().replace('\n', " "),
            };
        };
        let (line, column) = line_and_column(text, span.start);
        Self::ConfigAt {
            file,
            line,
            column,
            reason: error.message().trim_end().to_owned(),
        }
    }

    pub(crate) fn contract(origin: impl ToString, reason: impl Into<String>) -> Self {
        Self::InvalidContract {
            origin: origin.to_string(),
            reason: reason.into(),
        }
    }
}

/// The line and column (both from 1, the column in characters) of byte
/// `offset` in `text`.
pub(crate) fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let mut offset = offset.min(text.len());
    while !text.is_char_boundary(offset) {
        offset -= 1;
    }
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_errors_are_placed_by_line_and_column() {
        let text = "name = \"x\"\nowner = \"t\"\nownr = 3\n";
        #[derive(Debug, serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct File {
            name: String,
            owner: String,
        }
        let error = toml::from_str::<File>(text).unwrap_err();
        let error = Error::toml(std::path::Path::new("systems/x.toml"), text, &error);
        let message = error.to_string();
        assert!(
            message.starts_with("systems/x.toml:3:1: unknown field `ownr`"),
            "{message}"
        );
        assert_eq!(error.code(), ErrorCode::InvalidConfig);
        assert_eq!(line_and_column("ab\ncdé\nf", 7), (2, 4));
        assert_eq!(line_and_column("a", 99), (1, 2));
    }
}
