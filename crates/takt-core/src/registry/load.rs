//! Turning layers of contract files into a [`Registry`].

use std::collections::BTreeMap;

use serde_json::Value;
use takt_model::{ContractType, SchemaId, SchemaVersion};

use super::{
    Contract, ContractFile, ContractMeta, ContractVersion, DIALECT, Envelope, Example, Expectation,
    Registry,
};
use crate::units::UnitTable;
use crate::{Error, Result};

const ENVELOPE_PATH: &str = "envelope/cloudevents.schema.json";
const UNITS_PATH: &str = "units.toml";

/// What a file in a contracts directory is, by its path.
enum Kind<'a> {
    Units,
    Envelope,
    Schema { contract: &'a str, version: &'a str },
    Example { contract: &'a str, name: &'a str },
    Expectations { contract: &'a str },
}

fn classify(relative: &str) -> Option<Kind<'_>> {
    if relative == UNITS_PATH {
        return Some(Kind::Units);
    }
    if relative == ENVELOPE_PATH {
        return Some(Kind::Envelope);
    }
    let parts: Vec<&str> = relative.split('/').collect();
    match parts.as_slice() {
        [contract, file] => {
            let version = file.strip_suffix(".schema.json")?;
            Some(Kind::Schema { contract, version })
        }
        [contract, "examples", "expect.toml"] => Some(Kind::Expectations { contract }),
        [contract, "examples", file] => {
            let name = file.strip_suffix(".json")?;
            Some(Kind::Example { contract, name })
        }
        _ => None,
    }
}

#[derive(Default)]
struct Builder {
    envelope: Option<Envelope>,
    contracts: BTreeMap<String, Contract>,
    examples: BTreeMap<String, Vec<(String, ContractFile)>>,
    expectations: BTreeMap<String, BTreeMap<String, Expectation>>,
    units: UnitTable,
}

pub(super) fn build(layers: Vec<Vec<ContractFile>>) -> Result<Registry> {
    let mut builder = Builder::default();
    for (index, layer) in layers.into_iter().enumerate() {
        for file in layer {
            builder.add(file, index == 0)?;
        }
    }
    builder.finish()
}

impl Builder {
    fn add(&mut self, file: ContractFile, first_layer: bool) -> Result<()> {
        let Some(kind) = classify(&file.relative) else {
            return Err(Error::contract(
                &file.origin,
                "unexpected file: a contracts directory holds units.toml, \
                 <type>/<major>.<minor>.schema.json and <type>/examples/*.json",
            ));
        };
        match kind {
            Kind::Units => self.units.add_toml(&file.origin, &file.text),
            Kind::Envelope => self.add_envelope(&file, first_layer),
            Kind::Schema { contract, version } => {
                let (contract, version) = (contract.to_owned(), version.to_owned());
                self.add_schema(&file, &contract, &version)
            }
            Kind::Example { contract, name } => {
                let entry = (name.to_owned(), file.clone());
                self.examples
                    .entry(contract.to_owned())
                    .or_default()
                    .push(entry);
                Ok(())
            }
            Kind::Expectations { contract } => {
                let labels: BTreeMap<String, Expectation> = toml::from_str(&file.text)
                    .map_err(|e| Error::contract(&file.origin, e.to_string()))?;
                self.expectations
                    .entry(contract.to_owned())
                    .or_default()
                    .extend(labels);
                Ok(())
            }
        }
    }

    fn add_envelope(&mut self, file: &ContractFile, first_layer: bool) -> Result<()> {
        let schema = parse_json(file)?;
        match &self.envelope {
            Some(known) if known.schema == schema => Ok(()),
            Some(_) => Err(Error::contract(
                &file.origin,
                "the envelope is Takt's own and cannot be replaced by a deployment",
            )),
            None if !first_layer => Err(Error::contract(
                &file.origin,
                "the envelope must come first",
            )),
            None => {
                let validator = compile(&file.origin, &schema)?;
                self.envelope = Some(Envelope { schema, validator });
                Ok(())
            }
        }
    }

