//! `takt contract lint DIR`: conventions every contract should follow.
//!
//! Loading already rejects what cannot work (bad JSON, bad schema, wrong
//! `$id`). Lint goes further, with one [`Finding`] per problem:
//!
//! | rule | checks |
//! |---|---|
//! | `load` | the directory loads at all |
//! | `naming` | events are past tense, commands are not, queries end in `query` |
//! | `draft07-subset` | no 2020-12-only keyword; nothing beside `$ref` but annotations |
//! | `description` | the schema and every property have a description |
//! | `quantity` | every quantity is `{value: decimal string, uom: known code}` |
//! | `envelope` | the envelope requires Takt's extensions; `siteId` and `x-takt-ordering-key` let the hub fill `siteid` and `partitionkey` |
//! | `metadata` | `x-takt-pattern` and `x-takt-compatibility` are declared |
//! | `examples` | at least 2 valid and 3 labelled invalid examples, each as labelled |
//! | `compatibility` | each version is compatible with the earlier ones under its declared mode |

mod examples;
mod rules;

use std::path::Path;

use crate::registry::{ContractFile, ContractVersion, Registry, files};

/// How serious a finding is: errors fail the lint, warnings do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Must be fixed.
    Error,
    /// Should be fixed.
    Warning,
}

/// One lint problem.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// The file.
    pub file: String,
    /// JSON pointer into the file, empty for the whole file.
    pub pointer: String,
    /// Rule code, e.g. `quantity`.
    pub rule: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// Collects findings while rules run.
#[derive(Default)]
pub(crate) struct Findings(Vec<Finding>);

impl Findings {
    pub(crate) fn error(&mut self, file: &str, pointer: &str, rule: &'static str, message: String) {
        self.push(Severity::Error, file, pointer, rule, message);
    }

    pub(crate) fn warning(
        &mut self,
        file: &str,
        pointer: &str,
        rule: &'static str,
        message: String,
    ) {
        self.push(Severity::Warning, file, pointer, rule, message);
    }

    fn push(
        &mut self,
        severity: Severity,
        file: &str,
        pointer: &str,
        rule: &'static str,
        message: String,
    ) {
        self.0.push(Finding {
            severity,
            file: file.to_owned(),
            pointer: pointer.to_owned(),
            rule,
            message,
        });
    }
}

/// Lints the contracts in `dir` (a deployment directory or Takt's own).
///
/// The built-in envelope and unit table are used when `dir` has none, so a
/// deployment's contracts are checked against the units it can really use.
pub fn lint_dir(dir: &Path) -> crate::Result<Vec<Finding>> {
    let (own_envelope, own): (Vec<ContractFile>, Vec<ContractFile>) = files::read_dir(dir)?
        .into_iter()
        .partition(|f| f.relative.starts_with("envelope/"));
    let builtin = files::builtin().into_iter();
    let mut base: Vec<ContractFile> = if own_envelope.is_empty() {
        builtin
            .filter(|f| f.relative.starts_with("envelope/") || f.relative == "units.toml")
            .collect()
    } else {
        builtin.filter(|f| f.relative == "units.toml").collect()
    };
    base.extend(own_envelope);
    let mut findings = Findings::default();
    match Registry::from_layers(vec![base, own]) {
        Ok(registry) => lint_registry(&registry, &mut findings),
        Err(e) => findings.error(&dir.display().to_string(), "", "load", e.to_string()),
    }
    let mut found = findings.0;
    found.sort_by(|a, b| (&a.file, a.severity, &a.pointer).cmp(&(&b.file, b.severity, &b.pointer)));
    Ok(found)
}

fn lint_registry(registry: &Registry, findings: &mut Findings) {
    rules::envelope(registry, findings);
    for contract in registry.contracts() {
        for version in contract.versions() {
            lint_version(registry, version, findings);
        }
        rules::compatibility(contract, findings);
        examples::check(registry, contract, findings);
    }
}

fn lint_version(registry: &Registry, version: &ContractVersion, findings: &mut Findings) {
    rules::naming(version, findings);
    rules::metadata(version, findings);
    rules::draft07_subset(version, findings);
    rules::descriptions(version, findings);
    rules::quantities(registry, version, findings);
    rules::site_and_ordering(version, findings);
}

#[cfg(test)]
mod tests;
