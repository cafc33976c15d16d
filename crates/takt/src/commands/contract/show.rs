//! `takt contract show TYPE [--version X]`.

use serde_json::json;
use takt_core::registry::Registry;
use takt_model::SchemaVersion;

use crate::Outcome;
use crate::output::Output;

pub fn run(
    registry: &Registry,
    name: &str,
    version: Option<SchemaVersion>,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let contract = registry
        .contract(name)
        .ok_or_else(|| takt_core::Error::UnknownContract(name.to_owned()))?;
    let chosen = match version {
        None => contract.latest(),
        Some(wanted) => contract.version(wanted).ok_or_else(|| {
            let known: Vec<String> = contract
                .versions()
                .map(|v| v.id.version.to_string())
                .collect();
            takt_core::Error::UnknownContract(format!(
                "{name} {wanted} (known versions: {})",
                known.join(", ")
            ))
        })?,
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
    crate::say!("{name} {} ({})", chosen.id.version, meta.title);
    crate::say!("  id:            {}", chosen.id);
    crate::say!("  pattern:       {}", meta.pattern.as_str());
    crate::say!("  compatibility: {}", meta.compatibility);
    crate::say!("  ordering key:  {}", meta.ordering_key.join(" + "));
    let keys: Vec<String> = meta
        .business_keys
        .iter()
        .map(|(k, p)| format!("{k}={p}"))
        .collect();
    crate::say!("  business keys: {}", keys.join(", "));
    crate::say!("  origin:        {}", chosen.origin);
    crate::say!("  examples:      {}", examples.join(", "));
    crate::say!("{}", meta.description);
    crate::say!("{}", serde_json::to_string_pretty(&chosen.schema)?);
    Ok(Outcome::Passed)
}
