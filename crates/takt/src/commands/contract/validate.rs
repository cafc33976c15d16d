//! `takt contract validate FILE...`: every message in every file, every violation.
//!
//! A file holds one JSON message, a JSON array of messages (a CloudEvents
//! batch), or NDJSON (one message per line; `.ndjson`/`.jsonl`, or any file
//! whose lines each hold a message). `-` reads standard input.

use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Serialize;
use serde_json::Value;
use takt_core::registry::Registry;
use takt_core::validate::Violation;

use crate::Outcome;
use crate::output::Output;

#[derive(Serialize)]
struct Checked {
    /// `file`, `file:line` (NDJSON) or `file#index` (array batch).
    source: String,
    valid: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    dataschema: Option<String>,
    violations: Vec<Violation>,
}

/// One message read from a file, before validation.
struct Input {
    source: String,
    parsed: Result<Value, serde_json::Error>,
}

fn read(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .context("cannot read standard input")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

fn split(path: &Path, text: &str) -> Vec<Input> {
    let name = path.display().to_string();
    let ndjson_extension = matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("ndjson" | "jsonl")
    );
    if !ndjson_extension {
        match serde_json::from_str::<Value>(text) {
            Ok(Value::Array(items)) => {
                return items
                    .into_iter()
                    .enumerate()
                    .map(|(i, item)| Input {
                        source: format!("{name}#{i}"),
                        parsed: Ok(item),
                    })
                    .collect();
            }
            Ok(value) => {
                return vec![Input {
                    source: name,
                    parsed: Ok(value),
                }];
            }
            Err(error) if !looks_like_ndjson(text) => {
                return vec![Input {
                    source: name,
                    parsed: Err(error),
                }];
            }
            Err(_) => {}
        }
    }
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| Input {
            source: format!("{name}:{}", n + 1),
            parsed: serde_json::from_str(line),
        })
        .collect()
}

fn looks_like_ndjson(text: &str) -> bool {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let first_parses = lines
        .next()
        .is_some_and(|l| serde_json::from_str::<Value>(l).is_ok());
    first_parses && lines.next().is_some()
}

fn check(registry: &Registry, input: Input) -> Checked {
    let result = match input.parsed {
        Ok(value) => registry.validate(value).map(|v| v.contract.id.to_string()),
        Err(error) => Err(vec![Violation::not_json(&error)]),
    };
    match result {
        Ok(id) => Checked {
            source: input.source,
            valid: true,
            dataschema: Some(id),
            violations: Vec::new(),
        },
        Err(violations) => Checked {
            source: input.source,
            valid: false,
            dataschema: None,
            violations,
        },
    }
}

/// A file without a single message fails: an empty export is a problem to see.
fn empty(path: &Path) -> Checked {
    Checked {
        source: path.display().to_string(),
        valid: false,
        dataschema: None,
        violations: vec![Violation::new(
            "",
            "empty",
            "no message found: the input is empty, blank lines only, or an empty batch".to_owned(),
        )],
    }
}

pub fn run(registry: &Registry, files: &[PathBuf], out: &Output) -> anyhow::Result<Outcome> {
    let mut results = Vec::new();
    for path in files {
        let text = read(path)?;
        let inputs = split(path, &text);
        if inputs.is_empty() {
            results.push(empty(path));
        }
        results.extend(inputs.into_iter().map(|input| check(registry, input)));
    }
    let invalid = results.iter().filter(|r| !r.valid).count();
    let valid = results.len() - invalid;
    if out.is_json() {
        out.json(&serde_json::json!({"valid": valid, "invalid": invalid, "results": results}))?;
    } else {
        for r in &results {
            match &r.dataschema {
                Some(id) => crate::say!("valid    {}  ({id})", r.source),
                None => {
                    crate::say!("INVALID  {}", r.source);
                    for v in &r.violations {
                        crate::say!("         {v}");
                    }
                }
            }
        }
        crate::say!("{valid} valid, {invalid} invalid");
    }
    Ok(if invalid == 0 {
        Outcome::Passed
    } else {
        Outcome::Failed
    })
}
