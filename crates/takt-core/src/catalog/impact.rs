//! Impact analysis: what a system, an interface or a contract version
//! touches, transitively.
//!
//! 1. The target's own interfaces and subscriptions: those a system
//!    produces for, consumes from, is the system of record or the `[sync]`
//!    destination of, or receives (subscriptions); the interface itself; the
//!    interfaces that carry a contract (at the version, where interfaces pin
//!    versions) and the subscriptions that deliver it.
//! 2. Through `depends_on`: every interface that depends on an affected
//!    interface, and so on.
//! 3. Through contract use: every subscription that delivers a contract an
//!    affected interface carries, for a plant the interface concerns.
//!
//! A system acts only for its own plants, so the impact of a system is
//! limited to them: an interface or subscription none of whose plants the
//! system acts for is not affected (a central ERP, `*`, limits nothing).

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use takt_model::SchemaVersion;
use takt_model::catalog::Lifecycle;
use takt_model::config::InterfaceConfig;
use takt_model::delivery::SubscriptionConfig;

use super::{ALL_SITES, carries, interface_sites, sites_overlap};
use crate::deployment::Deployment;
use crate::registry::Registry;

/// What an impact analysis starts from.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    /// A system, e.g. `mes-plant1010`.
    System {
        /// Its name.
        name: String,
    },
    /// An interface, e.g. `mes1010-production`.
    Interface {
        /// Its name.
        name: String,
    },
    /// A contract type, or one schema version of it.
    Contract {
        /// The type, e.g. `mfg.material.consumed.v1`.
        contract: String,
        /// The schema version, e.g. `1.0`; none: every version.
        version: Option<String>,
    },
}

impl Target {
    /// Reads `system`, `interface`, `contract` or `contract@version`,
    /// looking names up in that order.
    pub fn resolve(
        deployment: &Deployment,
        registry: &Registry,
        text: &str,
    ) -> Result<Self, String> {
        if let Some((contract, version)) = text.split_once('@') {
            let known = registry.contract(contract).ok_or_else(|| {
                format!("unknown contract {contract:?}; `takt contract list` shows the known ones")
            })?;
            let exists = version
                .parse::<SchemaVersion>()
                .ok()
                .and_then(|v| known.version(v))
                .is_some();
            if !exists {
                return Err(format!("{contract} has no version {version:?}"));
            }
            let (contract, version) = (contract.to_owned(), Some(version.to_owned()));
            return Ok(Self::Contract { contract, version });
        }
        let name = text.to_owned();
        if deployment.systems.contains_key(text) {
            Ok(Self::System { name })
        } else if deployment.interfaces.contains_key(text) {
            Ok(Self::Interface { name })
        } else if registry.contract(text).is_some() {
            Ok(Self::Contract {
                contract: name,
                version: None,
            })
        } else {
            Err(format!(
                "{text:?} is no system, interface or contract of this deployment; give a system, an interface, or <contract>[@<version>]"
            ))
        }
    }
}

/// An interface the target affects.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AffectedInterface {
    /// Its name.
    pub name: String,
    /// The owning team.
    pub owner: String,
    /// Its tier, 1 to 4, if classified.
    pub tier: Option<u8>,
    /// Its lifecycle state.
    pub state: Lifecycle,
    /// The plants concerned.
    pub sites: Vec<String>,
    /// Why it is affected, e.g. `producer` or `depends on erp-production-orders`.
    pub via: String,
    /// Steps from the target: 0 for its own interfaces.
    pub depth: usize,
}

/// A subscription the target affects.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AffectedSubscription {
    /// Its name.
    pub name: String,
    /// The owning team.
    pub owner: String,
    /// The system it delivers to.
    pub destination: String,
    /// The plants whose messages it delivers (`*`: all).
    pub sites: Vec<String>,
    /// Why it is affected.
    pub via: String,
}

/// A team, and what of theirs is affected.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AffectedOwner {
    /// The team.
    pub owner: String,
    /// `interface x`, `subscription y`, `system z`.
    pub of: Vec<String>,
}

/// The answer of an impact analysis.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Impact {
    /// What it started from.
    pub target: Target,
    /// Affected interfaces, nearest first, then by tier.
    pub interfaces: Vec<AffectedInterface>,
    /// Affected subscriptions, by name.
    pub subscriptions: Vec<AffectedSubscription>,
    /// Every system on an affected flow.
    pub systems: Vec<String>,
    /// Every plant concerned (`*`: all).
    pub sites: Vec<String>,
    /// Every team to call.
    pub owners: Vec<AffectedOwner>,
    /// The most critical tier affected (1 is the highest).
    pub highest_tier: Option<u8>,
}

