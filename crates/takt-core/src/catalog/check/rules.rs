//! The governance rules of `takt check`: owners, fallback procedures,
//! tiers, lifecycle, `depends_on` cycles, orphan contracts, credentials and
//! scaffold placeholders.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use takt_model::catalog::Lifecycle;
use takt_model::config::InterfaceConfig;
use takt_model::delivery::ConnectorConfig;

use super::{Findings, Severity};
use crate::catalog::scaffold::PLACEHOLDER_HOST;
use crate::deployment::Deployment;
use crate::lifecycle::{ContractLifecycles, Standing};
use crate::registry::Registry;

fn interface_file(name: &str) -> String {
    format!("interfaces/{name}.toml")
}

/// Runs every governance rule.
pub(super) fn check(
    deployment: &Deployment,
    registry: &Registry,
    on: NaiveDate,
    findings: &mut Findings,
) {
    owners(deployment, findings);
    let lifecycles = ContractLifecycles::new(&deployment.lifecycle);
    for interface in deployment.interfaces.values() {
        classification(interface, findings);
        interface_lifecycle(interface, on, findings);
        dependencies_lifecycle(deployment, interface, findings);
        contract_lifecycle(interface, registry, &lifecycles, on, findings);
    }
    cycles(deployment, findings);
    orphans(deployment, registry, findings);
    credentials(deployment, findings);
    placeholders(deployment, findings);
}

fn owners(deployment: &Deployment, findings: &mut Findings) {
    let owners = deployment
        .systems
        .values()
        .map(|s| (format!("systems/{}.toml", s.name), &s.owner))
        .chain(
            deployment
                .interfaces
                .values()
                .map(|i| (interface_file(&i.name), &i.owner)),
        )
        .chain(
            deployment
                .subscriptions
                .values()
                .map(|s| (format!("subscriptions/{}.toml", s.name), &s.owner)),
        );
    for (file, owner) in owners {
        if owner.trim().is_empty() {
            let message = "is empty: name the team that owns it and answers for it".to_owned();
            findings.add(Severity::Error, "owner", &file, Some("owner"), message);
        }
    }
}

/// A tier-1 interface needs a fallback procedure; every interface needs a tier.
fn classification(interface: &InterfaceConfig, findings: &mut Findings) {
    let file = interface_file(&interface.name);
    match interface.tier.map(|t| t.get()) {
        None => {
            let message =
                "missing: classify the interface 1 (the plant stops without it) to 4 (low) so that impact analysis can rank it"
                    .to_owned();
            findings.add(
                Severity::Warning,
                "governance",
                &file,
                Some("tier"),
                message,
            );
        }
        Some(1) if interface.fallback_procedure.is_none() => {
            let message = "a tier-1 interface needs a fallback procedure: say what people do while it is down, or link the runbook".to_owned();
            let field = Some("fallback_procedure");
            findings.add(Severity::Error, "fallback", &file, field, message);
        }
        Some(_) => {}
    }
}

fn interface_lifecycle(interface: &InterfaceConfig, on: NaiveDate, findings: &mut Findings) {
    let file = interface_file(&interface.name);
    if interface.state == Lifecycle::Deprecated && interface.sunset_on.is_none() {
        let message =
            "deprecated without a sunset_on: tell its users until when it works".to_owned();
        findings.add(
            Severity::Warning,
            "lifecycle",
            &file,
            Some("sunset_on"),
            message,
        );
    }
    if let Some(sunset) = interface.sunset_on
        && sunset.0 <= on
        && interface.state != Lifecycle::Retired
    {
        let message = format!(
            "its sunset ({sunset}) has passed but it is still {}: set state = \"retired\" or move the date",
            interface.state.as_str()
        );
        findings.add(
            Severity::Warning,
            "lifecycle",
            &file,
            Some("state"),
            message,
        );
    }
}

/// Nothing may depend on a retired interface; depending on a deprecated one is a warning.
fn dependencies_lifecycle(
    deployment: &Deployment,
    interface: &InterfaceConfig,
    findings: &mut Findings,
) {
    if interface.state == Lifecycle::Retired {
        return;
    }
    for name in &interface.depends_on {
        let Some(needed) = deployment.interfaces.get(name) else {
            continue;
        };
        let severity = match needed.state {
            Lifecycle::Retired => Severity::Error,
            Lifecycle::Deprecated => Severity::Warning,
            _ => continue,
        };
        let message = format!(
            "depends on {name}, which is {}: move to its replacement",
            needed.state.as_str()
        );
        let file = interface_file(&interface.name);
        findings.add(severity, "lifecycle", &file, Some("depends_on"), message);
    }
}

/// Carrying a contract whose every version is past its sunset is an error;
/// carrying deprecated versions is a warning.
fn contract_lifecycle(
    interface: &InterfaceConfig,
    registry: &Registry,
    lifecycles: &ContractLifecycles,
    on: NaiveDate,
    findings: &mut Findings,
) {
    if lifecycles.is_empty() || interface.state == Lifecycle::Retired {
        return;
    }
    for contract in &interface.contracts {
        let Some(known) = registry.contract(contract) else {
            continue;
        };
        let versions: Vec<String> = match interface.contract_versions.get(contract) {
            Some(pinned) => pinned.clone(),
            None => known.versions().map(|v| v.id.version.to_string()).collect(),
        };
        let standings: Vec<Standing<'_>> = versions
            .iter()
            .map(|v| lifecycles.standing(contract, v, on))
            .collect();
        let sunset = |s: &Standing<'_>| matches!(s, Standing::Sunset(_));
        let (severity, what) = if !standings.is_empty() && standings.iter().all(sunset) {
            (Severity::Error, "retired")
        } else if standings
            .iter()
            .any(|s| sunset(s) || matches!(s, Standing::Deprecated(_)))
        {
            (Severity::Warning, "deprecated or retired in some versions")
        } else {
            continue;
        };
        let message = format!(
            "carries {contract}, which lifecycle.toml has {what} on {on}: move to its replacement"
        );
        let file = interface_file(&interface.name);
        findings.add(severity, "lifecycle", &file, Some("contracts"), message);
    }
}

