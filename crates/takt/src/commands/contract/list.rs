//! `takt contract list`.

use serde::Serialize;
use takt_core::registry::Registry;

use crate::Outcome;
use crate::output::Output;

#[derive(Serialize)]
struct Row<'a> {
    r#type: &'a str,
    pattern: &'a str,
    versions: Vec<String>,
    compatibility: &'a str,
    ordering_key: &'a [String],
    title: &'a str,
}

pub fn run(registry: &Registry, out: &Output) -> anyhow::Result<Outcome> {
    let rows: Vec<Row<'_>> = registry
        .contracts()
        .map(|c| {
            let latest = c.latest();
            Row {
                r#type: c.contract_type().as_str(),
                pattern: latest.meta.pattern.as_str(),
                versions: c.versions().map(|v| v.id.version.to_string()).collect(),
                compatibility: latest.meta.compatibility.as_str(),
                ordering_key: &latest.meta.ordering_key,
                title: &latest.meta.title,
            }
        })
        .collect();
    if out.is_json() {
        out.json(&rows)?;
        return Ok(Outcome::Passed);
    }
    let width = rows.iter().map(|r| r.r#type.len()).max().unwrap_or(4);
    println!(
        "{:width$}  {:8}  {:9}  TITLE",
        "TYPE", "PATTERN", "VERSIONS"
    );
    for r in &rows {
        println!(
            "{:width$}  {:8}  {:9}  {}",
            r.r#type,
            r.pattern,
            r.versions.join(","),
            r.title
        );
    }
    Ok(Outcome::Passed)
}
