//! When a deployment does not load, every file is parsed on its own, so
//! that one run reports every file that is not valid TOML or does not fit
//! its struct, instead of only the first.

use std::fs;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use takt_model::catalog::{ConversionsFile, LifecycleFile};
use takt_model::config::{InterfaceConfig, OperatorConfig, ServerConfig, SystemConfig};
use takt_model::delivery::SubscriptionConfig;

use super::Findings;
use crate::Error;

/// Reports the errors of every catalog file that does not parse; when all
/// parse, reports `first`, the error that stopped loading.
pub(super) fn collect(dir: &Path, first: Error, findings: &mut Findings) {
    let mut errors = Vec::new();
    parse_file::<ServerConfig>(&dir.join("takt.toml"), &mut errors);
    parse_file::<LifecycleFile>(&dir.join("lifecycle.toml"), &mut errors);
    parse_file::<ConversionsFile>(&dir.join("conversions.toml"), &mut errors);
    for file in toml_files(&dir.join("systems")) {
        parse_file::<SystemConfig>(&file, &mut errors);
    }
    for file in toml_files(&dir.join("operators")) {
        parse_file::<OperatorConfig>(&file, &mut errors);
    }
    for file in toml_files(&dir.join("interfaces")) {
        parse_file::<InterfaceConfig>(&file, &mut errors);
    }
    for file in toml_files(&dir.join("subscriptions")) {
        parse_file::<SubscriptionConfig>(&file, &mut errors);
    }
    let first_text = first.to_string();
    if !errors.iter().any(|e| e.to_string() == first_text) {
        errors.insert(0, first);
    }
    for error in &errors {
        let rule = match error {
            Error::ConfigAt { .. } | Error::Io { .. } => "syntax",
            _ => "config",
        };
        findings.error(rule, error);
    }
}

fn parse_file<T: DeserializeOwned>(path: &Path, errors: &mut Vec<Error>) {
    if !path.is_file() {
        return;
    }
    match fs::read_to_string(path) {
        Err(e) => errors.push(Error::io(path, e)),
        Ok(text) => {
            if let Err(e) = toml::from_str::<T>(&text) {
                errors.push(Error::toml(path, &text, &e));
            }
        }
    }
}

/// The `*.toml` files directly in `dir`, sorted (none if it cannot be read:
/// loading has reported that already).
fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    files.sort();
    files
}
