//! `takt catalog impact <system | interface | contract[@version]>`.

use anyhow::anyhow;
use takt_core::catalog::impact::{Impact, Target, analyse};

use crate::Outcome;
use crate::cli::ImpactArgs;
use crate::output::{Output, table};

pub fn run(
    contracts: &[std::path::PathBuf],
    args: &ImpactArgs,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let (deployment, registry) = super::load(contracts, &args.source)?;
    let target = Target::resolve(&deployment, &registry, &args.target).map_err(|e| anyhow!(e))?;
    let impact = analyse(&deployment, &target);
    if out.is_json() {
        out.json(&impact)?;
    } else {
        print(&impact);
    }
    Ok(Outcome::Passed)
}

fn describe(target: &Target) -> String {
    match target {
        Target::System { name } => format!("system {name}"),
        Target::Interface { name } => format!("interface {name}"),
        Target::Contract {
            contract,
            version: Some(version),
        } => format!("contract {contract}@{version}"),
        Target::Contract {
            contract,
            version: None,
        } => format!("contract {contract} (every version)"),
    }
}

fn print(impact: &Impact) {
    let tier = impact
        .highest_tier
        .map_or_else(|| "none classified".to_owned(), |t| t.to_string());
    crate::say!(
        "impact of {}: {} interface(s), {} subscription(s), sites {}, highest tier {tier}",
        describe(&impact.target),
        impact.interfaces.len(),
        impact.subscriptions.len(),
        if impact.sites.is_empty() {
            "none".to_owned()
        } else {
            impact.sites.join(",")
        },
    );
    if !impact.interfaces.is_empty() {
        crate::say!("");
        let rows: Vec<Vec<String>> = impact
            .interfaces
            .iter()
            .map(|i| {
                vec![
                    i.tier.map_or_else(|| "-".to_owned(), |t| t.to_string()),
                    i.name.clone(),
                    i.state.as_str().to_owned(),
                    i.owner.clone(),
                    i.sites.join(","),
                    i.via.clone(),
                ]
            })
            .collect();
        table(
            &["TIER", "INTERFACE", "STATE", "OWNER", "SITES", "VIA"],
            &rows,
        );
    }
    if !impact.subscriptions.is_empty() {
        crate::say!("");
        let rows: Vec<Vec<String>> = impact
            .subscriptions
            .iter()
            .map(|s| {
                vec![
                    s.name.clone(),
                    s.owner.clone(),
                    s.destination.clone(),
                    s.sites.join(","),
                    s.via.clone(),
                ]
            })
            .collect();
        table(
            &["SUBSCRIPTION", "OWNER", "DESTINATION", "SITES", "VIA"],
            &rows,
        );
    }
    if !impact.owners.is_empty() {
        crate::say!("\nowners to call:");
        for owner in &impact.owners {
            crate::say!("  {}: {}", owner.owner, owner.of.join(", "));
        }
    }
}
