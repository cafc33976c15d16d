//! Authorization decisions, written in Rego and evaluated by regorus.
//!
//! The shipped policy (`policies/authz.rego`) lets a system send only the
//! contracts its interfaces carry, only through interfaces it produces for,
//! and only for its own plants. Deployment rules live in their own package,
//! `takt.deployment`, whose `deny` set the shipped policy adds to its own: they
//! can only add denials, never redefine the shipped rules. Policies are
//! compiled once and probed at startup; decisions depend only on their input,
//! so they are cached (bounded).

use std::collections::HashMap;
use std::sync::Mutex;

use crate::{Error, Result};

/// The shipped default policy.
pub const DEFAULT_POLICY: &str = include_str!("../policies/authz.rego");

const ENTRY_POINT: &str = "data.takt.authz.decision";

/// The package every deployment rule file must declare.
pub const DEPLOYMENT_PACKAGE: &str = "takt.deployment";

/// The package a Rego file declares (its first `package` line).
fn package_of(rego: &str) -> Option<&str> {
    rego.lines()
        .map(str::trim)
        .find_map(|line| line.strip_prefix("package "))
        .map(str::trim)
}
const CACHE_LIMIT: usize = 10_000;

/// What a policy answered for one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request may proceed.
    pub allow: bool,
    /// Why not, one sentence per denying rule (sorted).
    pub reasons: Vec<String>,
}

/// A compiled set of policies with a decision cache.
pub struct Policy {
    compiled: regorus::CompiledPolicy,
    cache: Mutex<HashMap<String, Decision>>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy").finish_non_exhaustive()
    }
}

impl Policy {
    /// Compiles the default policy plus the deployment's `(origin, rego)`
    /// files, then evaluates one decision so that a broken rule fails now,
    /// not on the first request.
    pub fn new(extra: &[(String, String)]) -> Result<Self> {
        for (origin, text) in extra {
            if package_of(text) != Some(DEPLOYMENT_PACKAGE) {
                return Err(Error::Policy(format!(
                    "{origin}: deployment rules must declare `package {DEPLOYMENT_PACKAGE}` and add `deny contains reason if {{ ... }}` rules"
                )));
            }
        }
        let mut modules = vec![regorus::PolicyModule {
            id: "builtin:authz.rego".into(),
            content: DEFAULT_POLICY.into(),
        }];
        modules.extend(extra.iter().map(|(origin, text)| regorus::PolicyModule {
            id: origin.as_str().into(),
            content: text.as_str().into(),
        }));
        let compiled = regorus::compile_policy_with_entrypoint(
            regorus::Value::new_object(),
            &modules,
            ENTRY_POINT.into(),
        )
        .map_err(|e| Error::Policy(format!("{e:#}")))?;
        let policy = Self {
            compiled,
            cache: Mutex::new(HashMap::new()),
        };
        // One decision now, so conflicting rules fail at startup, not on the first request.
        policy.evaluate(&serde_json::json!({
            "principal": {"name": "probe", "kind": "system", "sites": ["*"], "roles": []},
            "interface": {"name": "probe", "pattern": "event", "producers": ["probe"], "contracts": ["probe.startup.checked.v1"]},
            "contract": "probe.startup.checked.v1",
            "sites": ["probe"],
        }))?;
        Ok(policy)
    }

    /// Decides for `input` (a JSON object as documented in the policy).
    pub fn decide(&self, input: &serde_json::Value) -> Result<Decision> {
        self.decide_keyed(&input.to_string(), || input.clone())
    }

    /// Decides without caching: for inputs that carry unchecked request data.
    pub fn decide_uncached(&self, input: &serde_json::Value) -> Result<Decision> {
        self.evaluate(input)
    }

    /// Decides with a caller-made cache `key` that identifies the input
    /// exactly; `input` is built only when the decision is not cached. Keys
    /// must be bounded: never put unchecked request data in them.
    pub fn decide_keyed(
        &self,
        key: &str,
        input: impl FnOnce() -> serde_json::Value,
    ) -> Result<Decision> {
        if let Some(hit) = self.cache.lock().ok().and_then(|c| c.get(key).cloned()) {
            return Ok(hit);
        }
        let key = key.to_owned();
        let decision = self.evaluate(&input())?;
        if let Ok(mut cache) = self.cache.lock() {
            if cache.len() >= CACHE_LIMIT {
                cache.clear();
            }
            cache.insert(key, decision.clone());
        }
        Ok(decision)
    }

