//! `takt check DIR`: everything a deployment's CI should know before the
//! catalog goes live, as one list of [`Finding`]s.
//!
//! | rule | severity | checks |
//! |---|---|---|
//! | `syntax` | error | every file is valid TOML and fits its struct (file:line:column) |
//! | `contracts` | error | the deployment's contracts load: JSON, schema, `$id`, layout, units |
//! | `reference` | error | systems, interfaces, contracts and versions named anywhere exist |
//! | `config` | error | what `takt serve` refuses: connectors, policies, rate limits, … |
//! | `mapping` | error | every jq mapping compiles |
//! | `schema` | error | every native payload schema compiles |
//! | `policy` | error | the Rego rules in `policies/` compile |
//! | `fixture` | error / warning | each mapping's fixtures pass; a mapping without fixtures is a warning |
//! | `compatibility` | error | the deployment's contract versions are compatible with earlier ones under their declared mode |
//! | `baseline` | error | against the baseline: no published version changed in place or removed |
//! | `owner` | error | every system, interface and subscription names an owner |
//! | `fallback` | error | every tier-1 interface has a fallback procedure |
//! | `lifecycle` | error / warning | dates in order; nothing depends on or carries what is retired; deprecations have a sunset |
//! | `placeholder` | error | no scaffold placeholder (`todo.invalid`) is left in a connector |
//! | `governance` | warning | every interface has a tier |
//! | `depends_on` | warning | `depends_on` has no cycle |
//! | `orphan` | warning | every contract the deployment declares is used |
//! | `credentials` | warning | API keys are only on systems that send, and senders can authenticate |

mod contracts;
mod rules;
mod syntax;

use std::path::{Path, PathBuf};

use chrono::NaiveDate;

use super::fixtures;
use crate::deployment::Deployment;
pub use crate::lint::Severity;
use crate::policy::Policy;
use crate::registry::{ContractFile, Registry, compile_schema};
use crate::{Error, Result};

/// What `takt check` is asked to do besides the deployment itself.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// The day fixtures map on (material conversions have validity dates)
    /// and lifecycle dates are compared with.
    pub on: NaiveDate,
    /// The contracts directory of the baseline (e.g. the main branch), to
    /// find contract versions that are new, changed or removed; none: every
    /// version the deployment declares is checked for compatibility.
    pub baseline: Option<Vec<ContractFile>>,
}

/// One problem, placed as precisely as the check knows.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    /// Errors fail the check; warnings only with `--deny-warnings`.
    pub severity: Severity,
    /// Rule code, e.g. `fallback`.
    pub rule: &'static str,
    /// The file, as reached from the directory given.
    pub file: String,
    /// Line in the file, from 1, when known.
    pub line: Option<usize>,
    /// Column in the line, from 1, when known.
    pub column: Option<usize>,
    /// The field, e.g. `fallback_procedure` or `sync.connector.url`, when known.
    pub field: Option<String>,
    /// What is wrong and how to fix it.
    pub message: String,
}

/// How much was checked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counts {
    /// `systems/*.toml`.
    pub systems: usize,
    /// `interfaces/*.toml`.
    pub interfaces: usize,
    /// `subscriptions/*.toml`.
    pub subscriptions: usize,
    /// Distinct jq mapping files used.
    pub mappings: usize,
    /// Fixture cases run.
    pub fixtures: usize,
    /// Contract versions the deployment declares.
    pub contract_versions: usize,
}

/// The result of `takt check`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckReport {
    /// What was checked.
    pub counts: Counts,
    /// Every finding, by file, errors first.
    pub findings: Vec<Finding>,
}

impl CheckReport {
    /// How many findings have this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// Collects findings while the checks run.
#[derive(Debug)]
pub(crate) struct Findings {
    root: PathBuf,
    found: Vec<Finding>,
}

impl Findings {
    /// Adds a finding about `file`, a path relative to the deployment directory.
    pub(crate) fn add(
        &mut self,
        severity: Severity,
        rule: &'static str,
        file: &str,
        field: Option<&str>,
        message: String,
    ) {
        self.found.push(Finding {
            severity,
            rule,
            file: self.root.join(file).display().to_string(),
            line: None,
            column: None,
            field: field.map(str::to_owned),
            message,
        });
    }

    /// Adds a finding about `file`, a path that already includes the
    /// deployment directory, at a line and column when known.
    pub(crate) fn add_path(
        &mut self,
        severity: Severity,
        rule: &'static str,
        file: &Path,
        place: Option<(usize, usize)>,
        message: String,
    ) {
        self.found.push(Finding {
            severity,
            rule,
            file: file.display().to_string(),
            line: place.map(|p| p.0),
            column: place.map(|p| p.1),
            field: None,
            message,
        });
    }

