use std::collections::HashMap;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use takt_core::deployment::Deployment;
use takt_model::config::{Credential, Role};

use crate::jwt::JwtVerifier;

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
    by_name: HashMap<String, Arc<Principal>>,
    jwt: Option<JwtVerifier>,
}

impl Principals {
    /// Indexes the systems and operators of a deployment, and sets up JWT
    /// verification when `[auth.jwt]` is configured.
    pub fn from_deployment(deployment: &Deployment) -> takt_core::Result<Self> {
        let mut by_key_hash = HashMap::new();
        let mut by_name = HashMap::new();
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
            by_name.insert(principal.name.clone(), principal.clone());
            for Credential::ApiKey { sha256, .. } in credentials {
                let mut hash = [0u8; 32];
                if hex::decode_to_slice(sha256, &mut hash).is_ok() {
                    by_key_hash.insert(hash, principal.clone());
                }
            }
        }
        let jwt = match (&deployment.server.auth.jwt, &deployment.jwks) {
            (Some(config), Some((origin, jwks))) => Some(JwtVerifier::new(config, jwks, origin)?),
            _ => None,
        };
        Ok(Self {
            by_key_hash,
            by_name,
            jwt,
        })
    }

    /// The principal a credential proves: a JWT when JWT is configured and the
    /// credential looks like one, else an API key.
    pub fn authenticate(&self, credential: &str) -> Option<Arc<Principal>> {
        if let Some(jwt) = &self.jwt
            && JwtVerifier::looks_like_jwt(credential)
        {
            let name = jwt.principal_name(credential)?;
            return self.by_name.get(&name).cloned();
        }
        let hash: [u8; 32] = Sha256::digest(credential.as_bytes()).into();
        self.by_key_hash.get(&hash).cloned()
    }
}
