//! `[sync]` of interfaces: its mapping files read, its fields checked.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use takt_model::config::{InterfaceConfig, InterfacePattern};
use takt_model::delivery::{OnUnavailable, SyncConfig};

use super::subscriptions::http_problem;
use super::{Deployment, config_error};
use crate::Result;
use crate::mapping::Mapping;
use crate::registry::Registry;
use crate::sync::{subscription_name, sync_contracts};

/// The jq programs of an interface's `[sync]`, as (file, program); files
/// are named relative to the deployment directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncMappings {
    /// Canonical CloudEvent → the destination's request body.
    pub request: Option<(String, String)>,
    /// `{status, body, request}` → the answer the sender gets.
    pub response: Option<(String, String)>,
}

/// Reads the mapping files named by `[sync]` tables, by interface.
pub(super) fn read_mappings(
    dir: &Path,
    interfaces: &BTreeMap<String, InterfaceConfig>,
) -> Result<BTreeMap<String, SyncMappings>> {
    let mut mappings = BTreeMap::new();
    for interface in interfaces.values() {
        let Some(sync) = &interface.sync else {
            continue;
        };
        let file = dir
            .join("interfaces")
            .join(format!("{}.toml", interface.name));
        let read = |relative: &Option<PathBuf>, field: &str| {
            let Some(relative) = relative else {
                return Ok(None);
            };
            let path = dir.join(relative);
            fs::read_to_string(&path)
                .map(|text| Some((relative.display().to_string(), text)))
                .map_err(|e| {
                    config_error(
                        &file,
                        format!("field `sync.{field}`: cannot read {}: {e}", path.display()),
                    )
                })
        };
        let found = SyncMappings {
            request: read(&sync.request_mapping, "request_mapping")?,
            response: read(&sync.response_mapping, "response_mapping")?,
        };
        mappings.insert(interface.name.clone(), found);
    }
    Ok(mappings)
}

impl Deployment {
    /// Checks an interface's `[sync]`: a known destination, a command or
    /// query interface with contracts of its pattern, sensible numbers, a
    /// usable connector, mappings that compile.
    pub(super) fn check_sync(
        &self,
        interface: &InterfaceConfig,
        registry: &Registry,
    ) -> Result<()> {
        let Some(sync) = &interface.sync else {
            return Ok(());
        };
        let file = self.file("interfaces", &interface.name);
        let fail = |field: &str, reason: String| {
            Err(config_error(&file, format!("field `{field}`: {reason}")))
        };
        if let Some((field, reason)) = self.sync_problem(interface, sync, registry) {
            return fail(&field, reason);
        }
        let mappings = self.sync_mappings.get(&interface.name);
        for (field, mapping) in [
            (
                "sync.request_mapping",
                mappings.and_then(|m| m.request.as_ref()),
            ),
            (
                "sync.response_mapping",
                mappings.and_then(|m| m.response.as_ref()),
            ),
        ] {
            if let Some((origin, code)) = mapping
                && let Err(e) = Mapping::compile(origin, code)
            {
                return fail(field, e.to_string());
            }
        }
        Ok(())
    }

    /// The first problem of a `[sync]` table outside its mappings, as (field, reason).
    fn sync_problem(
        &self,
        interface: &InterfaceConfig,
        sync: &SyncConfig,
        registry: &Registry,
    ) -> Option<(String, String)> {
        if !self.systems.contains_key(&sync.destination) {
            return Some((
                "sync.destination".into(),
                format!(
                    "unknown system {:?}; systems are defined in systems/<name>.toml",
                    sync.destination
                ),
            ));
        }
        let pattern = match interface.pattern {
            InterfacePattern::Event => {
                let reason = "only command and query interfaces answer synchronously; this is an event interface";
                return Some(("sync".into(), reason.into()));
            }
            InterfacePattern::Command => "command",
            InterfacePattern::Query => "query",
        };
        if sync_contracts(interface, registry).is_empty() {
            let reason = format!("the interface carries no {pattern} contract to answer");
            return Some(("sync".into(), reason));
        }
        if interface.pattern == InterfacePattern::Command && sync.cache_ttl_ms > 0 {
            let reason = "only query answers are cached: a command is sent every time";
            return Some(("sync.cache_ttl_ms".into(), reason.into()));
        }
        if interface.pattern == InterfacePattern::Query
            && sync.on_unavailable == OnUnavailable::Queue
        {
            let reason = "a query cannot wait in a queue: use \"fail_fast\"";
            return Some(("sync.on_unavailable".into(), reason.into()));
        }
        if let Some(problem) = sync.problem() {
            return Some(problem);
        }
        if let Some((field, reason)) = http_problem(&sync.connector) {
            return Some((format!("sync.{field}"), reason));
        }
        let hidden = subscription_name(&interface.name);
        self.subscriptions.contains_key(&hidden).then(|| {
            let reason = format!("subscription {hidden:?} is the name of this interface's queue: rename that subscription");
            ("sync".into(), reason)
        })
    }
}
