use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use takt_core::deployment::Deployment;
use takt_model::config::{Credential, Role};

/// Whether a principal is a system (data plane) or an operator (admin API).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    /// An application sending messages.
    System,
    /// A person or tool on the admin API.
    Operator,
}

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// Its configured name.
    pub name: String,
    /// System or operator.
    pub kind: PrincipalKind,
    /// Plants it may act for (`*` = all); empty for operators.
    pub sites: Vec<String>,
    /// Admin roles; empty for systems.
    pub roles: Vec<Role>,
}

impl Principal {
    /// Whether it holds any of `roles`.
    pub fn has_any_role(&self, roles: &[Role]) -> bool {
        self.roles.iter().any(|r| roles.contains(r))
    }
}

/// Every configured principal, found by the SHA-256 of its API key.
///
/// A presented key costs one SHA-256 and one hash-map lookup: API keys are
/// long random secrets, so a slow password hash is neither needed nor used.
#[derive(Debug, Default)]
pub struct Principals {
    by_key_hash: HashMap<[u8; 32], Arc<Principal>>,
}

impl Principals {
    /// Indexes the systems and operators of a deployment.
    pub fn from_deployment(deployment: &Deployment) -> Self {
        let mut by_key_hash = HashMap::new();
        let systems = deployment.systems.values().map(|s| {
            let principal = Principal {
                name: s.name.clone(),
                kind: PrincipalKind::System,
                sites: s.sites.clone(),
                roles: Vec::new(),
            };
            (principal, &s.credentials)
        });
        let operators = deployment.operators.values().map(|o| {
            let principal = Principal {
                name: o.name.clone(),
                kind: PrincipalKind::Operator,
                sites: Vec::new(),
                roles: o.roles.clone(),
            };
            (principal, &o.credentials)
        });
        for (principal, credentials) in systems.chain(operators) {
            let principal = Arc::new(principal);
            for Credential::ApiKey { sha256, .. } in credentials {
                let mut hash = [0u8; 32];
                if hex::decode_to_slice(sha256, &mut hash).is_ok() {
                    by_key_hash.insert(hash, principal.clone());
                }
            }
        }
        Self { by_key_hash }
    }

    /// The principal owning this API key, if any.
    pub fn authenticate(&self, api_key: &str) -> Option<Arc<Principal>> {
        let hash: [u8; 32] = Sha256::digest(api_key.as_bytes()).into();
        self.by_key_hash.get(&hash).cloned()
    }
}
