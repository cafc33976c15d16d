//! Mapping fixtures: input → expected-output pairs shipped beside a jq
//! mapping, run by `takt check`.
//!
//! ```text
//! mappings/erp-goods-movement.jq
//! mappings/erp-goods-movement.fixtures/lot-managed.input.json      what the mapping gets
//! mappings/erp-goods-movement.fixtures/lot-managed.expected.json   what it must produce
//! mappings/erp-goods-movement.fixtures/unknown-unit.input.json
//! mappings/erp-goods-movement.fixtures/unknown-unit.error.txt      text its error must contain
//! ```
//!
//! The input is what the mapping gets where it is used: a native payload
//! (`[native]`), a CloudEvent (subscriptions, `sync.request_mapping`),
//! `{status, body, request}` (`sync.response_mapping`), or what a
//! conversion of `conversions.toml` converts. Outputs are compared
//! as JSON values (key order does not matter). Mappings run with the
//! deployment's unit table, on the day `takt check --on` names.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde_json::Value;

use super::check::{Findings, Severity};
use crate::deployment::Deployment;
use crate::mapping::{MapEnv, Mapping};
use crate::registry::Registry;

/// The suffix of a mapping's fixtures directory: `x.jq` → `x.fixtures/`.
pub const FIXTURES_SUFFIX: &str = ".fixtures";
const INPUT: &str = ".input.json";
const EXPECTED: &str = ".expected.json";
const ERROR: &str = ".error.txt";

/// A jq mapping file the deployment uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsedMapping {
    /// The file as the catalog names it, relative to the deployment directory.
    pub file: String,
    /// The jq program.
    pub code: String,
    /// Whether `takt serve` compiles it at startup (subscription, `[sync]`
    /// and conversion mappings): its compile errors are reported there.
    pub compiled_by_deployment: bool,
}

/// Every distinct mapping file that native sections, subscriptions,
/// `[sync]` tables and `conversions.toml` name, by file.
pub fn used_mappings(deployment: &Deployment) -> BTreeMap<String, UsedMapping> {
    let mut used = BTreeMap::new();
    let mut add = |file: &str, code: &str, compiled: bool| {
        used.entry(file.to_owned()).or_insert_with(|| UsedMapping {
            file: file.to_owned(),
            code: code.to_owned(),
            compiled_by_deployment: compiled,
        });
    };
    for native in deployment.natives.values() {
        add(&native.mapping_origin, &native.mapping, false);
    }
    for (file, code) in deployment.subscription_mappings.values() {
        add(file, code, true);
    }
    for conversion in &deployment.conversions {
        add(&conversion.origin, &conversion.code, true);
    }
    for sync in deployment.sync_mappings.values() {
        for (file, code) in [&sync.request, &sync.response].into_iter().flatten() {
            add(file, code, true);
        }
    }
    used
}

/// The fixtures directory of a mapping file, relative like the file.
pub fn fixtures_dir(mapping: &str) -> String {
    let stem = mapping.strip_suffix(".jq").unwrap_or(mapping);
    format!("{stem}{FIXTURES_SUFFIX}")
}

/// What one fixture case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    /// `<case>.expected.json`: this output.
    Output(PathBuf),
    /// `<case>.error.txt`: an error whose message contains this file's text.
    Error(PathBuf),
}

/// One fixture case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The case name, e.g. `lot-managed`.
    pub name: String,
    /// `<case>.input.json`.
    pub input: PathBuf,
    /// What it must produce.
    pub expected: Expected,
}

