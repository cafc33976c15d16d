//! Contract names and versions.
//!
//! A contract *type* (`mfg.material.consumed.v1`) names a message kind and its
//! major version; a breaking change is a new type (`…v2`). Inside one type,
//! compatible changes bump the minor version, which lives in the schema id
//! carried by every message's `dataschema`:
//! `urn:takt:schema:mfg.material.consumed.v1:1.2`.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// The prefix of every Takt schema id.
pub const SCHEMA_ID_PREFIX: &str = "urn:takt:schema:";

/// A contract type name: `<namespace>.<aggregate>[.<qualifier>…].<verb>.v<major>`.
///
/// Segments are lowercase ASCII letters and digits, each starting with a
/// letter; there are at least three before the version.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ContractType {
    name: String,
    major: u32,
}

impl ContractType {
    /// The full name, e.g. `mfg.material.consumed.v1`.
    pub fn as_str(&self) -> &str {
        &self.name
    }

    /// The major version from the `.v<major>` suffix.
    pub fn major(&self) -> u32 {
        self.major
    }

    /// The dot-separated words before the version, e.g. `["mfg", "material", "consumed"]`.
    pub fn words(&self) -> Vec<&str> {
        let mut words: Vec<&str> = self.name.split('.').collect();
        words.pop();
        words
    }

    /// The last word before the version: the verb, e.g. `consumed` or `release`.
    pub fn verb(&self) -> &str {
        self.words().last().copied().unwrap_or_default()
    }
}

fn is_word(word: &str) -> bool {
    let mut chars = word.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
}

fn parse_number(digits: &str) -> Option<u32> {
    let leading_zero = digits.len() > 1 && digits.starts_with('0');
    let all_digits = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    if leading_zero || !all_digits {
        return None;
    }
    digits.parse().ok()
}

impl FromStr for ContractType {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let invalid = || Error::InvalidContractType(s.to_owned());
        let (words, version) = s.rsplit_once('.').ok_or_else(invalid)?;
        let major = version
            .strip_prefix('v')
            .and_then(parse_number)
            .filter(|m| *m >= 1)
            .ok_or_else(invalid)?;
        let words: Vec<&str> = words.split('.').collect();
        if words.len() < 3 || !words.iter().all(|w| is_word(w)) {
            return Err(invalid());
        }
        Ok(Self {
            name: s.to_owned(),
            major,
        })
    }
}

impl fmt::Display for ContractType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

/// A schema version `<major>.<minor>` inside one contract type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchemaVersion {
    /// Equals the contract type's `.v<major>`.
    pub major: u32,
    /// Bumped by every compatible change.
    pub minor: u32,
}

impl FromStr for SchemaVersion {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let invalid = || Error::InvalidSchemaVersion(s.to_owned());
        let (major, minor) = s.split_once('.').ok_or_else(invalid)?;
        let major = parse_number(major)
            .filter(|m| *m >= 1)
            .ok_or_else(invalid)?;
        let minor = parse_number(minor).ok_or_else(invalid)?;
        Ok(Self { major, minor })
    }
}

impl fmt::Display for SchemaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

/// A versioned schema id: `urn:takt:schema:<type>:<major>.<minor>`.
///
/// It is the schema's `$id` and the `dataschema` of every message written
/// against it. Once published, the schema behind an id never changes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SchemaId {
    /// The contract type.
    pub contract: ContractType,
    /// The version inside that type.
    pub version: SchemaVersion,
}

impl SchemaId {
    /// Builds an id; fails when the version's major differs from the type's.
    pub fn new(contract: ContractType, version: SchemaVersion) -> Result<Self> {
        if contract.major() != version.major {
            return Err(Error::InvalidSchemaId(format!(
                "{SCHEMA_ID_PREFIX}{contract}:{version}"
            )));
        }
        Ok(Self { contract, version })
    }
}

impl FromStr for SchemaId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        let invalid = || Error::InvalidSchemaId(s.to_owned());
        let rest = s.strip_prefix(SCHEMA_ID_PREFIX).ok_or_else(invalid)?;
        let (contract, version) = rest.rsplit_once(':').ok_or_else(invalid)?;
        let contract = contract.parse().map_err(|_| invalid())?;
        let version = version.parse().map_err(|_| invalid())?;
        Self::new(contract, version).map_err(|_| invalid())
    }
}

impl fmt::Display for SchemaId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{SCHEMA_ID_PREFIX}{}:{}", self.contract, self.version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_contract_types() {
        let t: ContractType = "mfg.equipment.downtime.started.v1".parse().unwrap();
        assert_eq!(t.major(), 1);
        assert_eq!(t.verb(), "started");
        assert_eq!(t.words(), ["mfg", "equipment", "downtime", "started"]);
        for bad in [
            "mfg.material.v1",
            "mfg.Material.consumed.v1",
            "mfg.material.consumed.v0",
            "mfg.material.consumed.v01",
            "mfg.material.consumed",
            "mfg..consumed.v1",
            "1fg.a.b.v1",
        ] {
            assert!(bad.parse::<ContractType>().is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn schema_ids_round_trip_and_check_major() {
        let id: SchemaId = "urn:takt:schema:mfg.material.consumed.v1:1.12"
            .parse()
            .unwrap();
        assert_eq!(
            id.version,
            SchemaVersion {
                major: 1,
                minor: 12
            }
        );
        assert_eq!(
            id.to_string(),
            "urn:takt:schema:mfg.material.consumed.v1:1.12"
        );
        assert!(
            "urn:takt:schema:mfg.material.consumed.v1:2.0"
                .parse::<SchemaId>()
                .is_err()
        );
        assert!(
            "urn:takt:schema:mfg.material.consumed.v1"
                .parse::<SchemaId>()
                .is_err()
        );
        assert!(
            "urn:other:mfg.material.consumed.v1:1.0"
                .parse::<SchemaId>()
                .is_err()
        );
    }

    #[test]
    fn versions_order_numerically() {
        let v = |s: &str| s.parse::<SchemaVersion>().unwrap();
        assert!(v("1.10") > v("1.9"));
        assert!("1.01".parse::<SchemaVersion>().is_err());
        assert!("0.1".parse::<SchemaVersion>().is_err());
    }
}
