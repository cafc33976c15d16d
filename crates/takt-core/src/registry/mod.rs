//! The contract registry: every known contract version, compiled once.
//!
//! A registry is built from layers of contract directories: the built-in
//! `contracts/` compiled into the binary, then any deployment directories.
//! A directory holds:
//!
//! ```text
//! units.toml                                  unit table layer
//! envelope/cloudevents.schema.json            the envelope (built-in only)
//! <type>/<major>.<minor>.schema.json          one schema version of a contract
//! <type>/examples/{valid,invalid}-<name>.json example messages
//! <type>/examples/expect.toml                 why each invalid example fails
//! ```
//!
//! Schema ids are immutable: a layer may repeat a known version only
//! byte-for-byte in meaning (the same JSON), never change it.

mod contract;
pub mod files;
mod load;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use takt_model::{ContractType, SchemaId, SchemaVersion};

pub use contract::{ContractMeta, ContractVersion, Example, Expectation, Pattern};
pub use files::ContractFile;
pub(crate) use load::compile as compile_schema;

use crate::Result;
use crate::units::UnitTable;

/// The JSON Schema dialect every Takt schema declares in `$schema`.
pub const DIALECT: &str = "https://json-schema.org/draft/2020-12/schema";

/// All versions of one contract type, plus its examples.
#[derive(Debug)]
pub struct Contract {
    contract_type: ContractType,
    versions: BTreeMap<SchemaVersion, ContractVersion>,
    examples: Vec<Example>,
}

impl Contract {
    /// The contract type.
    pub fn contract_type(&self) -> &ContractType {
        &self.contract_type
    }

    /// The highest version.
    pub fn latest(&self) -> &ContractVersion {
        self.versions
            .values()
            .next_back()
            .expect("a contract has at least one version")
    }

    /// Every version, oldest first.
    pub fn versions(&self) -> impl DoubleEndedIterator<Item = &ContractVersion> {
        self.versions.values()
    }

    /// One version.
    pub fn version(&self, version: SchemaVersion) -> Option<&ContractVersion> {
        self.versions.get(&version)
    }

    /// The shipped example messages.
    pub fn examples(&self) -> &[Example] {
        &self.examples
    }
}

/// The compiled envelope schema.
#[derive(Debug)]
pub(crate) struct Envelope {
    pub(crate) schema: Value,
    pub(crate) validator: jsonschema::Validator,
}

/// Every contract Takt knows, compiled and ready to validate messages.
#[derive(Debug)]
pub struct Registry {
    pub(crate) envelope: Envelope,
    contracts: BTreeMap<String, Contract>,
    units: UnitTable,
}

impl Registry {
    /// The built-in contracts only.
    pub fn builtin() -> Result<Self> {
        Self::from_layers(vec![files::builtin()])
    }

    /// The built-in contracts plus each deployment directory, in order.
    pub fn load<P: AsRef<Path>>(dirs: &[P]) -> Result<Self> {
        let mut layers = vec![files::builtin()];
        for dir in dirs {
            layers.push(files::read_dir(dir.as_ref())?);
        }
        Self::from_layers(layers)
    }

    /// Builds a registry from layers of files; the first must hold the envelope.
    pub fn from_layers(layers: Vec<Vec<ContractFile>>) -> Result<Self> {
        load::build(layers)
    }

    /// Every contract, by type name.
    pub fn contracts(&self) -> impl Iterator<Item = &Contract> {
        self.contracts.values()
    }

    /// One contract by type name, e.g. `mfg.material.consumed.v1`.
    pub fn contract(&self, contract_type: &str) -> Option<&Contract> {
        self.contracts.get(contract_type)
    }

    /// One contract version by schema id.
    pub fn version(&self, id: &SchemaId) -> Option<&ContractVersion> {
        self.contract(id.contract.as_str())?.version(id.version)
    }

    /// The merged unit table.
    pub fn units(&self) -> &UnitTable {
        &self.units
    }

    /// The CloudEvents envelope schema.
    pub fn envelope_schema(&self) -> &Value {
        &self.envelope.schema
    }
}

#[cfg(test)]
mod tests;
