//! `subscriptions/*.toml`: outbound interfaces, read and checked.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use takt_model::SchemaVersion;
use takt_model::delivery::{ConnectorConfig, SubscriptionConfig};

use super::{Deployment, config_error};
use crate::Result;
use crate::mapping::Mapping;
use crate::registry::Registry;

/// The placeholders an HTTP connector's URL may use.
pub const URL_PLACEHOLDERS: [&str; 5] = ["id", "type", "subject", "siteid", "partitionkey"];

/// Reads the jq mapping files named by subscriptions, as (file, program) by
/// subscription; files are named relative to the deployment directory.
pub(super) fn read_mappings(
    dir: &Path,
    subscriptions: &BTreeMap<String, SubscriptionConfig>,
) -> Result<BTreeMap<String, (String, String)>> {
    let mut mappings = BTreeMap::new();
    for subscription in subscriptions.values() {
        let Some(relative) = &subscription.mapping else {
            continue;
        };
        let path = dir.join(relative);
        let text = fs::read_to_string(&path).map_err(|e| {
            config_error(
                &subscription_file(dir, &subscription.name),
                format!("field `mapping`: cannot read {}: {e}", path.display()),
            )
        })?;
        mappings.insert(
            subscription.name.clone(),
            (relative.display().to_string(), text),
        );
    }
    Ok(mappings)
}

fn subscription_file(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join("subscriptions").join(format!("{name}.toml"))
}

impl Deployment {
    /// Checks that subscriptions name a known destination, registered
    /// contracts and versions, a mapping that compiles, a sensible policy and
    /// a usable connector.
    pub(super) fn check_subscriptions(&self, registry: &Registry) -> Result<()> {
        for subscription in self.subscriptions.values() {
            let file = self.file("subscriptions", &subscription.name);
            let fail = |field: &str, reason: String| {
                Err(config_error(&file, format!("field `{field}`: {reason}")))
            };
            if !self.systems.contains_key(&subscription.destination) {
                return fail(
                    "destination",
                    format!(
                        "unknown system {:?}; systems are defined in systems/<name>.toml",
                        subscription.destination
                    ),
                );
            }
            if subscription.contracts.is_empty() {
                return fail("contracts", "name at least one contract".into());
            }
            for name in &subscription.contracts {
                let Some(contract) = registry.contract(name) else {
                    return fail(
                        "contracts",
                        format!(
                            "unknown contract {name:?}; `takt contract list` shows the known ones"
                        ),
                    );
                };
                for version in &subscription.versions {
                    let known = version
                        .parse::<SchemaVersion>()
                        .ok()
                        .and_then(|v| contract.version(v));
                    if known.is_none() {
                        return fail("versions", format!("{name} has no version {version:?}"));
                    }
                }
            }
            if let Some((origin, code)) = self.subscription_mappings.get(&subscription.name)
                && let Err(e) = Mapping::compile(origin, code)
            {
                return fail("mapping", e.to_string());
            }
            if let Some((field, reason)) = subscription.policy.problem() {
                return fail(field, reason);
            }
            let ConnectorConfig::Http(http) = &subscription.connector;
            if !matches!(http.method.as_str(), "POST" | "PUT") {
                return fail(
                    "connector.method",
                    format!("{:?} is not POST or PUT", http.method),
                );
            }
            if let Some(reason) = url_problem(&http.url) {
                return fail("connector.url", reason);
            }
        }
        Ok(())
    }
}

/// Why an HTTP connector's URL template cannot be used, if it cannot.
fn url_problem(url: &str) -> Option<String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Some(format!("{url:?} must start with http:// or https://"));
    }
    let mut rest = url;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            return Some(format!("{url:?} opens a {{placeholder}} it does not close"));
        };
        let name = &rest[start + 1..start + end];
        if !URL_PLACEHOLDERS.contains(&name) {
            return Some(format!(
                "unknown placeholder {{{name}}}; use {}",
                URL_PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
            ));
        }
        rest = &rest[start + end + 1..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::url_problem;

    #[test]
    fn url_templates_are_checked() {
        assert_eq!(
            url_problem("https://erp.example.com/gm/{id}?site={siteid}"),
            None
        );
        assert!(url_problem("ftp://erp/x").unwrap().contains("http://"));
        assert!(
            url_problem("http://erp/{order}")
                .unwrap()
                .contains("{order}")
        );
        assert!(
            url_problem("http://erp/{id")
                .unwrap()
                .contains("does not close")
        );
    }
}
