//! The governance fields of interfaces, checked for consistency: systems
//! and interfaces they name exist, pinned versions exist, dates are in
//! order. Policy rules (a tier-1 interface needs a fallback procedure, …)
//! are `takt check`'s ([`crate::catalog::check`]), not the hub's.

use takt_model::SchemaVersion;
use takt_model::config::InterfaceConfig;

use super::{Deployment, config_error};
use crate::Result;
use crate::registry::Registry;

impl Deployment {
    /// The first governance problem of `interface`, naming its field.
    pub(super) fn check_governance(
        &self,
        interface: &InterfaceConfig,
        registry: &Registry,
    ) -> Result<()> {
        match self.governance_problem(interface, registry) {
            Some((field, reason)) => Err(config_error(
                &self.file("interfaces", &interface.name),
                format!("field `{field}`: {reason}"),
            )),
            None => Ok(()),
        }
    }

    fn governance_problem(
        &self,
        interface: &InterfaceConfig,
        registry: &Registry,
    ) -> Option<(String, String)> {
        if let Some(system) = &interface.system_of_record
            && !self.systems.contains_key(system)
        {
            let reason =
                format!("unknown system {system:?}; systems are defined in systems/<name>.toml");
            return Some(("system_of_record".into(), reason));
        }
        for (field, text) in [
            ("capability", &interface.capability),
            ("fallback_procedure", &interface.fallback_procedure),
        ] {
            if text.as_ref().is_some_and(|t| t.trim().is_empty()) {
                return Some((field.into(), "is empty: fill it in or leave it out".into()));
            }
        }
        if let Some(problem) = self.dependency_problem(interface) {
            return Some(("depends_on".into(), problem));
        }
        if let Some(problem) = pin_problem(interface, registry) {
            return Some(problem);
        }
        match (interface.deprecated_on, interface.sunset_on) {
            (Some(deprecated), Some(sunset)) if sunset <= deprecated => Some((
                "sunset_on".into(),
                format!("{sunset} is not after deprecated_on ({deprecated})"),
            )),
            _ => None,
        }
    }

    fn dependency_problem(&self, interface: &InterfaceConfig) -> Option<String> {
        interface.depends_on.iter().find_map(|name| {
            if *name == interface.name {
                Some("an interface cannot depend on itself".into())
            } else if !self.interfaces.contains_key(name) {
                Some(format!(
                    "unknown interface {name:?}; interfaces are defined in interfaces/<name>.toml"
                ))
            } else {
                None
            }
        })
    }
}

/// The first `contract_versions` entry that names a contract the interface
/// does not carry, or a version the registry does not know.
fn pin_problem(interface: &InterfaceConfig, registry: &Registry) -> Option<(String, String)> {
    for (contract, versions) in &interface.contract_versions {
        let field = format!("contract_versions.\"{contract}\"");
        if !interface.contracts.contains(contract) {
            return Some((field, "is not one of this interface's contracts".into()));
        }
        if versions.is_empty() {
            return Some((field, "lists no version: name one or leave it out".into()));
        }
        // Unknown contracts are reported by the `contracts` field.
        let known = registry.contract(contract)?;
        if let Some(version) = versions.iter().find(|v| {
            v.parse::<SchemaVersion>()
                .ok()
                .and_then(|v| known.version(v))
                .is_none()
        }) {
            return Some((field, format!("{contract} has no version {version:?}")));
        }
    }
    None
}