/// Walks from `target` through the catalog.
pub fn analyse(deployment: &Deployment, target: &Target) -> Impact {
    let scope = scope_of(deployment, target);
    let mut walk = Walk {
        deployment,
        scope,
        interfaces: BTreeMap::new(),
        subscriptions: BTreeMap::new(),
    };
    walk.seed(target);
    walk.follow_dependencies();
    walk.follow_contracts();
    walk.finish(target.clone())
}

/// The plants a target limits the impact to; none: no limit.
fn scope_of(deployment: &Deployment, target: &Target) -> Option<BTreeSet<String>> {
    let Target::System { name } = target else {
        return None;
    };
    let sites: BTreeSet<String> = deployment
        .systems
        .get(name)?
        .sites
        .iter()
        .cloned()
        .collect();
    (!sites.contains(ALL_SITES)).then_some(sites)
}

struct Walk<'a> {
    deployment: &'a Deployment,
    scope: Option<BTreeSet<String>>,
    interfaces: BTreeMap<String, AffectedInterface>,
    subscriptions: BTreeMap<String, AffectedSubscription>,
}

impl Walk<'_> {
    /// `sites` limited to the scope; none when nothing is left.
    fn scoped(&self, sites: BTreeSet<String>) -> Option<Vec<String>> {
        let Some(scope) = &self.scope else {
            return Some(sites.into_iter().collect());
        };
        if sites.contains(ALL_SITES) {
            return Some(scope.iter().cloned().collect());
        }
        let kept: Vec<String> = sites.intersection(scope).cloned().collect();
        (!kept.is_empty()).then_some(kept)
    }

    fn add_interface(&mut self, interface: &InterfaceConfig, via: String, depth: usize) -> bool {
        if self.interfaces.contains_key(&interface.name) {
            return false;
        }
        let Some(sites) = self.scoped(interface_sites(self.deployment, interface)) else {
            return false;
        };
        let affected = AffectedInterface {
            name: interface.name.clone(),
            owner: interface.owner.clone(),
            tier: interface.tier.map(|t| t.get()),
            state: interface.state,
            sites,
            via,
            depth,
        };
        self.interfaces.insert(interface.name.clone(), affected);
        true
    }

    fn add_subscription(&mut self, subscription: &SubscriptionConfig, via: String) {
        if self.subscriptions.contains_key(&subscription.name) {
            return;
        }
        let sites: BTreeSet<String> = if subscription.sites.is_empty() {
            BTreeSet::from([ALL_SITES.to_owned()])
        } else {
            subscription.sites.iter().cloned().collect()
        };
        let Some(sites) = self.scoped(sites) else {
            return;
        };
        let affected = AffectedSubscription {
            name: subscription.name.clone(),
            owner: subscription.owner.clone(),
            destination: subscription.destination.clone(),
            sites,
            via,
        };
        self.subscriptions
            .insert(subscription.name.clone(), affected);
    }

    fn seed(&mut self, target: &Target) {
        let deployment = self.deployment;
        match target {
            Target::System { name } => {
                for interface in deployment.interfaces.values() {
                    if let Some(role) = role_of(interface, name) {
                        self.add_interface(interface, role.into(), 0);
                    }
                }
                for subscription in deployment.subscriptions.values() {
                    if subscription.destination == *name {
                        self.add_subscription(subscription, "destination".into());
                    }
                }
            }
            Target::Interface { name } => {
                if let Some(interface) = deployment.interfaces.get(name) {
                    self.add_interface(interface, "the interface itself".into(), 0);
                }
            }
            Target::Contract { contract, version } => {
                let shown = match version {
                    Some(v) => format!("{contract}@{v}"),
                    None => contract.clone(),
                };
                for interface in deployment.interfaces.values() {
                    if carries(interface, contract, version.as_deref()) {
                        self.add_interface(interface, format!("carries {shown}"), 0);
                    }
                }
                for subscription in deployment.subscriptions.values() {
                    let delivered = subscription.contracts.contains(contract)
                        && version.as_ref().is_none_or(|v| {
                            subscription.versions.is_empty() || subscription.versions.contains(v)
                        });
                    if delivered {
                        self.add_subscription(subscription, format!("delivers {shown}"));
                    }
                }
            }
        }
    }

    /// Breadth first through the interfaces that depend on affected ones.
    fn follow_dependencies(&mut self) {
        let mut queue: VecDeque<(String, usize)> = self
            .interfaces
            .values()
            .map(|i| (i.name.clone(), i.depth))
            .collect();
        while let Some((name, depth)) = queue.pop_front() {
            let dependents: Vec<&InterfaceConfig> = self
                .deployment
                .interfaces
                .values()
                .filter(|i| i.depends_on.contains(&name))
                .collect();
            for dependent in dependents {
                let via = format!("depends on {name}");
                if self.add_interface(dependent, via, depth + 1) {
                    queue.push_back((dependent.name.clone(), depth + 1));
                }
            }
        }
    }

    /// Subscriptions that deliver what affected interfaces carry.
    fn follow_contracts(&mut self) {
        let deployment = self.deployment;
        let affected: Vec<&InterfaceConfig> = self
            .interfaces
            .keys()
            .filter_map(|name| deployment.interfaces.get(name))
            .collect();
        for interface in affected {
            let sites = interface_sites(deployment, interface);
            for subscription in deployment.subscriptions.values() {
                let Some(contract) = subscription
                    .contracts
                    .iter()
                    .find(|c| interface.contracts.contains(c))
                else {
                    continue;
                };
                let wanted: BTreeSet<String> = subscription.sites.iter().cloned().collect();
                if wanted.is_empty() || sites_overlap(&sites, &wanted) {
                    let via = format!("delivers {contract} from {}", interface.name);
                    self.add_subscription(subscription, via);
                }
            }
        }
    }

    fn finish(self, target: Target) -> Impact {
        let deployment = self.deployment;
        let mut interfaces: Vec<AffectedInterface> = self.interfaces.into_values().collect();
        interfaces.sort_by(|a, b| {
            (a.depth, a.tier.unwrap_or(u8::MAX), &a.name).cmp(&(
                b.depth,
                b.tier.unwrap_or(u8::MAX),
                &b.name,
            ))
        });
        let subscriptions: Vec<AffectedSubscription> = self.subscriptions.into_values().collect();
        let mut systems = BTreeSet::new();
        for affected in &interfaces {
            if let Some(interface) = deployment.interfaces.get(&affected.name) {
                systems.extend(interface.producers.iter().cloned());
                systems.extend(interface.consumers.iter().cloned());
                systems.extend(interface.sync.iter().map(|s| s.destination.clone()));
            }
        }
        systems.extend(subscriptions.iter().map(|s| s.destination.clone()));
        // A system of another plant is not on the affected part of a flow.
        if let Some(scope) = &self.scope {
            systems.retain(|name| {
                deployment.systems.get(name).is_some_and(|system| {
                    let sites = system.sites.iter().cloned().collect();
                    sites_overlap(&sites, scope)
                })
            });
        }
        let sites: BTreeSet<String> = interfaces
            .iter()
            .flat_map(|i| i.sites.iter())
            .chain(subscriptions.iter().flat_map(|s| s.sites.iter()))
            .cloned()
            .collect();
        let owners = owners(deployment, &interfaces, &subscriptions, &systems);
        Impact {
            target,
            highest_tier: interfaces.iter().filter_map(|i| i.tier).min(),
            interfaces,
            subscriptions,
            systems: systems.into_iter().collect(),
            sites: sites.into_iter().collect(),
            owners,
        }
    }
}

