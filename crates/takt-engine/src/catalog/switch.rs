//! Switching the running hub to another catalog version: a new one
//! activated here, or one another instance activated (see [`Hub::follow`]).
//!
//! The order makes a failure harmless: everything that can fail (loading
//! and checking the catalog, building the gateway and every connector) is
//! done first, while the old version keeps running; then the version is
//! recorded; only then does the old delivery engine stop and the new one
//! start from the durable cursors, and new requests get the new gateway.
//! That last part cannot fail and is not cut short by a caller that goes
//! away: it runs in a task of its own.

use std::sync::Arc;
use std::time::{Duration, Instant};

use takt_core::audit::AuditDraft;
use takt_core::store::{CatalogFiles, CatalogVersion, CatalogWrite};

use super::{Hub, Running, load};
use crate::delivery::{DeliveryEngine, DeliveryOptions};
use crate::{Gateway, Rejection};

/// How long a version this instance could not run is left alone by [`Hub::follow`].
const FOLLOW_BACKOFF: Duration = Duration::from_secs(60);

/// A version loaded and built, ready to take over.
struct Prepared {
    gateway: Gateway,
    subscriptions: Vec<crate::delivery::Subscription>,
}

impl Hub {
    /// Runs the store's active catalog version if it is newer than the one
    /// running here: another instance on the same store activated it.
    /// Returns the version switched to, if any. `takt serve` calls it
    /// every two seconds; a version that cannot run here (say a secret is
    /// missing on this machine) is tried again after a minute, and logged.
    pub async fn follow(self: &Arc<Self>) -> Result<Option<i64>, Rejection> {
        let newest = self
            .store
            .catalog_history()
            .await
            .map_err(|e| super::govern::store_failed(&e))?
            .first()
            .map_or(0, |v| v.version);
        if self.running.lock().await.version >= newest {
            return Ok(None);
        }
        if let Ok(failed) = self.follow_failed.lock()
            && failed
                .is_some_and(|(version, at)| version == newest && at.elapsed() < FOLLOW_BACKOFF)
        {
            return Ok(None);
        }
        let hub = self.clone();
        let switched = tokio::spawn(async move {
            let mut running = hub.running.lock().await;
            if running.version >= newest {
                return Ok(None);
            }
            let version = hub.stored_catalog_version(Some(newest)).await?;
            hub.switch(&mut running, version, None)
                .await
                .map(|v| Some(v.version))
        })
        .await
        .map_err(|e| interrupted(&e))?;
        if switched.is_err()
            && let Ok(mut failed) = self.follow_failed.lock()
        {
            *failed = Some((newest, Instant::now()));
        }
        switched
    }

    /// Loads and checks a catalog off the runtime's threads (it writes
    /// files and compiles every schema and mapping).
    pub(super) async fn load(&self, files: CatalogFiles) -> Result<load::Loaded, Rejection> {
        let (base, dirs) = (self.base.clone(), self.options.contract_dirs.clone());
        tokio::task::spawn_blocking(move || load::load(&base, &files, &dirs))
            .await
            .map_err(|e| interrupted(&e))?
            .map_err(Rejection::CatalogInvalid)
    }

    /// Everything that can fail before `files` run: the catalog, the
    /// gateway, every connector.
    async fn prepare(&self, files: CatalogFiles) -> Result<Prepared, Rejection> {
        let loaded = self.load(files).await?;
        let gateway = self
            .gateway()
            .successor(Arc::new(loaded.registry), Arc::new(loaded.deployment))
            .map_err(|e| Rejection::CatalogInvalid(vec![e.to_string()]))?;
        let secrets = &*self.options.secrets;
        let subscriptions = DeliveryEngine::build(
            gateway.deployment(),
            &gateway.shared_registry(),
            &DeliveryOptions {
                secrets: &|name| secrets(name),
                grace: self.options.grace,
            },
        )
        .map_err(|e| Rejection::CatalogInvalid(vec![e.to_string()]))?;
        Ok(Prepared {
            gateway,
            subscriptions,
        })
    }

    /// Makes `version` the running one: prepares it, records it (`record`:
    /// the writes to make with it and the audit entry; `None` when another
    /// instance recorded it), then hands over delivery and new requests.
    /// Nothing changes unless every fallible step succeeded.
    pub(super) async fn switch(
        &self,
        running: &mut Running,
        version: CatalogVersion,
        record: Option<(Vec<CatalogWrite>, AuditDraft)>,
    ) -> Result<CatalogVersion, Rejection> {
        let prepared = self.prepare(version.files.clone()).await?;
        if let Some((mut writes, audit)) = record {
            writes.push(CatalogWrite::Version(version.clone()));
            self.record(writes, audit).await?;
        }
        // One delivery engine at a time: the old one stops (attempts under
        // way get the grace period) before the new one resumes from the
        // durable cursors.
        if let Some(engine) = running.delivery.take() {
            engine.stop().await;
        }
        let Prepared {
            gateway,
            subscriptions,
        } = prepared;
        let engine = Arc::new(DeliveryEngine::with_subscriptions(
            subscriptions,
            gateway.shared_registry(),
            gateway.store().clone(),
            gateway.clock().clone(),
            &gateway.appended(),
            self.options.grace,
        ));
        gateway.attach_delivery(engine.clone());
        running.delivery = Some(engine);
        running.version = version.version;
        let gateway = Arc::new(gateway);
        match self.current.write() {
            Ok(mut current) => *current = gateway.clone(),
            Err(poisoned) => *poisoned.into_inner() = gateway.clone(),
        }
        if let Err(e) = gateway.refresh_pressure().await {
            tracing::debug!(error = %e, "back-pressure not refreshed after the catalog change");
        }
        super::announce(&version);
        Ok(CatalogVersion {
            files: CatalogFiles::new(),
            ..version
        })
    }
}

/// A catalog task that did not finish (the runtime is shutting down).
pub(super) fn interrupted(e: &tokio::task::JoinError) -> Rejection {
    tracing::error!(error = %e, "a catalog change did not finish");
    Rejection::Unavailable {
        detail: "the catalog change did not finish; the hub is shutting down".into(),
        retry_after_secs: 5,
    }
}
