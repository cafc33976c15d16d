//! JWT bearer tokens from an identity provider, verified against its JWKS.
//!
//! Only asymmetric algorithms are accepted, from an explicit allow-list, and
//! each key is used only with its own family (an RSA key never verifies an
//! HMAC token): no `alg=none`, no algorithm confusion. `iss`, `aud`, `exp`
//! and `nbf` are checked with a configurable leeway. The token names its
//! principal in a claim (`sub` by default) that must match a configured
//! system or operator.

use std::str::FromStr;

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::Value;
use takt_core::Error;
use takt_model::config::JwtConfig;

/// A configured verifier.
pub struct JwtVerifier {
    /// Each key with its validation: the configured algorithms of its family.
    keys: Vec<(Option<String>, DecodingKey, Validation)>,
    claim: String,
}

impl std::fmt::Debug for JwtVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtVerifier")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

const ASYMMETRIC: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

impl JwtVerifier {
    /// Builds a verifier from `[auth.jwt]` and the JWKS read from `origin`.
    pub fn new(config: &JwtConfig, jwks: &Value, origin: &str) -> takt_core::Result<Self> {
        let invalid = |reason: String| Error::Config {
            origin: origin.to_owned(),
            reason,
        };
        let set: JwkSet = serde_json::from_value(jwks.clone())
            .map_err(|e| invalid(format!("not a JWKS: {e}")))?;
        if set.keys.is_empty() {
            return Err(invalid("the JWKS holds no keys".into()));
        }
        let mut algorithms = Vec::new();
        for name in &config.algorithms {
            let algorithm = Algorithm::from_str(name)
                .ok()
                .filter(|a| ASYMMETRIC.contains(a))
                .ok_or_else(|| invalid(format!("field `auth.jwt.algorithms`: {name:?} is not allowed; use asymmetric ones (RS256, PS256, ES256, EdDSA, …)")))?;
            algorithms.push(algorithm);
        }
        let mut keys = Vec::with_capacity(set.keys.len());
        for jwk in &set.keys {
            let kid = jwk.common.key_id.clone();
            let name = kid.as_deref().unwrap_or("(no kid)");
            let key =
                DecodingKey::from_jwk(jwk).map_err(|e| invalid(format!("key {name}: {e}")))?;
            let family: Vec<Algorithm> = algorithms
                .iter()
                .copied()
                .filter(|a| a.family() == key.family())
                .collect();
            // Providers publish keys of several families; use those that fit.
            let Some(first) = family.first().copied() else {
                continue;
            };
            let mut validation = Validation::new(first);
            validation.algorithms = family;
            validation.set_issuer(&[&config.issuer]);
            validation.set_audience(&[&config.audience]);
            validation.leeway = config.leeway_secs;
            validation.validate_nbf = true;
            validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            keys.push((kid, key, validation));
        }
        if keys.is_empty() {
            return Err(invalid(format!(
                "no key in the JWKS fits the configured algorithms {:?}",
                config.algorithms
            )));
        }
        Ok(Self {
            keys,
            claim: config.principal_claim.clone(),
        })
    }

    /// Whether a credential looks like a JWT (three dot-separated parts).
    pub fn looks_like_jwt(credential: &str) -> bool {
        credential.split('.').count() == 3
    }

    /// The principal name a valid token carries; `None` for anything invalid.
    pub fn principal_name(&self, token: &str) -> Option<String> {
        let header = decode_header(token).ok()?;
        let candidates = self
            .keys
            .iter()
            .filter(|(kid, _, _)| header.kid.is_none() || *kid == header.kid);
        for (_, key, validation) in candidates {
            if let Ok(data) = decode::<Value>(token, key, validation) {
                return data
                    .claims
                    .get(&self.claim)
                    .and_then(Value::as_str)
                    .map(str::to_owned);
            }
        }
        None
    }
}