/// How `system` takes part in `interface`, if it does.
fn role_of(interface: &InterfaceConfig, system: &str) -> Option<&'static str> {
    let named = |list: &[String]| list.iter().any(|s| s == system);
    if named(&interface.producers) {
        Some("producer")
    } else if interface
        .sync
        .as_ref()
        .is_some_and(|s| s.destination == system)
    {
        Some("sync destination")
    } else if named(&interface.consumers) {
        Some("consumer")
    } else if interface.system_of_record.as_deref() == Some(system) {
        Some("system of record")
    } else {
        None
    }
}

fn owners(
    deployment: &Deployment,
    interfaces: &[AffectedInterface],
    subscriptions: &[AffectedSubscription],
    systems: &BTreeSet<String>,
) -> Vec<AffectedOwner> {
    let mut by_owner: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for i in interfaces {
        let entry = by_owner.entry(i.owner.clone()).or_default();
        entry.push(format!("interface {}", i.name));
    }
    for s in subscriptions {
        let entry = by_owner.entry(s.owner.clone()).or_default();
        entry.push(format!("subscription {}", s.name));
    }
    for name in systems {
        if let Some(system) = deployment.systems.get(name) {
            let entry = by_owner.entry(system.owner.clone()).or_default();
            entry.push(format!("system {name}"));
        }
    }
    by_owner
        .into_iter()
        .map(|(owner, of)| AffectedOwner { owner, of })
        .collect()
}
