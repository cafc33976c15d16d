//! The governance vocabulary of the catalog: where an entry stands in its
//! lifecycle, and when a contract version is deprecated and sunset.
//!
//! `lifecycle.toml` in a deployment directory declares the lifecycle of
//! contract versions:
//!
//! ```toml
//! [[contracts]]
//! contract = "mfg.material.consumed.v1"   # the type: every minor version…
//! version = "1.0"                         # …or only this schema version
//! state = "deprecated"
//! deprecated_on = 2026-12-01
//! sunset_on = 2027-06-30
//! replacement = "mfg.material.consumed.v2"
//! migration = "https://wiki.acme.example/takt/consumed-v2"
//! ```
//!
//! Calls that use a deprecated version are still accepted, with
//! `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and a `Link` to the
//! migration note; from `sunset_on` (or in state `retired`) they get 410.

use std::fmt;

use chrono::NaiveDate;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};

/// Where a catalog entry (interface, contract version, mapping) stands.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Deserialize, Serialize,
)]
#[serde(rename_all = "snake_case")]
pub enum Lifecycle {
    /// Someone proposed it; not yet reviewed.
    Proposed,
    /// A second person approved it; not yet in force.
    Approved,
    /// In force.
    #[default]
    Active,
    /// Still in force, but users must move to its replacement before the sunset.
    Deprecated,
    /// No longer in force: calls are refused.
    Retired,
}

impl Lifecycle {
    /// The name used in files and JSON, e.g. `deprecated`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Proposed => "proposed",
            Self::Approved => "approved",
            Self::Active => "active",
            Self::Deprecated => "deprecated",
            Self::Retired => "retired",
        }
    }
}

/// `lifecycle.toml`: the lifecycle of contract versions.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LifecycleFile {
    /// One entry per contract type or schema version.
    #[serde(default)]
    pub contracts: Vec<ContractLifecycle>,
}

/// The lifecycle of one contract type (all its minor versions) or one
/// schema version of it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContractLifecycle {
    /// The contract type, e.g. `mfg.material.consumed.v1`.
    pub contract: String,
    /// One schema version (`"1.0"`); none: the whole type.
    #[serde(default)]
    pub version: Option<String>,
    /// Where it stands.
    pub state: Lifecycle,
    /// From this day, calls get `Deprecation` headers.
    #[serde(default)]
    pub deprecated_on: Option<CatalogDate>,
    /// From this day, calls get 410.
    #[serde(default)]
    pub sunset_on: Option<CatalogDate>,
    /// What to use instead, e.g. `mfg.material.consumed.v2`.
    #[serde(default)]
    pub replacement: Option<String>,
    /// Where the migration is explained (a URL, sent as `Link`).
    #[serde(default)]
    pub migration: Option<String>,
}

/// `conversions.toml`: jq programs that turn messages of one contract type
/// into another, so two major versions can live side by side. A
/// subscription of `to` also receives the messages of `from`, converted;
/// a producer pinned to `from` keeps sending it.
///
/// ```toml
/// [[conversions]]
/// from = "mfg.material.consumed.v2"
/// to = "mfg.material.consumed.v1"
/// mapping = "mappings/consumed-v2-to-v1.jq"   # the CloudEvent in, the new `data` out
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversionsFile {
    /// One entry per direction.
    #[serde(default)]
    pub conversions: Vec<ConversionConfig>,
}

/// One conversion between contract types.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConversionConfig {
    /// The contract type converted from.
    pub from: String,
    /// The contract type converted to (its latest schema version).
    pub to: String,
    /// The jq program, relative to the deployment directory: it reads the
    /// whole CloudEvent and returns the `data` of the converted message.
    pub mapping: std::path::PathBuf,
}

/// A calendar day in a catalog file: a TOML date (`2027-06-30`) or the
/// same as a string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct CatalogDate(pub NaiveDate);

impl<'de> Deserialize<'de> for CatalogDate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DateVisitor)
    }
}

struct DateVisitor;

impl<'de> Visitor<'de> for DateVisitor {
    type Value = CatalogDate;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a date such as 2027-06-30")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<CatalogDate, E> {
        NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map(CatalogDate)
            .map_err(|_| E::custom(format!("{text:?} is not a date such as 2027-06-30")))
    }

    /// TOML dates reach serde as a one-entry map holding their text.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<CatalogDate, A::Error> {
        let Some((_, text)) = map.next_entry::<String, String>()? else {
            return Err(de::Error::custom("an empty date"));
        };
        self.visit_str(&text)
    }
}

impl fmt::Display for CatalogDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifecycle_files_read_toml_dates_and_strings() {
        let file: LifecycleFile = toml::from_str(
            r#"
            [[contracts]]
            contract = "mfg.material.consumed.v1"
            state = "deprecated"
            deprecated_on = 2026-12-01
            sunset_on = "2027-06-30"
            replacement = "mfg.material.consumed.v2"
            "#,
        )
        .unwrap();
        let entry = &file.contracts[0];
        assert_eq!(entry.state, Lifecycle::Deprecated);
        assert_eq!(entry.deprecated_on.unwrap().to_string(), "2026-12-01");
        assert_eq!(entry.sunset_on.unwrap().to_string(), "2027-06-30");
        let bad = toml::from_str::<LifecycleFile>(
            "[[contracts]]\ncontract = \"x\"\nstate = \"active\"\nsunset_on = \"30.06.2027\"",
        );
        assert!(bad.unwrap_err().to_string().contains("30.06.2027"));
        let unknown =
            toml::from_str::<LifecycleFile>("[[contracts]]\ncontract = \"x\"\nstate = \"sunny\"");
        assert!(unknown.unwrap_err().to_string().contains("sunny"));
    }
}
