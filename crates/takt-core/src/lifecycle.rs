//! Where a contract version stands on a given day, from `lifecycle.toml`
//! ([`takt_model::catalog`]): current, deprecated (accepted, with
//! `Deprecation` and `Sunset` headers), not active yet, or past its sunset
//! (refused with 410, naming the replacement).
//!
//! A schema version's own entry wins over its type's entry.

use chrono::NaiveDate;
use takt_model::catalog::{ContractLifecycle, Lifecycle, LifecycleFile};

/// The lifecycle entries of a deployment, ready to answer per message.
#[derive(Debug, Clone, Default)]
pub struct ContractLifecycles {
    entries: Vec<ContractLifecycle>,
}

/// Where one contract version stands today.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing<'a> {
    /// In force, nothing to say.
    Current,
    /// In force, but its users must move before the sunset.
    Deprecated(&'a ContractLifecycle),
    /// Proposed or approved, not in force yet.
    NotYetActive(&'a ContractLifecycle),
    /// Retired, or past its sunset day.
    Sunset(&'a ContractLifecycle),
}

impl ContractLifecycles {
    /// The entries of `file`.
    pub fn new(file: &LifecycleFile) -> Self {
        Self {
            entries: file.contracts.clone(),
        }
    }

    /// Whether any entry exists (the gateway skips the look-up otherwise).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Where `contract` at schema `version` (e.g. `"1.0"`) stands on `today`.
    pub fn standing(&self, contract: &str, version: &str, today: NaiveDate) -> Standing<'_> {
        let of_version = self
            .entries
            .iter()
            .find(|e| e.contract == contract && e.version.as_deref() == Some(version));
        let of_type = || {
            self.entries
                .iter()
                .find(|e| e.contract == contract && e.version.is_none())
        };
        match of_version.or_else(of_type) {
            Some(entry) => standing_of(entry, today),
            None => Standing::Current,
        }
    }
}

/// Where `entry` stands on `today`: retired or past `sunset_on` is sunset;
/// proposed or approved is not active yet; deprecated, or active from
/// `deprecated_on`, is deprecated.
pub fn standing_of(entry: &ContractLifecycle, today: NaiveDate) -> Standing<'_> {
    let reached = |day: Option<takt_model::catalog::CatalogDate>| day.is_some_and(|d| d.0 <= today);
    match entry.state {
        Lifecycle::Retired => Standing::Sunset(entry),
        _ if reached(entry.sunset_on) => Standing::Sunset(entry),
        Lifecycle::Proposed | Lifecycle::Approved => Standing::NotYetActive(entry),
        Lifecycle::Deprecated => Standing::Deprecated(entry),
        Lifecycle::Active if reached(entry.deprecated_on) => Standing::Deprecated(entry),
        Lifecycle::Active => Standing::Current,
    }
}

/// Why `lifecycle.toml` is wrong, as (entry index, field, reason), if it is.
pub fn problem(file: &LifecycleFile) -> Option<(usize, &'static str, String)> {
    for (index, entry) in file.contracts.iter().enumerate() {
        if let (Some(deprecated), Some(sunset)) = (entry.deprecated_on, entry.sunset_on)
            && sunset <= deprecated
        {
            return Some((
                index,
                "sunset_on",
                format!("{sunset} is not after deprecated_on ({deprecated})"),
            ));
        }
        let duplicate = file.contracts[..index]
            .iter()
            .any(|e| e.contract == entry.contract && e.version == entry.version);
        if duplicate {
            return Some((
                index,
                "contract",
                format!("{} has two entries", describe(entry)),
            ));
        }
        if entry.replacement.as_deref() == Some(entry.contract.as_str()) && entry.version.is_none()
        {
            return Some((
                index,
                "replacement",
                "a contract cannot replace itself".into(),
            ));
        }
    }
    None
}

/// `mfg.material.consumed.v1` or `mfg.material.consumed.v1 version 1.0`.
pub fn describe(entry: &ContractLifecycle) -> String {
    match &entry.version {
        Some(version) => format!("{} version {version}", entry.contract),
        None => entry.contract.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lifecycles(text: &str) -> ContractLifecycles {
        ContractLifecycles::new(&toml::from_str(text).unwrap())
    }

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    const CONSUMED: &str = "mfg.material.consumed.v1";

    #[test]
    fn a_version_is_current_then_deprecated_then_sunset() {
        let l = lifecycles(
            r#"[[contracts]]
            contract = "mfg.material.consumed.v1"
            state = "active"
            deprecated_on = 2026-12-01
            sunset_on = 2027-06-30"#,
        );
        assert_eq!(
            l.standing(CONSUMED, "1.0", day("2026-11-30")),
            Standing::Current
        );
        assert!(matches!(
            l.standing(CONSUMED, "1.0", day("2026-12-01")),
            Standing::Deprecated(_)
        ));
        assert!(matches!(
            l.standing(CONSUMED, "1.1", day("2027-06-29")),
            Standing::Deprecated(_)
        ));
        assert!(matches!(
            l.standing(CONSUMED, "1.0", day("2027-06-30")),
            Standing::Sunset(_)
        ));
        assert_eq!(
            l.standing("mfg.operation.completed.v1", "1.0", day("2030-01-01")),
            Standing::Current
        );
    }

    #[test]
    fn a_version_entry_wins_over_its_type_and_states_decide_without_dates() {
        let l = lifecycles(
            r#"[[contracts]]
            contract = "mfg.material.consumed.v1"
            state = "deprecated"
            [[contracts]]
            contract = "mfg.material.consumed.v1"
            version = "1.0"
            state = "retired"
            [[contracts]]
            contract = "mfg.material.consumed.v2"
            state = "proposed""#,
        );
        let today = day("2026-12-02");
        assert!(matches!(
            l.standing(CONSUMED, "1.0", today),
            Standing::Sunset(_)
        ));
        assert!(matches!(
            l.standing(CONSUMED, "1.1", today),
            Standing::Deprecated(_)
        ));
        assert!(matches!(
            l.standing("mfg.material.consumed.v2", "1.0", today),
            Standing::NotYetActive(_)
        ));
    }

    #[test]
    fn nonsense_is_named_by_entry_and_field() {
        let file = toml::from_str(
            r#"[[contracts]]
            contract = "mfg.material.consumed.v1"
            state = "deprecated"
            deprecated_on = 2027-01-01
            sunset_on = 2026-12-01"#,
        )
        .unwrap();
        let (index, field, reason) = problem(&file).unwrap();
        assert_eq!((index, field), (0, "sunset_on"));
        assert!(reason.contains("2026-12-01"), "{reason}");
        let twice = toml::from_str(
            "[[contracts]]\ncontract = \"a.b.c.v1\"\nstate = \"active\"\n[[contracts]]\ncontract = \"a.b.c.v1\"\nstate = \"retired\"",
        )
        .unwrap();
        assert_eq!(problem(&twice).unwrap().1, "contract");
    }
}
