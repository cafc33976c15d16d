//! `takt contract asyncapi [-o FILE]`.

use std::fs;
use std::path::Path;

use anyhow::Context;
use takt_core::registry::Registry;

use crate::Outcome;

pub fn run(registry: &Registry, output: Option<&Path>) -> anyhow::Result<Outcome> {
    let document = takt_core::asyncapi::document(registry, env!("CARGO_PKG_VERSION"));
    let text = serde_json::to_string_pretty(&document)?;
    match output {
        Some(path) => fs::write(path, text + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => crate::say!("{text}"),
    }
    Ok(Outcome::Passed)
}
