//! Deprecated and retired contract versions at the gateway (`lifecycle.toml`):
//! a message of a deprecated version is accepted and its answer carries
//! `Deprecation`, `Sunset` and `Link` headers (added by takt-http from the
//! [`DeprecationNotice`]s); past the sunset, or retired, it is refused with
//! 410 naming the replacement; a version that is only proposed or approved
//! is refused as not active yet.

use chrono::NaiveDate;
use takt_core::lifecycle::{Standing, describe};
use takt_core::validate::Violation;
use takt_model::catalog::ContractLifecycle;

use super::{Checked, Gateway};
use crate::Rejection;

/// A deprecated contract version a request used: what its answer says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeprecationNotice {
    /// The contract type.
    pub contract: String,
    /// The schema version, when only it is deprecated.
    pub version: Option<String>,
    /// Since when (`Deprecation`); none: deprecated without a date.
    pub deprecated_on: Option<NaiveDate>,
    /// When it stops being accepted (`Sunset`).
    pub sunset_on: Option<NaiveDate>,
    /// What to use instead.
    pub replacement: Option<String>,
    /// Where the migration is explained (`Link: <…>; rel="deprecation"`).
    pub migration: Option<String>,
}

impl DeprecationNotice {
    fn of(entry: &ContractLifecycle) -> Self {
        Self {
            contract: entry.contract.clone(),
            version: entry.version.clone(),
            deprecated_on: entry.deprecated_on.map(|d| d.0),
            sunset_on: entry.sunset_on.map(|d| d.0),
            replacement: entry.replacement.clone(),
            migration: entry.migration.clone(),
        }
    }
}

impl Gateway {
    /// The deprecation notices of `checked`'s contract versions, or the
    /// refusal of the first one past its sunset or not active yet.
    pub(super) fn lifecycle(
        &self,
        checked: &[Checked<'_>],
        batch: bool,
    ) -> Result<Vec<DeprecationNotice>, Rejection> {
        if self.lifecycles.is_empty() {
            return Ok(Vec::new());
        }
        let today = chrono::DateTime::from_timestamp_millis(self.clock.now_ms())
            .unwrap_or_default()
            .date_naive();
        let mut notices: Vec<DeprecationNotice> = Vec::new();
        for (index, c) in checked.iter().enumerate() {
            let id = &c.validated.contract.id;
            let version = id.version.to_string();
            match self
                .lifecycles
                .standing(id.contract.as_str(), &version, today)
            {
                Standing::Current => {}
                Standing::Deprecated(entry) => {
                    let notice = DeprecationNotice::of(entry);
                    if !notices.contains(&notice) {
                        notices.push(notice);
                    }
                }
                Standing::Sunset(entry) => return Err(gone(entry)),
                Standing::NotYetActive(entry) => {
                    let pointer = if batch {
                        format!("/{index}/dataschema")
                    } else {
                        "/dataschema".into()
                    };
                    let message = format!(
                        "{} is {}, not active yet: it cannot be used until it is activated",
                        describe(entry),
                        entry.state.as_str()
                    );
                    return Err(Rejection::Invalid(vec![Violation::new(
                        pointer,
                        "lifecycle",
                        message,
                    )]));
                }
            }
        }
        Ok(notices)
    }
}

fn gone(entry: &ContractLifecycle) -> Rejection {
    Rejection::Gone {
        contract: describe(entry),
        sunset_on: entry.sunset_on.map(|d| d.to_string()),
        replacement: entry.replacement.clone(),
        migration: entry.migration.clone(),
    }
}