/// `depends_on` cycles, each reported once, on its alphabetically first interface.
fn cycles(deployment: &Deployment, findings: &mut Findings) {
    let mut reported: BTreeSet<String> = BTreeSet::new();
    for start in deployment.interfaces.keys() {
        let Some(cycle) = cycle_from(deployment, start) else {
            continue;
        };
        let members: BTreeSet<String> = cycle.iter().cloned().collect();
        if members.iter().any(|m| reported.contains(m)) {
            continue;
        }
        reported.extend(members);
        let message = format!(
            "depends_on forms a cycle: {}; impact analysis still works, but a cycle usually means one of the links is wrong",
            cycle.join(" → ")
        );
        let file = interface_file(start);
        findings.add(
            Severity::Warning,
            "depends_on",
            &file,
            Some("depends_on"),
            message,
        );
    }
}

/// A path `start → … → start` through `depends_on`, if there is one.
fn cycle_from(deployment: &Deployment, start: &str) -> Option<Vec<String>> {
    let mut stack = vec![vec![start.to_owned()]];
    let mut seen = BTreeSet::new();
    while let Some(path) = stack.pop() {
        let last = path.last()?;
        let Some(interface) = deployment.interfaces.get(last) else {
            continue;
        };
        for next in &interface.depends_on {
            if next == start {
                let mut cycle = path.clone();
                cycle.push(start.to_owned());
                return Some(cycle);
            }
            if seen.insert(next.clone()) {
                let mut longer = path.clone();
                longer.push(next.clone());
                stack.push(longer);
            }
        }
    }
    None
}

/// Contract types the deployment declares in `contracts/` that no
/// interface, subscription or lifecycle replacement names.
fn orphans(deployment: &Deployment, registry: &Registry, findings: &mut Findings) {
    let used: BTreeSet<&str> = deployment
        .interfaces
        .values()
        .flat_map(|i| i.contracts.iter())
        .chain(
            deployment
                .subscriptions
                .values()
                .flat_map(|s| s.contracts.iter()),
        )
        .chain(
            deployment
                .lifecycle
                .contracts
                .iter()
                .filter_map(|e| e.replacement.as_ref()),
        )
        .map(String::as_str)
        .collect();
    for contract in registry.contracts() {
        let own = contract
            .versions()
            .find(|v| !v.origin.starts_with("builtin:"));
        let Some(version) = own else {
            continue;
        };
        let name = contract.contract_type().as_str();
        if !used.contains(name) {
            let message = format!(
                "{name} is declared by the deployment but no interface or subscription carries it: use it or remove it"
            );
            let file = std::path::Path::new(&version.origin);
            findings.add_path(Severity::Warning, "orphan", file, None, message);
        }
    }
}

/// A system's API keys only serve to send through interfaces it produces
/// for; a producer needs a way to authenticate.
fn credentials(deployment: &Deployment, findings: &mut Findings) {
    let producers: BTreeSet<&str> = deployment
        .interfaces
        .values()
        .flat_map(|i| i.producers.iter().map(String::as_str))
        .collect();
    let jwt = deployment.server.auth.jwt.is_some();
    for system in deployment.systems.values() {
        let file = format!("systems/{}.toml", system.name);
        let produces = producers.contains(system.name.as_str());
        if !system.credentials.is_empty() && !produces {
            let message = format!(
                "unused credentials: {} produces for no interface, so its API keys let it authenticate for nothing; remove them (a destination needs no key)",
                system.name
            );
            findings.add(
                Severity::Warning,
                "credentials",
                &file,
                Some("credentials"),
                message,
            );
        } else if system.credentials.is_empty() && produces && !jwt {
            let message = format!(
                "{} produces for interfaces but has no API key and [auth.jwt] is not configured, so it cannot send: run `takt key new` and add the [[credentials]] block it prints",
                system.name
            );
            findings.add(
                Severity::Warning,
                "credentials",
                &file,
                Some("credentials"),
                message,
            );
        }
    }
}

/// Connector addresses still at the scaffold's placeholder host.
fn placeholders(deployment: &Deployment, findings: &mut Findings) {
    let is_placeholder = |address: &str| address.contains(PLACEHOLDER_HOST);
    let message = |field: &str| {
        format!(
            "still points at the placeholder {PLACEHOLDER_HOST}: set {field} to the system's real address"
        )
    };
    for subscription in deployment.subscriptions.values() {
        let (field, address) = match &subscription.connector {
            ConnectorConfig::Http(http) => ("connector.url", http.url.as_str()),
            ConnectorConfig::Amqp(amqp) => ("connector.url", amqp.url.as_str()),
            ConnectorConfig::Mqtt(mqtt) => ("connector.host", mqtt.host.as_str()),
            ConnectorConfig::File(_) => continue,
        };
        if is_placeholder(address) {
            let file = format!("subscriptions/{}.toml", subscription.name);
            findings.add(
                Severity::Error,
                "placeholder",
                &file,
                Some(field),
                message(field),
            );
        }
    }
    for interface in deployment.interfaces.values() {
        if let Some(sync) = &interface.sync
            && is_placeholder(&sync.connector.url)
        {
            let field = "sync.connector.url";
            let file = interface_file(&interface.name);
            findings.add(
                Severity::Error,
                "placeholder",
                &file,
                Some(field),
                message(field),
            );
        }
    }
}
