//! `takt check DIR [--baseline DIR | --baseline-git REV] [--deny-warnings] [--on DATE]`:
//! a deployment's CI gate (rules in `takt_core::catalog::check`).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, bail};
use serde_json::json;
use takt_core::catalog::check::{CheckOptions, CheckReport, Finding, Severity, check_dir};
use takt_core::registry::{ContractFile, files};

use crate::Outcome;
use crate::cli::DeploymentCheckArgs;
use crate::output::Output;

pub fn run(args: &DeploymentCheckArgs, out: &Output) -> anyhow::Result<Outcome> {
    if !args.dir.is_dir() {
        bail!("{} is not a deployment directory", args.dir.display());
    }
    let baseline = match (&args.baseline, &args.baseline_git) {
        (Some(dir), _) => Some(baseline_dir(dir)?),
        (None, Some(revision)) => Some(baseline_git(&args.dir, revision)?),
        (None, None) => None,
    };
    let options = CheckOptions {
        on: args.on.unwrap_or_else(|| chrono::Utc::now().date_naive()),
        baseline,
    };
    let report = check_dir(&args.dir, &options)?;
    let errors = report.count(Severity::Error);
    let warnings = report.count(Severity::Warning);
    let passed = errors == 0 && !(args.deny_warnings && warnings > 0);
    if out.is_json() {
        out.json(&json!({
            "dir": args.dir.display().to_string(),
            "passed": passed,
            "errors": errors,
            "warnings": warnings,
            "counts": report.counts,
            "findings": report.findings,
        }))?;
    } else {
        print(&args.dir, &report, errors, warnings);
    }
    Ok(if passed {
        Outcome::Passed
    } else {
        Outcome::Failed
    })
}

fn print(dir: &Path, report: &CheckReport, errors: usize, warnings: usize) {
    for finding in &report.findings {
        crate::say!("{}", line(finding));
    }
    let c = &report.counts;
    crate::say!(
        "{}: {} interfaces, {} systems, {} subscriptions, {} mappings with {} fixtures, {} contract versions: {errors} error(s), {warnings} warning(s)",
        dir.display(),
        c.interfaces,
        c.systems,
        c.subscriptions,
        c.mappings,
        c.fixtures,
        c.contract_versions
    );
}

/// `error[rule] file:line:column: field `x`: message`.
fn line(finding: &Finding) -> String {
    let severity = match finding.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut place = finding.file.clone();
    if let (Some(line), Some(column)) = (finding.line, finding.column) {
        place = format!("{place}:{line}:{column}");
    }
    let field = match &finding.field {
        Some(field) if !finding.message.contains(&format!("field `{field}`")) => {
            format!("field `{field}`: ")
        }
        _ => String::new(),
    };
    format!(
        "{severity}[{}] {place}: {field}{}",
        finding.rule, finding.message
    )
}

/// The contracts of a baseline deployment directory (none if it has no `contracts/`).
fn baseline_dir(dir: &Path) -> anyhow::Result<Vec<ContractFile>> {
    if !dir.is_dir() {
        bail!("--baseline {} is not a directory", dir.display());
    }
    let contracts = dir.join("contracts");
    if !contracts.is_dir() {
        return Ok(Vec::new());
    }
    Ok(files::read_dir(&contracts)?)
}

/// Runs git in `dir`; its standard output, or why it failed.
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<Vec<u8>> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .context("cannot run git (is it installed?)")?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        bail!("git {} failed: {}", args.join(" "), stderr.trim());
    }
    Ok(output.stdout)
}

/// The deployment's `contracts/` as it was at `revision`, read with
/// `git ls-tree` and `git show` (nothing is checked out).
fn baseline_git(dir: &Path, revision: &str) -> anyhow::Result<Vec<ContractFile>> {
    let commit = format!("{revision}^{{commit}}");
    git(dir, &["rev-parse", "--verify", "--quiet", &commit]).with_context(|| {
        format!(
            "--baseline-git: {revision} is not a revision of the repository holding {}",
            dir.display()
        )
    })?;
    // Paths are relative to `dir`, as pathspecs and in the listing.
    let listing = git(
        dir,
        &[
            "ls-tree",
            "-r",
            "-z",
            "--name-only",
            revision,
            "--",
            "contracts",
        ],
    )?;
    let mut found = Vec::new();
    for path in listing.split(|b| *b == 0).filter(|p| !p.is_empty()) {
        let path = String::from_utf8_lossy(path).into_owned();
        let hidden = path.split('/').any(|part| part.starts_with('.'));
        let wanted = path.ends_with(".json") || path.ends_with(".toml");
        let Some(relative) = path.strip_prefix("contracts/") else {
            continue;
        };
        if hidden || !wanted {
            continue;
        }
        let text = git(dir, &["show", &format!("{revision}:./{path}")])?;
        found.push(ContractFile {
            relative: relative.to_owned(),
            origin: format!("{revision}:{path}"),
            text: String::from_utf8(text)
                .with_context(|| format!("{revision}:{path} is not UTF-8"))?,
        });
    }
    Ok(found)
}
