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
    let listed: Vec<String> = rows.iter().map(|r| r.versions.join(",")).collect();
    let versions = listed.iter().map(String::len).max().unwrap_or(8).max(8);
    crate::say!(
        "{:width$}  {:8}  {:versions$}  TITLE",
        "TYPE",
        "PATTERN",
        "VERSIONS"
    );
    for (r, listed) in rows.iter().zip(&listed) {
        crate::say!(
            "{:width$}  {:8}  {listed:versions$}  {}",
            r.r#type,
            r.pattern,
            r.title
        );
    }
    Ok(Outcome::Passed)
}
