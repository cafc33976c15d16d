//! `takt contract show TYPE [--version X]`.

use anyhow::Context;
use serde_json::json;
use takt_core::registry::Registry;
use takt_model::SchemaVersion;

use crate::Outcome;
use crate::output::Output;

pub fn run(
    registry: &Registry,
    name: &str,
    version: Option<&str>,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let contract = registry
        .contract(name)
        .ok_or_else(|| takt_core::Error::UnknownContract(name.to_owned()))?;
    let chosen = match version {
        None => contract.latest(),
        Some(text) => {
            let wanted: SchemaVersion = text.parse()?;
            contract
                .version(wanted)
                .with_context(|| format!("{name} has no version {wanted}"))?
        }
    };
    let meta = &chosen.meta;
    let examples: Vec<&str> = contract
        .examples()
        .iter()
        .map(|e| e.name.as_str())
        .collect();
    if out.is_json() {
        out.json(&json!({
            "type": name,
            "id": chosen.id.to_string(),
            "version": chosen.id.version.to_string(),
            "versions": contract.versions().map(|v| v.id.version.to_string()).collect::<Vec<_>>(),
            "pattern": meta.pattern,
            "compatibility": meta.compatibility,
            "ordering_key": meta.ordering_key,
            "business_keys": meta.business_keys,
            "origin": chosen.origin,
            "examples": examples,
            "schema": chosen.schema,
        }))?;
        return Ok(Outcome::Passed);
    }
    println!("{name} {} ({})", chosen.id.version, meta.title);
    println!("  id:            {}", chosen.id);
    println!("  pattern:       {}", meta.pattern.as_str());
    println!("  compatibility: {}", meta.compatibility);
    println!("  ordering key:  {}", meta.ordering_key.join(" + "));
    let keys: Vec<String> = meta
        .business_keys
        .iter()
        .map(|(k, p)| format!("{k}={p}"))
        .collect();
    println!("  business keys: {}", keys.join(", "));
    println!("  origin:        {}", chosen.origin);
    println!("  examples:      {}", examples.join(", "));
    println!("{}", meta.description);
    println!("{}", serde_json::to_string_pretty(&chosen.schema)?);
    Ok(Outcome::Passed)
}
