//! Back-pressure: producers are refused before a subscription's backlog or
//! the store grows without bound (DESIGN §5, "Bounded").
//!
//! [`Gateway::refresh_pressure`] (every second in `takt serve`) measures each
//! subscription's backlog and the store's size; [`Pressure::check`] then
//! refuses, at commit time, messages that a full subscription would have to
//! deliver (503 + `Retry-After`) or anything at all once the store is over
//! its quota (507). A full subscription stays full until its backlog is
//! under 90 % of the limit again, so producers do not flap at the edge.

use std::sync::RwLock;

use takt_core::store::NewEvent;
use takt_model::delivery::OnBacklogFull;

use super::Gateway;
use crate::Rejection;
use crate::delivery::{DeliveryError, Subscription, SubscriptionStatus};

/// What is refused right now.
#[derive(Debug, Default)]
pub(crate) struct Pressure {
    state: RwLock<State>,
}

#[derive(Debug, Default, Clone)]
struct State {
    /// Subscriptions whose producers are refused.
    full: Vec<Full>,
    /// Bytes on disk while over the quota.
    over_quota: Option<u64>,
}

#[derive(Debug, Clone)]
struct Full {
    subscription: String,
    destination: String,
    contracts: Vec<String>,
    sites: Vec<String>,
    backlog: u64,
    limit: u64,
}

impl Pressure {
    /// Refuses `events` if the store is over quota or one of them would go to
    /// a full subscription.
    pub(crate) fn check(&self, events: &[NewEvent], quota_bytes: u64) -> Result<(), Rejection> {
        let state = self
            .state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(used_bytes) = state.over_quota {
            return Err(Rejection::StoreFull {
                used_bytes,
                quota_bytes,
            });
        }
        for full in &state.full {
            let refused = events.iter().find(|e| {
                full.contracts.contains(&e.contract)
                    && (full.sites.is_empty() || full.sites.contains(&e.site))
            });
            if let Some(event) = refused {
                return Err(Rejection::Backlogged {
                    subscription: full.subscription.clone(),
                    destination: full.destination.clone(),
                    contract: event.contract.clone(),
                    backlog: full.backlog,
                    limit: full.limit,
                });
            }
        }
        Ok(())
    }

    /// Takes new measurements: each subscription's status, and the store's
    /// size when a quota is set.
    fn update<'a>(
        &self,
        subscriptions: impl Iterator<Item = &'a Subscription>,
        statuses: &[SubscriptionStatus],
        size: Option<(u64, u64)>,
    ) {
        let mut state = self
            .state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let was_full = |name: &str| state.full.iter().any(|f| f.subscription == name);
        let mut full = Vec::new();
        for subscription in subscriptions {
            let config = &subscription.config;
            let policy = config.policy.backlog;
            let Some(status) = statuses.iter().find(|s| s.subscription == config.name) else {
                continue;
            };
            // Full at the limit; once full, until under 90 % of it.
            let threshold = if was_full(&config.name) {
                policy.max_messages - policy.max_messages / 10
            } else {
                policy.max_messages
            };
            if policy.on_full == OnBacklogFull::Reject && status.backlog >= threshold {
                full.push(Full {
                    subscription: config.name.clone(),
                    destination: config.destination.clone(),
                    contracts: config.contracts.clone(),
                    sites: config.sites.clone(),
                    backlog: status.backlog,
                    limit: policy.max_messages,
                });
            }
        }
        for f in &full {
            if !was_full(&f.subscription) {
                tracing::warn!(subscription = %f.subscription, backlog = f.backlog, limit = f.limit, "backlog full: refusing its producers");
            }
        }
        state.full = full;
        state.over_quota = size.and_then(|(used, quota)| (used >= quota).then_some(used));
    }
}

