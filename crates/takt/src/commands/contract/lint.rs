//! `takt contract lint DIR`.

use std::path::Path;

use serde_json::json;
use takt_core::lint::{Severity, lint_dir};

use crate::Outcome;
use crate::output::Output;

pub fn run(dir: &Path, out: &Output) -> anyhow::Result<Outcome> {
    let findings = lint_dir(dir)?;
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    if out.is_json() {
        out.json(&json!({"findings": findings, "errors": errors, "warnings": warnings}))?;
    } else {
        for f in &findings {
            let severity = match f.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
            };
            let at = if f.pointer.is_empty() {
                String::new()
            } else {
                format!(" {}", f.pointer)
            };
            crate::say!("{severity}[{}] {}{at}: {}", f.rule, f.file, f.message);
        }
        crate::say!(
            "{}: {errors} error(s), {warnings} warning(s)",
            dir.display()
        );
    }
    Ok(if errors == 0 {
        Outcome::Passed
    } else {
        Outcome::Failed
    })
}
