//! The catalog as code: what a deployment directory says about its
//! interfaces, checked, analysed and extended offline.
//!
//! - [`check`]: `takt check DIR`: every reference, schema, mapping and its
//!   fixtures, contract compatibility against a baseline, and the
//!   governance rules (owners, fallback procedures, lifecycle dates), as a
//!   list of findings.
//! - [`fixtures`]: the input → expected-output pairs shipped beside each jq
//!   mapping (`mappings/<stem>.fixtures/<case>.input.json` + `<case>.expected.json`).
//! - [`impact`]: what a system, interface or contract version touches,
//!   transitively through `depends_on` and contract use.
//! - [`graph`]: systems → interfaces → systems as Graphviz DOT or Mermaid.
//! - [`snapshot`]: a deployment's catalog files as one value: read,
//!   written, compared, diffed; what the governed catalog stores.
//! - [`scaffold`]: a new plant's systems, interfaces and subscriptions,
//!   cloned from an existing plant.

pub mod check;
pub mod fixtures;
pub mod graph;
pub mod impact;
pub mod scaffold;
pub mod snapshot;

use std::collections::BTreeSet;

use takt_model::config::InterfaceConfig;

use crate::deployment::Deployment;

/// The site code that stands for every plant in a system's `sites`.
pub const ALL_SITES: &str = "*";

/// The plants an interface concerns: where its producers act, or, when a
/// producer acts for every plant (a central ERP), where its consumers act.
/// `{"*"}` when that is every plant too.
pub fn interface_sites(deployment: &Deployment, interface: &InterfaceConfig) -> BTreeSet<String> {
    let sites_of = |systems: &[String]| -> BTreeSet<String> {
        systems
            .iter()
            .filter_map(|name| deployment.systems.get(name))
            .flat_map(|system| system.sites.iter().cloned())
            .collect()
    };
    let producers = sites_of(&interface.producers);
    if !producers.contains(ALL_SITES) {
        return producers;
    }
    let consumers = sites_of(&interface.consumers);
    if consumers.is_empty() || consumers.contains(ALL_SITES) {
        return BTreeSet::from([ALL_SITES.to_owned()]);
    }
    consumers
}

/// Whether two site sets share a plant (`*` shares every plant).
pub fn sites_overlap(a: &BTreeSet<String>, b: &BTreeSet<String>) -> bool {
    a.contains(ALL_SITES) || b.contains(ALL_SITES) || !a.is_disjoint(b)
}

/// Whether `interface` carries `contract`, at `version` when one is given
/// (an interface without `contract_versions` for it carries every version).
pub fn carries(interface: &InterfaceConfig, contract: &str, version: Option<&str>) -> bool {
    if !interface.contracts.iter().any(|c| c == contract) {
        return false;
    }
    match (version, interface.contract_versions.get(contract)) {
        (Some(version), Some(pinned)) => pinned.iter().any(|v| v == version),
        _ => true,
    }
}

#[cfg(test)]
mod tests;
