//! `takt contract check OLD NEW [--mode M]`: is NEW compatible with OLD, and
//! if not, why — one explained line per break.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::Value;
use takt_core::compat::{self, Mode, Report, Version};
use takt_core::registry::Registry;
use takt_model::{SchemaId, SchemaVersion};

use crate::Outcome;
use crate::cli::CheckArgs;
use crate::output::Output;

/// A schema with the label used in explanations and, when its `$id` is a
/// Takt schema id, its contract type and version.
struct Loaded {
    label: String,
    contract: Option<String>,
    version: Option<SchemaVersion>,
    schema: Value,
}

/// Comparing two different contracts would explain nonsense: refuse.
fn check_same_contract(old: &[Loaded], new: &Loaded) -> anyhow::Result<()> {
    let Some(new_type) = &new.contract else {
        return Ok(());
    };
    match old
        .iter()
        .find_map(|o| o.contract.as_ref().filter(|t| *t != new_type))
    {
        Some(other) => bail!(
            "{} is {new_type} but the earlier versions are {other}: compare versions of one contract",
            new.label
        ),
        None => Ok(()),
    }
}

/// A published schema id never changes: a different schema under the same
/// version is refused, whatever the mode.
fn refuse_republish(label: &str, out: &Output) -> anyhow::Result<Outcome> {
    let message = format!(
        "version {label} is already published with different content; published schema ids are immutable: give the new schema the next minor version"
    );
    if out.is_json() {
        out.json(&serde_json::json!({"compatible": false, "error": {"code": "republished_version", "message": message}}))?;
    } else {
        crate::say!("{label}: INCOMPATIBLE\n  {message}");
    }
    Ok(Outcome::Failed)
}

fn load_file(path: &Path) -> anyhow::Result<Loaded> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let schema: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let id = schema
        .get("$id")
        .and_then(Value::as_str)
        .and_then(|id| id.parse::<SchemaId>().ok());
    let label = id
        .as_ref()
        .map_or_else(|| path.display().to_string(), |id| id.version.to_string());
    Ok(Loaded {
        label,
        contract: id.as_ref().map(|id| id.contract.to_string()),
        version: id.map(|id| id.version),
        schema,
    })
}

/// Earlier versions named by OLD: a file, a directory of `*.schema.json`, or a contract type.
fn load_old(registry: &Registry, old: &str) -> anyhow::Result<Vec<Loaded>> {
    let path = PathBuf::from(old);
    let mut loaded = if path.is_dir() {
        let mut files: Vec<PathBuf> = fs::read_dir(&path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_string_lossy().ends_with(".schema.json"))
            .collect();
        files.sort();
        files
            .iter()
            .map(|p| load_file(p))
            .collect::<anyhow::Result<Vec<_>>>()?
    } else if path.is_file() {
        vec![load_file(&path)?]
    } else if let Some(contract) = registry.contract(old) {
        contract
            .versions()
            .map(|v| Loaded {
                label: v.id.version.to_string(),
                contract: Some(v.id.contract.to_string()),
                version: Some(v.id.version),
                schema: v.schema.clone(),
            })
            .collect()
    } else {
        bail!("{old} is neither a schema file, a directory of schemas, nor a known contract type");
    };
    loaded.sort_by_key(|l| l.version);
    if loaded.is_empty() {
        bail!("{old} holds no *.schema.json file");
    }
    Ok(loaded)
}

pub fn run(registry: &Registry, args: &CheckArgs, out: &Output) -> anyhow::Result<Outcome> {
    let new = load_file(&args.new)?;
    let mut old = load_old(registry, &args.old)?;
    check_same_contract(&old, &new)?;
    let republished = old
        .iter()
        .any(|o| o.version.is_some() && o.version == new.version && o.schema != new.schema);
    if republished {
        return refuse_republish(&new.label, out);
    }
    // A version is compared only with the versions before it.
    if let Some(new_version) = new.version {
        old.retain(|o| o.version.is_none_or(|v| v < new_version));
    }
    let declared = new
        .schema
        .get("x-takt-compatibility")
        .and_then(Value::as_str)
        .and_then(|m| m.parse().ok());
    let mode = args.mode.or(declared).unwrap_or(Mode::BackwardTransitive);
    let earlier: Vec<Version<'_>> = old
        .iter()
        .map(|o| Version {
            label: &o.label,
            schema: &o.schema,
        })
        .collect();
    let report = compat::check(
        mode,
        &earlier,
        Version {
            label: &new.label,
            schema: &new.schema,
        },
        "/data",
    );
    if out.is_json() {
        out.json(&report)?;
    } else {
        print_report(&report, &new.label);
    }
    Ok(if report.compatible {
        Outcome::Passed
    } else {
        Outcome::Failed
    })
}

fn print_report(report: &Report, new: &str) {
    let against: Vec<&str> = report.comparisons.iter().map(|c| c.old.as_str()).collect();
    let verdict = if report.compatible {
        "compatible"
    } else {
        "INCOMPATIBLE"
    };
    crate::say!(
        "{new} against {} under {}: {verdict}",
        if against.is_empty() {
            "nothing".to_owned()
        } else {
            against.join(", ")
        },
        report.mode
    );
    for b in report.breaks() {
        crate::say!("  break: {}", b.explanation);
    }
    let compatible_changes: Vec<String> = report
        .comparisons
        .iter()
        .flat_map(|c| c.changes.iter().map(move |ch| (c, ch)))
        .filter(|(c, ch)| {
            !c.breaks
                .iter()
                .any(|b| b.path == ch.path && b.rule == ch.rule)
        })
        .map(|(c, ch)| {
            let note = match (&ch.backward, &ch.forward) {
                (None, None) => "breaks nothing".to_owned(),
                (Some(_), Some(_)) => {
                    "would break BACKWARD and FORWARD, not required by this mode".to_owned()
                }
                (Some(_), None) => "would break BACKWARD, not required by this mode".to_owned(),
                (None, Some(_)) => "would break FORWARD, not required by this mode".to_owned(),
            };
            format!(
                "  ok ({} → {new}): {}: {} ({note})",
                c.old, ch.path, ch.change
            )
        })
        .collect();
    for line in compatible_changes {
        crate::say!("{line}");
    }
}