    fn add_schema(&mut self, file: &ContractFile, contract: &str, version: &str) -> Result<()> {
        let origin = &file.origin;
        let contract_type: ContractType = contract
            .parse()
            .map_err(|e: takt_model::Error| Error::contract(origin, e.to_string()))?;
        let version: SchemaVersion = version
            .parse()
            .map_err(|e: takt_model::Error| Error::contract(origin, e.to_string()))?;
        let id = SchemaId::new(contract_type.clone(), version).map_err(|_| {
            Error::contract(
                origin,
                format!(
                    "version {version} does not belong to {contract_type}: its major must be {}",
                    contract_type.major()
                ),
            )
        })?;
        let schema = parse_json(file)?;
        check_header(origin, &schema, &id)?;
        let meta = ContractMeta::from_schema(&schema).map_err(|r| Error::contract(origin, r))?;
        let entry = self
            .contracts
            .entry(contract.to_owned())
            .or_insert_with(|| Contract {
                contract_type,
                versions: BTreeMap::new(),
                examples: Vec::new(),
            });
        if let Some(known) = entry.versions.get(&version) {
            if known.schema == schema {
                return Ok(());
            }
            return Err(Error::contract(
                origin,
                format!(
                    "{id} is already defined by {} with different content; published schema ids are immutable, publish a new minor version instead",
                    known.origin
                ),
            ));
        }
        let validator = compile(origin, &schema)?;
        let compiled = ContractVersion {
            id,
            schema,
            meta,
            origin: origin.clone(),
            validator,
        };
        entry.versions.insert(version, compiled);
        Ok(())
    }

    fn finish(mut self) -> Result<Registry> {
        let envelope = self
            .envelope
            .ok_or_else(|| Error::contract("builtin", format!("{ENVELOPE_PATH} is missing")))?;
        for (contract, files) in std::mem::take(&mut self.examples) {
            let labels = self.expectations.remove(&contract).unwrap_or_default();
            let Some(entry) = self.contracts.get_mut(&contract) else {
                let origin = files
                    .first()
                    .map(|(_, f)| f.origin.clone())
                    .unwrap_or_default();
                return Err(Error::contract(
                    origin,
                    format!("examples for {contract}, which has no schema"),
                ));
            };
            for (name, file) in files {
                let expect = labels.get(&name).cloned();
                entry.examples.push(Example {
                    name,
                    origin: file.origin,
                    text: file.text,
                    expect,
                });
            }
        }
        Ok(Registry {
            envelope,
            contracts: self.contracts,
            units: self.units,
        })
    }
}

fn parse_json(file: &ContractFile) -> Result<Value> {
    serde_json::from_str(&file.text)
        .map_err(|e| Error::contract(&file.origin, format!("not valid JSON: {e}")))
}

fn check_header(origin: &str, schema: &Value, id: &SchemaId) -> Result<()> {
    if schema.get("$schema").and_then(Value::as_str) != Some(DIALECT) {
        return Err(Error::contract(
            origin,
            format!("\"$schema\" must be \"{DIALECT}\""),
        ));
    }
    let expected = id.to_string();
    match schema.get("$id").and_then(Value::as_str) {
        Some(found) if found == expected => Ok(()),
        found => Err(Error::contract(
            origin,
            match found {
                Some(found) => format!(
                    "\"$id\" must be \"{expected}\" to match the file's place, not \"{found}\""
                ),
                None => format!(
                    "\"$id\" must be \"{expected}\" to match the file's place, and is missing"
                ),
            },
        )),
    }
}

/// Checks a schema against the 2020-12 meta-schema, then compiles it with
/// format assertions on. Remote `$ref`s are never fetched.
pub(crate) fn compile(origin: &str, schema: &Value) -> Result<jsonschema::Validator> {
    if let Err(e) = jsonschema::meta::validate(schema) {
        return Err(Error::contract(
            origin,
            format!(
                "not a valid JSON Schema at {}: {e}",
                pointer_or_root(e.instance_path().as_str())
            ),
        ));
    }
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .should_validate_formats(true)
        .build(schema)
        .map_err(|e| Error::contract(origin, format!("schema does not compile: {e}")))
}

fn pointer_or_root(pointer: &str) -> &str {
    if pointer.is_empty() {
        "the root"
    } else {
        pointer
    }
}