/// The cases in a fixtures directory, and a sentence for every file that
/// fits no case (a typo such as `x.expect.json`, an input without an
/// expectation or the reverse).
pub fn cases(dir: &Path) -> std::io::Result<(Vec<Case>, Vec<FixtureError>)> {
    let mut inputs = BTreeMap::new();
    let mut expectations: BTreeMap<String, Vec<Expected>> = BTreeMap::new();
    let mut strays = Vec::new();
    for entry in fs::read_dir(dir)? {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        if let Some(case) = name.strip_suffix(INPUT) {
            inputs.insert(case.to_owned(), path);
        } else if let Some(case) = name.strip_suffix(EXPECTED) {
            let found = Expected::Output(path);
            expectations.entry(case.to_owned()).or_default().push(found);
        } else if let Some(case) = name.strip_suffix(ERROR) {
            let found = Expected::Error(path);
            expectations.entry(case.to_owned()).or_default().push(found);
        } else if !name.starts_with('.') {
            let why = format!(
                "{name} is not a fixture file: name them <case>{INPUT} with <case>{EXPECTED} or <case>{ERROR}"
            );
            strays.push(stray(path, why));
        }
    }
    let mut found = Vec::new();
    for (name, input) in inputs {
        match expectations.remove(&name).unwrap_or_default().as_slice() {
            [expected] => found.push(Case {
                name,
                input,
                expected: expected.clone(),
            }),
            [] => {
                let why = format!("case {name} has no {name}{EXPECTED} or {name}{ERROR}");
                strays.push(stray(input, why));
            }
            _ => {
                let why =
                    format!("case {name} has both {name}{EXPECTED} and {name}{ERROR}: keep one");
                strays.push(stray(input, why));
            }
        }
    }
    for (name, expected) in expectations {
        for file in expected {
            let (Expected::Output(path) | Expected::Error(path)) = file;
            strays.push(stray(path, format!("case {name} has no {name}{INPUT}")));
        }
    }
    Ok((found, strays))
}

fn stray(file: PathBuf, message: String) -> FixtureError {
    FixtureError {
        file,
        place: None,
        message,
    }
}

/// Why a fixture file could not be used, placed by line and column for JSON.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixtureError {
    /// The file at fault.
    pub file: PathBuf,
    /// Line and column, for JSON syntax errors.
    pub place: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

fn read_json(path: &Path) -> Result<Value, FixtureError> {
    let fail = |place, message| FixtureError {
        file: path.to_owned(),
        place,
        message,
    };
    let text = fs::read_to_string(path).map_err(|e| fail(None, format!("cannot read it: {e}")))?;
    serde_json::from_str(&text)
        .map_err(|e| fail(Some((e.line(), e.column())), format!("not valid JSON: {e}")))
}

/// Runs one case: `Ok` when the mapping does what the case expects, else
/// why not (for the expectation file).
pub fn run_case(mapping: &Mapping, case: &Case, env: MapEnv<'_>) -> Result<(), FixtureError> {
    let input = read_json(&case.input)?;
    let outcome = mapping.run(&input, env);
    match &case.expected {
        Expected::Output(file) => {
            let expected = read_json(file)?;
            let fail = |message| FixtureError {
                file: file.clone(),
                place: None,
                message,
            };
            let actual = outcome.map_err(|e| fail(format!("the mapping failed: {}", e.message)))?;
            let differences = differences(&expected, &actual);
            if differences.is_empty() {
                return Ok(());
            }
            Err(fail(format!("output differs: {}", differences.join("; "))))
        }
        Expected::Error(file) => {
            let fail = |message| FixtureError {
                file: file.clone(),
                place: None,
                message,
            };
            let text =
                fs::read_to_string(file).map_err(|e| fail(format!("cannot read it: {e}")))?;
            let wanted = text.trim();
            match outcome {
                Err(e) if e.message.contains(wanted) => Ok(()),
                Err(e) => Err(fail(format!(
                    "the mapping failed with {:?}, which does not contain {wanted:?}",
                    e.message
                ))),
                Ok(output) => Err(fail(format!(
                    "the mapping was expected to fail with {wanted:?} but produced {output}"
                ))),
            }
        }
    }
}

/// At most this many differences are listed per case.
const MAX_DIFFERENCES: usize = 5;

/// Where `actual` differs from `expected`, as `pointer: expected X, got Y`.
pub fn differences(expected: &Value, actual: &Value) -> Vec<String> {
    let mut found = Vec::new();
    compare("", expected, actual, &mut found);
    found.truncate(MAX_DIFFERENCES);
    found
}