impl Gateway {
    /// Measures every subscription's backlog and the store's size, and
    /// decides what producers are refused until the next refresh. Returns
    /// the subscriptions' status (it also sets the delivery gauges).
    pub async fn refresh_pressure(&self) -> Result<Vec<SubscriptionStatus>, DeliveryError> {
        let statuses = match self.delivery() {
            Some(engine) => engine.status().await?,
            None => Vec::new(),
        };
        let quota = self.options.store_quota_bytes;
        let size = if quota > 0 {
            let used = self.store.size_bytes().await?;
            #[allow(clippy::cast_precision_loss)]
            metrics::gauge!("takt_store_bytes").set(used as f64);
            Some((used, quota))
        } else {
            None
        };
        let subscriptions = self.delivery().into_iter().flat_map(|e| e.subscriptions());
        self.pressure.update(subscriptions, &statuses, size);
        Ok(statuses)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use takt_core::store::BoxFuture;
    use takt_model::delivery::SubscriptionConfig;

    use super::*;
    use crate::delivery::{Connector, Outgoing, Report};

    struct Nowhere;

    impl Connector for Nowhere {
        fn send<'a>(&'a self, _: &'a Outgoing) -> BoxFuture<'a, Report> {
            unreachable!("nothing is sent in these tests")
        }
    }

    fn subscription(on_full: &str) -> Subscription {
        let text = format!(
            "name = \"erp\"\ndescription = \"d\"\nowner = \"o\"\ndestination = \"erp-central\"\ncontracts = [\"mfg.material.consumed.v1\"]\nsites = [\"1010\"]\n[connector]\nkind = \"file\"\ndir = \"out\"\n[policy]\nbacklog = {{ max_messages = 10, on_full = \"{on_full}\" }}"
        );
        let config: SubscriptionConfig = toml::from_str(&text).unwrap();
        Subscription::with_connector(config, None, Arc::new(Nowhere))
    }

    fn status(backlog: u64) -> SubscriptionStatus {
        SubscriptionStatus {
            subscription: "erp".into(),
            destination: "erp-central".into(),
            cursor: 0,
            in_flight: 0,
            unsettled: 0,
            pending: 0,
            dead_lettered: 0,
            in_doubt: 0,
            backlog,
            circuit: "closed",
            lag_seconds: 0.0,
        }
    }

    fn event(contract: &str, site: &str) -> NewEvent {
        NewEvent {
            id: "e1".into(),
            source: "urn:takt:site:1010:mes:mes01".into(),
            contract: contract.into(),
            dataschema: String::new(),
            site: site.into(),
            subject: String::new(),
            partition_key: String::new(),
            interface: "mes1010-production".into(),
            principal: "mes-plant1010".into(),
            accepted_at_ms: 0,
            business_keys: Vec::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn a_full_backlog_refuses_its_contracts_until_under_ninety_percent() {
        let pressure = Pressure::default();
        let sub = subscription("reject");
        let consumed = [event("mfg.material.consumed.v1", "1010")];
        let step = |backlog| {
            pressure.update(std::iter::once(&sub), &[status(backlog)], None);
            pressure.check(&consumed, 0).is_ok()
        };
        assert!(step(9), "under the limit");
        assert!(!step(10), "at the limit");
        assert!(!step(9), "still full at 90 %");
        assert!(step(8), "under 90 % again");
        assert!(!step(10));
        let other_site = [event("mfg.material.consumed.v1", "2020")];
        let other_type = [event("mfg.operation.completed.v1", "1010")];
        assert!(pressure.check(&other_site, 0).is_ok() && pressure.check(&other_type, 0).is_ok());
        let refusal = pressure.check(&consumed, 0).unwrap_err();
        assert_eq!(refusal.retry_after_secs(), Some(5));
        assert!(refusal.to_string().contains("limit of 10"), "{refusal}");
    }

    #[test]
    fn an_accepting_subscription_is_bounded_only_by_the_store_quota() {
        let pressure = Pressure::default();
        let sub = subscription("accept");
        let consumed = [event("mfg.material.consumed.v1", "1010")];
        pressure.update(std::iter::once(&sub), &[status(1_000)], Some((99, 100)));
        assert!(pressure.check(&consumed, 100).is_ok());
        pressure.update(std::iter::once(&sub), &[status(1_000)], Some((100, 100)));
        let refusal = pressure.check(&consumed, 100).unwrap_err();
        assert_eq!(refusal.code(), takt_model::ErrorCode::InsufficientStorage);
    }
}
