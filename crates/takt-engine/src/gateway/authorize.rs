//! Authorization (the Rego policy) and rate limits.

use super::*;

impl Gateway {
    /// The interface each message goes through, after the policy allowed it.
    pub(super) fn authorize(
        &self,
        principal: &Principal,
        messages: &[Value],
        request: &IngestRequest,
        fixed: Option<&str>,
    ) -> Result<Vec<String>, Rejection> {
        let mut interfaces = Vec::with_capacity(messages.len());
        let mut reasons = Vec::new();
        for message in messages {
            let Some(contract) = message.get("type").and_then(Value::as_str) else {
                // Nothing to authorize against: validation reports the missing type.
                interfaces.push(String::new());
                continue;
            };
            let interface = match fixed {
                Some(name) => self.deployment.interfaces.get(name),
                None => self.interface_for(principal, contract),
            };
            let Some(interface) = interface else {
                reasons.push(format!(
                    "no interface lets {} send {contract}",
                    principal.name
                ));
                interfaces.push(String::new());
                continue;
            };
            let mut sites = sites_of(message);
            sites.extend(request.header_sites.iter().cloned());
            match self.decide(principal, interface, contract, sites) {
                Ok(()) => {}
                Err(Rejection::Forbidden {
                    reasons: denied, ..
                }) => reasons.extend(denied),
                Err(other) => return Err(other),
            }
            interfaces.push(interface.name.clone());
        }
        if reasons.is_empty() {
            return Ok(interfaces);
        }
        reasons.sort();
        reasons.dedup();
        Err(Rejection::Forbidden {
            detail: format!("{} may not send this", principal.name),
            reasons,
        })
    }

    /// Asks the policy about one contract through one interface for these sites.
    pub(super) fn decide(
        &self,
        principal: &Principal,
        interface: &InterfaceConfig,
        contract: &str,
        sites: BTreeSet<String>,
    ) -> Result<(), Rejection> {
        let input = || {
            json!({
                "principal": {"name": principal.name, "kind": principal.kind, "sites": principal.sites, "roles": principal.roles},
                "interface": {"name": interface.name, "pattern": interface.pattern, "producers": interface.producers, "contracts": interface.contracts},
                "contract": contract,
                "sites": sites,
            })
        };
        // Principals and interfaces are fixed for the gateway's lifetime, so
        // their names, the contract and the sites identify the input. Sites
        // come from the request: only well-formed ones (as the envelope
        // allows) may enter the cache, so it stays bounded.
        let cacheable = sites.len() <= MAX_CACHED_SITES
            && sites.iter().all(|s| is_site_code(s))
            && contract.len() <= 128;
        let decided = if cacheable {
            let mut key = String::with_capacity(64);
            for part in [principal.name.as_str(), interface.name.as_str(), contract]
                .into_iter()
                .chain(sites.iter().map(String::as_str))
            {
                key.push_str(&part.len().to_string());
                key.push(':');
                key.push_str(part);
            }
            self.policy.decide_keyed(&key, input)
        } else {
            self.policy.decide_uncached(&input())
        };
        let decision = decided.map_err(|e| {
            tracing::error!(error = %e, "policy evaluation failed");
            Rejection::Unavailable {
                detail: "authorization is unavailable".into(),
                retry_after_secs: 5,
            }
        })?;
        if decision.allow {
            return Ok(());
        }
        Err(Rejection::Forbidden {
            detail: format!("{} may not send this", principal.name),
            reasons: decision.reasons,
        })
    }

    /// The principal's first interface (by name) that carries `contract`.
    pub(super) fn interface_for(
        &self,
        principal: &Principal,
        contract: &str,
    ) -> Option<&InterfaceConfig> {
        self.deployment.interfaces.values().find(|i| {
            i.producers.contains(&principal.name) && i.contracts.iter().any(|c| c == contract)
        })
    }

    pub(super) fn rate_limit(
        &self,
        principal: &Principal,
        interfaces: &[String],
    ) -> Result<(), Rejection> {
        let mut counts: Vec<(&str, u32)> = Vec::new();
        for interface in interfaces.iter().filter(|i| !i.is_empty()) {
            match counts.iter_mut().find(|(name, _)| name == interface) {
                Some((_, n)) => *n += 1,
                None => counts.push((interface, 1)),
            }
        }
        counts
            .into_iter()
            .try_for_each(|(interface, n)| self.limits.take(interface, &principal.name, n))
    }
}

/// Most plants one cached policy decision may name.
const MAX_CACHED_SITES: usize = 8;

/// A plant code as the envelope allows it: 1 to 16 of `A-Za-z0-9_-`.
fn is_site_code(site: &str) -> bool {
    (1..=16).contains(&site.len())
        && site
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}