fn compare(pointer: &str, expected: &Value, actual: &Value, found: &mut Vec<String>) {
    if found.len() >= MAX_DIFFERENCES {
        return;
    }
    let at = if pointer.is_empty() { "/" } else { pointer };
    match (expected, actual) {
        (Value::Object(e), Value::Object(a)) => {
            for (key, value) in e {
                let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                match a.get(key) {
                    Some(other) => compare(&child, value, other, found),
                    None => found.push(format!("{child}: expected {value}, missing")),
                }
            }
            for (key, value) in a.iter().filter(|(k, _)| !e.contains_key(*k)) {
                found.push(format!("{pointer}/{key}: not expected, got {value}"));
            }
        }
        (Value::Array(e), Value::Array(a)) if e.len() == a.len() => {
            for (index, (e, a)) in e.iter().zip(a).enumerate() {
                compare(&format!("{pointer}/{index}"), e, a, found);
            }
        }
        (Value::Array(e), Value::Array(a)) => {
            found.push(format!("{at}: expected {} items, got {}", e.len(), a.len()))
        }
        _ if expected != actual => found.push(format!("{at}: expected {expected}, got {actual}")),
        _ => {}
    }
}

/// How much the fixtures step checked.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Tally {
    pub(crate) mappings: usize,
    pub(crate) cases: usize,
}

/// Compiles every used mapping and runs its fixtures; warns about mappings
/// without fixtures and fixtures of mappings nothing uses.
pub(crate) fn check(
    deployment: &Deployment,
    registry: &Registry,
    on: NaiveDate,
    findings: &mut Findings,
) -> Tally {
    let root = deployment.root.clone().unwrap_or_default();
    let used = used_mappings(deployment);
    let env = MapEnv {
        units: registry.units(),
        on,
    };
    let mut tally = Tally {
        mappings: used.len(),
        cases: 0,
    };
    for mapping in used.values() {
        tally.cases += check_mapping(&root, mapping, env, findings);
    }
    unused_fixtures(&root, &used, findings);
    tally
}

/// Compiles one mapping and runs its cases; returns how many ran.
fn check_mapping(
    root: &Path,
    used: &UsedMapping,
    env: MapEnv<'_>,
    findings: &mut Findings,
) -> usize {
    let mapping = match Mapping::compile(&used.file, &used.code) {
        Ok(mapping) => mapping,
        Err(e) => {
            if !used.compiled_by_deployment {
                findings.add(Severity::Error, "mapping", &used.file, None, e.message);
            }
            return 0;
        }
    };
    let dir = fixtures_dir(&used.file);
    if !root.join(&dir).is_dir() {
        let message = format!(
            "no fixtures: add {dir}/<case>{INPUT} and <case>{EXPECTED} so that `takt check` proves what it produces"
        );
        findings.add(Severity::Warning, "fixture", &used.file, None, message);
        return 0;
    }
    let (cases, strays) = match cases(&root.join(&dir)) {
        Ok(found) => found,
        Err(e) => {
            let message = format!("cannot read the fixtures: {e}");
            findings.add(Severity::Error, "fixture", &dir, None, message);
            return 0;
        }
    };
    for stray in strays {
        findings.add_path(Severity::Error, "fixture", &stray.file, None, stray.message);
    }
    for case in &cases {
        if let Err(e) = run_case(&mapping, case, env) {
            let message = format!("{} on case {}: {}", used.file, case.name, e.message);
            findings.add_path(Severity::Error, "fixture", &e.file, e.place, message);
        }
    }
    cases.len()
}

/// Warns about `mappings/*.fixtures/` directories whose mapping nothing uses.
fn unused_fixtures(root: &Path, used: &BTreeMap<String, UsedMapping>, findings: &mut Findings) {
    let Ok(entries) = fs::read_dir(root.join("mappings")) else {
        return;
    };
    let wanted: Vec<String> = used.keys().map(|m| fixtures_dir(m)).collect();
    let mut dirs: Vec<String> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .map(|e| format!("mappings/{}", e.file_name().to_string_lossy()))
        .filter(|d| d.ends_with(FIXTURES_SUFFIX) && !wanted.contains(d))
        .collect();
    dirs.sort();
    for dir in dirs {
        let mapping = format!("{}.jq", dir.trim_end_matches(FIXTURES_SUFFIX));
        let message = format!(
            "fixtures of {mapping}, which no interface or subscription uses: remove them or use the mapping"
        );
        findings.add(Severity::Warning, "fixture", &dir, None, message);
    }
}
