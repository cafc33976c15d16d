//! The deployment's own contract versions: compatible with the versions
//! before them under their declared mode, and, against a baseline, never
//! changed in place or removed.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use takt_model::SchemaVersion;

use super::{CheckOptions, Findings, Severity};
use crate::compat::{self, Version};
use crate::deployment::Deployment;
use crate::registry::{ContractFile, ContractVersion, Registry};

/// A schema of the baseline: where it came from, and its content.
struct Published {
    origin: String,
    relative: String,
    schema: Value,
}

type Baseline = BTreeMap<(String, SchemaVersion), Published>;

/// Checks every contract version the deployment declares; returns how many.
pub(super) fn check(
    deployment: &Deployment,
    registry: &Registry,
    options: &CheckOptions,
    findings: &mut Findings,
) -> usize {
    let own: Vec<&ContractVersion> = registry
        .contracts()
        .flat_map(|c| c.versions())
        .filter(|v| !v.origin.starts_with("builtin:"))
        .collect();
    let baseline = options.baseline.as_deref().map(published);
    for version in &own {
        let key = (version.id.contract.to_string(), version.id.version);
        match baseline.as_ref().and_then(|b| b.get(&key)) {
            Some(old) if old.schema == version.schema => {}
            Some(old) => changed_in_place(version, old, findings),
            None => compatible_with_earlier(registry, version, findings),
        }
    }
    if let Some(baseline) = &baseline {
        removed(deployment, registry, baseline, findings);
    }
    own.len()
}

/// The schemas in a baseline's contracts directory, by type and version;
/// files that are no schema, or not JSON, are left out.
fn published(files: &[ContractFile]) -> Baseline {
    let mut found = Baseline::new();
    for file in files {
        let Some((contract, name)) = file.relative.split_once('/') else {
            continue;
        };
        let Some(version) = name
            .strip_suffix(".schema.json")
            .and_then(|v| v.parse::<SchemaVersion>().ok())
        else {
            continue;
        };
        if let Ok(schema) = serde_json::from_str(&file.text) {
            let entry = Published {
                origin: file.origin.clone(),
                relative: file.relative.clone(),
                schema,
            };
            found.insert((contract.to_owned(), version), entry);
        }
    }
    found
}

fn changed_in_place(version: &ContractVersion, old: &Published, findings: &mut Findings) {
    let id = &version.id;
    let next = SchemaVersion {
        major: id.version.major,
        minor: id.version.minor + 1,
    };
    let message = format!(
        "{} {} changed since the baseline ({}); a published schema id is immutable: restore it and publish the change as {next}",
        id.contract, id.version, old.origin
    );
    let file = Path::new(&version.origin);
    findings.add_path(Severity::Error, "baseline", file, None, message);
    let label = id.version.to_string();
    let report = compat::check(
        version.meta.compatibility,
        &[Version {
            label: &format!("{label} (baseline)"),
            schema: &old.schema,
        }],
        Version {
            label: &label,
            schema: &version.schema,
        },
        "/data",
    );
    for b in report.breaks() {
        let message = format!("against the baseline: {}", b.explanation);
        findings.add_path(Severity::Error, "baseline", file, None, message);
    }
}

fn compatible_with_earlier(
    registry: &Registry,
    version: &ContractVersion,
    findings: &mut Findings,
) {
    let Some(contract) = registry.contract(version.id.contract.as_str()) else {
        return;
    };
    let earlier: Vec<&ContractVersion> = contract
        .versions()
        .filter(|v| v.id.version < version.id.version)
        .collect();
    if earlier.is_empty() {
        return;
    }
    let labels: Vec<String> = earlier.iter().map(|v| v.id.version.to_string()).collect();
    let earlier: Vec<Version<'_>> = earlier
        .iter()
        .zip(&labels)
        .map(|(v, label)| Version {
            label,
            schema: &v.schema,
        })
        .collect();
    let label = version.id.version.to_string();
    let mode = version.meta.compatibility;
    let new = Version {
        label: &label,
        schema: &version.schema,
    };
    for b in compat::check(mode, &earlier, new, "/data").breaks() {
        let message = format!("{} (declared mode {mode})", b.explanation);
        let file = Path::new(&version.origin);
        findings.add_path(Severity::Error, "compatibility", file, None, message);
    }
}

fn removed(
    deployment: &Deployment,
    registry: &Registry,
    baseline: &Baseline,
    findings: &mut Findings,
) {
    let dir = deployment.contracts_dir();
    for ((contract, version), old) in baseline {
        let present = registry
            .contract(contract)
            .and_then(|c| c.version(*version))
            .is_some();
        if present {
            continue;
        }
        let message = format!(
            "{contract} {version} was published in the baseline ({}) and is gone: producers may still send it; keep the file and retire the version in lifecycle.toml instead",
            old.origin
        );
        let file = match &dir {
            Some(dir) => dir.join(&old.relative),
            None => Path::new("contracts").join(&old.relative),
        };
        findings.add_path(Severity::Error, "baseline", &file, None, message);
    }
}
