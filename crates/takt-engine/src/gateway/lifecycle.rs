//! Deprecated and retired contract versions (`lifecycle.toml`) and
//! interfaces (their `state`, `deprecated_on`, `sunset_on`) at the gateway:
//! a message of a deprecated version, or sent through a deprecated
//! interface, is accepted and its answer carries `Deprecation`, `Sunset`
//! and `Link` headers (added by takt-http from the [`DeprecationNotice`]s);
//! past the sunset, or retired, it is refused with 410 naming the
//! replacement; one only proposed or approved is refused as not active yet.

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
    /// Since when (`Deprecation`): its `deprecated_on`, or the day of the
    /// request (the gateway's clock) when only its state says so.
    pub deprecated_on: NaiveDate,
    /// When it stops being accepted (`Sunset`).
    pub sunset_on: Option<NaiveDate>,
    /// What to use instead.
    pub replacement: Option<String>,
    /// Where the migration is explained (`Link: <…>; rel="deprecation"`).
    pub migration: Option<String>,
}

impl DeprecationNotice {
    fn of(entry: &ContractLifecycle, today: NaiveDate) -> Self {
        Self {
            contract: entry.contract.clone(),
            version: entry.version.clone(),
            deprecated_on: entry.deprecated_on.map_or(today, |d| d.0),
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
        let today = chrono::DateTime::from_timestamp_millis(self.clock.now_ms())
            .unwrap_or_default()
            .date_naive();
        let mut notices = self.interface_notices(checked, batch, today)?;
        notices.extend(self.contract_notices(checked, batch, today)?);
        Ok(notices)
    }

    /// What the interfaces the messages go through say: an interface is an
    /// entry of the catalog with a lifecycle of its own.
    fn interface_notices(
        &self,
        checked: &[Checked<'_>],
        batch: bool,
        today: NaiveDate,
    ) -> Result<Vec<DeprecationNotice>, Rejection> {
        let mut notices: Vec<DeprecationNotice> = Vec::new();
        for (index, c) in checked.iter().enumerate() {
            let Some(interface) = self.deployment.interfaces.get(&c.interface) else {
                continue;
            };
            let plain = interface.state == takt_model::catalog::Lifecycle::Active
                && interface.deprecated_on.is_none()
                && interface.sunset_on.is_none();
            if plain {
                continue;
            }
            let entry = ContractLifecycle {
                contract: format!("interface {}", interface.name),
                version: None,
                state: interface.state,
                deprecated_on: interface.deprecated_on,
                sunset_on: interface.sunset_on,
                replacement: None,
                migration: None,
            };
            let standing = takt_core::lifecycle::standing_of(&entry, today);
            if let Some(notice) = decide(standing, &entry, (index, batch), "/type", today)?
                && !notices.contains(&notice)
            {
                notices.push(notice);
            }
        }
        Ok(notices)
    }

    fn contract_notices(
        &self,
        checked: &[Checked<'_>],
        batch: bool,
        today: NaiveDate,
    ) -> Result<Vec<DeprecationNotice>, Rejection> {
        let mut notices: Vec<DeprecationNotice> = Vec::new();
        if self.lifecycles.is_empty() {
            return Ok(notices);
        }
        for (index, c) in checked.iter().enumerate() {
            let id = &c.validated.contract.id;
            let version = id.version.to_string();
            let standing = self
                .lifecycles
                .standing(id.contract.as_str(), &version, today);
            let entry = match standing {
                Standing::Current => continue,
                Standing::Deprecated(e) | Standing::Sunset(e) | Standing::NotYetActive(e) => e,
            };
            if let Some(notice) = decide(standing, entry, (index, batch), "/dataschema", today)?
                && !notices.contains(&notice)
            {
                notices.push(notice);
            }
        }
        Ok(notices)
    }
}

/// A deprecated entry's notice, the refusal of a sunset or inactive one,
/// or nothing for a current one. `field` is where a refusal points.
fn decide(
    standing: Standing<'_>,
    entry: &ContractLifecycle,
    (index, batch): (usize, bool),
    field: &str,
    today: NaiveDate,
) -> Result<Option<DeprecationNotice>, Rejection> {
    match standing {
        Standing::Current => Ok(None),
        Standing::Deprecated(_) => Ok(Some(DeprecationNotice::of(entry, today))),
        Standing::Sunset(_) => Err(gone(entry)),
        Standing::NotYetActive(_) => {
            let pointer = if batch {
                format!("/{index}{field}")
            } else {
                field.to_owned()
            };
            let message = format!(
                "{} is {}, not active yet: it cannot be used until it is activated",
                describe(entry),
                entry.state.as_str()
            );
            Err(Rejection::Invalid(vec![Violation::new(
                pointer,
                "lifecycle",
                message,
            )]))
        }
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
