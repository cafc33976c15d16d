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

/// A schema with the label used in explanations and its version, if known.
struct Loaded {
    label: String,
    version: Option<SchemaVersion>,
    schema: Value,
}

fn load_file(path: &Path) -> anyhow::Result<Loaded> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let schema: Value = serde_json::from_str(&text)
        .with_context(|| format!("{} is not valid JSON", path.display()))?;
    let version = schema
        .get("$id")
        .and_then(Value::as_str)
        .and_then(|id| id.parse::<SchemaId>().ok())
        .map(|id| id.version);
    let label = version.map_or_else(|| path.display().to_string(), |v| v.to_string());
    Ok(Loaded {
        label,
        version,
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
    // A version is compared only with the versions before it.
    if let Some(new_version) = new.version {
        old.retain(|o| o.version.is_none_or(|v| v < new_version));
    }
    let declared = new
        .schema
        .get("x-takt-compatibility")
        .and_then(Value::as_str)
        .and_then(|m| m.parse().ok());
    let mode = args.mode.or(declared).unwrap_or(Mode::Backward);
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
    println!(
        "{new} against {} under {}: {verdict}",
        if against.is_empty() {
            "nothing".to_owned()
        } else {
            against.join(", ")
        },
        report.mode
    );
    for b in report.breaks() {
        println!("  break: {}", b.explanation);
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
                (Some(_), _) => "would break BACKWARD, not required by this mode".to_owned(),
                (None, Some(_)) => "would break FORWARD, not required by this mode".to_owned(),
            };
            format!(
                "  ok ({} → {new}): {}: {} ({note})",
                c.old, ch.path, ch.change
            )
        })
        .collect();
    for line in compatible_changes {
        println!("{line}");
    }
}