    /// Adds an error of another part of Takt (which names its own file).
    pub(crate) fn error(&mut self, rule: &'static str, error: &Error) {
        self.found.push(finding_of(rule, error));
    }
}

/// Checks the deployment in `dir`. Fails only when `dir` is no directory;
/// everything else is a finding.
pub fn check_dir(dir: &Path, options: &CheckOptions) -> Result<CheckReport> {
    if !dir.is_dir() {
        return Err(Error::Config {
            origin: dir.display().to_string(),
            reason: "is not a directory".into(),
        });
    }
    let mut findings = Findings {
        root: dir.to_owned(),
        found: Vec::new(),
    };
    let mut counts = Counts::default();
    if let Some((deployment, registry)) = load(dir, &mut findings) {
        counts = check_loaded(&deployment, &registry, options, &mut findings);
    }
    let mut found = findings.found;
    found.sort_by(|a, b| {
        (&a.file, a.severity, a.line, &a.field).cmp(&(&b.file, b.severity, b.line, &b.field))
    });
    found.dedup();
    Ok(CheckReport {
        counts,
        findings: found,
    })
}

/// The deployment and its registry, or the findings that stop the check.
fn load(dir: &Path, findings: &mut Findings) -> Option<(Deployment, Registry)> {
    let deployment = match Deployment::load(dir) {
        Ok(deployment) => deployment,
        Err(first) => {
            syntax::collect(dir, first, findings);
            return None;
        }
    };
    let layers: Vec<PathBuf> = deployment.contracts_dir().into_iter().collect();
    match Registry::load(&layers) {
        Ok(registry) => Some((deployment, registry)),
        Err(e) => {
            findings.error("contracts", &e);
            None
        }
    }
}

fn check_loaded(
    deployment: &Deployment,
    registry: &Registry,
    options: &CheckOptions,
    findings: &mut Findings,
) -> Counts {
    for problem in deployment.problems(registry) {
        let rule = rule_of(&problem);
        findings.error(rule, &problem);
    }
    if let Err(e) = Policy::new(&deployment.policies) {
        findings.add(Severity::Error, "policy", "policies", None, e.to_string());
    }
    for native in deployment.natives.values() {
        if let Some((origin, schema)) = &native.schema
            && let Err(e) = compile_schema(origin, schema)
        {
            findings.error("schema", &e);
        }
    }
    let fixtures = fixtures::check(deployment, registry, options.on, findings);
    rules::check(deployment, registry, options.on, findings);
    let contract_versions = contracts::check(deployment, registry, options, findings);
    Counts {
        systems: deployment.systems.len(),
        interfaces: deployment.interfaces.len(),
        subscriptions: deployment.subscriptions.len(),
        mappings: fixtures.mappings,
        fixtures: fixtures.cases,
        contract_versions,
    }
}

/// The field a deployment error names (``field `x`: …``), if it names one.
fn field_of(reason: &str) -> Option<String> {
    let start = reason.find("field `")? + "field `".len();
    let length = reason[start..].find('`')?;
    Some(reason[start..start + length].to_owned())
}

/// The rule a problem of [`Deployment::problems`] belongs to, by its field.
fn rule_of(problem: &Error) -> &'static str {
    let Error::Config { origin, reason } = problem else {
        return "config";
    };
    if origin.ends_with("lifecycle.toml") {
        return "lifecycle";
    }
    let field = field_of(reason).unwrap_or_default();
    let references = [
        "producers",
        "consumers",
        "contracts",
        "destination",
        "sync.destination",
        "versions",
        "system_of_record",
        "depends_on",
    ];
    if references.contains(&field.as_str()) || field.starts_with("contract_versions") {
        "reference"
    } else if field.contains("mapping") {
        "mapping"
    } else {
        "config"
    }
}

/// An error of another part of Takt as a finding: its file, and its line,
/// column and field when it names them.
fn finding_of(rule: &'static str, error: &Error) -> Finding {
    let (file, line, column, message) = match error {
        Error::ConfigAt {
            file,
            line,
            column,
            reason,
        } => (file.clone(), Some(*line), Some(*column), reason.clone()),
        Error::Config { origin, reason }
        | Error::InvalidContract { origin, reason }
        | Error::InvalidUnitTable { origin, reason } => {
            (origin.clone(), None, None, reason.clone())
        }
        Error::Io { path, source } => (
            path.display().to_string(),
            None,
            None,
            format!("cannot read it: {source}"),
        ),
        other => (String::new(), None, None, other.to_string()),
    };
    let field = field_of(&message);
    Finding {
        severity: Severity::Error,
        rule,
        file,
        line,
        column,
        field,
        message,
    }
}

#[cfg(test)]
mod tests;