    fn evaluate(&self, input: &serde_json::Value) -> Result<Decision> {
        let output = self
            .compiled
            .eval_with_input(regorus::Value::from(input.clone()))
            .map_err(|e| Error::Policy(format!("evaluation failed: {e:#}")))?;
        let allow = *output["allow"]
            .as_bool()
            .map_err(|_| Error::Policy("decision.allow is not a boolean".into()))?;
        let reasons = match output["reasons"].as_array() {
            Ok(items) => items
                .iter()
                .filter_map(|r| r.as_string().ok().map(|s| s.to_string()))
                .collect(),
            Err(_) => Vec::new(),
        };
        Ok(Decision { allow, reasons })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input(principal_sites: &[&str], sites: &[&str], contract: &str) -> serde_json::Value {
        json!({
            "principal": {"name": "mes-plant1010", "kind": "system", "sites": principal_sites, "roles": []},
            "interface": {"name": "mes1010-production", "pattern": "event", "producers": ["mes-plant1010"], "contracts": ["mfg.material.consumed.v1"]},
            "contract": contract,
            "sites": sites,
        })
    }

    #[test]
    fn default_policy_allows_own_site_and_contract_only() {
        let policy = Policy::new(&[]).unwrap();
        let ok = policy
            .decide(&input(&["1010"], &["1010"], "mfg.material.consumed.v1"))
            .unwrap();
        assert_eq!(
            ok,
            Decision {
                allow: true,
                reasons: vec![]
            }
        );
        let other_site = policy
            .decide(&input(
                &["1010"],
                &["1010", "2020"],
                "mfg.material.consumed.v1",
            ))
            .unwrap();
        assert_eq!(
            other_site.reasons,
            ["mes-plant1010 may not act for site 2020"]
        );
        let contract = policy
            .decide(&input(&["1010"], &["1010"], "mfg.shipment.confirm.v1"))
            .unwrap();
        assert_eq!(
            contract.reasons,
            ["interface mes1010-production does not carry mfg.shipment.confirm.v1"]
        );
        let everywhere = policy
            .decide(&input(&["*"], &["2020"], "mfg.material.consumed.v1"))
            .unwrap();
        assert!(everywhere.allow);
        let mut stranger = input(&["1010"], &["1010"], "mfg.material.consumed.v1");
        stranger["principal"]["name"] = json!("wms-central");
        let denied = policy.decide(&stranger).unwrap();
        assert!(!denied.allow);
        assert!(
            denied.reasons.contains(
                &"wms-central is not a producer of interface mes1010-production".to_owned()
            )
        );
    }

    #[test]
    fn deployment_rules_can_only_add_denials() {
        let supervisor_rule = r#"package takt.deployment
import rego.v1
deny contains "scrap postings need a supervisor system" if {
    input.contract == "mfg.material.consumed.v1"
    input.principal.name == "mes-plant1010"
}
"#;
        let extra = [("policies/scrap.rego".to_owned(), supervisor_rule.to_owned())];
        let policy = Policy::new(&extra).unwrap();
        let denied = policy
            .decide(&input(&["1010"], &["1010"], "mfg.material.consumed.v1"))
            .unwrap();
        assert_eq!(
            denied,
            Decision {
                allow: false,
                reasons: vec!["scrap postings need a supervisor system".into()]
            }
        );
    }

    #[test]
    fn deployment_rules_cannot_widen_or_redefine() {
        // Redefining shipped helpers in the deployment package changes nothing.
        let widen = "package takt.deployment\nimport rego.v1\nproducer if true\nsite_allowed(site) if true\n";
        let policy = Policy::new(&[("policies/widen.rego".into(), widen.into())]).unwrap();
        let decision = policy
            .decide(&input(&["1010"], &["2020"], "mfg.material.consumed.v1"))
            .unwrap();
        assert!(!decision.allow);
        // Writing into the shipped package is refused outright.
        let inside = "package takt.authz\nimport rego.v1\nproducer if true\n";
        let err = Policy::new(&[("policies/inside.rego".into(), inside.into())])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(
                "policies/inside.rego: deployment rules must declare `package takt.deployment`"
            ),
            "{err}"
        );
    }

    #[test]
    fn broken_rules_fail_at_startup_naming_their_file() {
        let broken = "package takt.deployment\ndeny contains x if {";
        let err = Policy::new(&[("policies/broken.rego".into(), broken.into())]).unwrap_err();
        assert!(err.to_string().contains("policies/broken.rego"), "{err}");
        // Rules that compile but conflict when evaluated fail now, not on the first request.
        let conflict = "package takt.deployment\nimport rego.v1\nlimit := 1\nlimit := 2\ndeny contains \"over\" if limit > 0\n";
        let err = Policy::new(&[("policies/conflict.rego".into(), conflict.into())]).unwrap_err();
        assert_eq!(err.code(), takt_model::ErrorCode::InvalidPolicy, "{err}");
    }
}
