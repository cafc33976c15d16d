//! `lifecycle.toml`, checked: every entry names a known contract (and
//! version), a known replacement, and dates in order.

use std::path::PathBuf;

use takt_model::SchemaVersion;

use super::{Deployment, config_error};
use crate::Result;
use crate::lifecycle::{describe, problem};
use crate::registry::Registry;

impl Deployment {
    pub(super) fn check_lifecycle(&self, registry: &Registry) -> Result<()> {
        let file = self.root.as_ref().map_or_else(
            || PathBuf::from("lifecycle.toml"),
            |r| r.join("lifecycle.toml"),
        );
        let fail = |index: usize, field: &str, reason: String| {
            Err(config_error(
                &file,
                format!("contracts[{index}]: field `{field}`: {reason}"),
            ))
        };
        if let Some((index, field, reason)) = problem(&self.lifecycle) {
            return fail(index, field, reason);
        }
        for (index, entry) in self.lifecycle.contracts.iter().enumerate() {
            let Some(contract) = registry.contract(&entry.contract) else {
                let reason = format!(
                    "unknown contract {:?}; `takt contract list` shows the known ones",
                    entry.contract
                );
                return fail(index, "contract", reason);
            };
            if let Some(version) = &entry.version {
                let known = version
                    .parse::<SchemaVersion>()
                    .ok()
                    .and_then(|v| contract.version(v));
                if known.is_none() {
                    return fail(
                        index,
                        "version",
                        format!("{} has no version {version:?}", entry.contract),
                    );
                }
            }
            if let Some(replacement) = &entry.replacement
                && registry.contract(replacement).is_none()
            {
                let reason = format!(
                    "{} names an unknown replacement {replacement:?}",
                    describe(entry)
                );
                return fail(index, "replacement", reason);
            }
        }
        Ok(())
    }
}
