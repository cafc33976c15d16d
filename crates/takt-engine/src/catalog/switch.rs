//! Switching the running hub to another catalog version: a new one
//! activated here, or one another instance activated (see [`Hub::follow`]).

use std::sync::Arc;

use takt_core::audit::AuditDraft;
use takt_core::store::{CatalogFiles, CatalogVersion, CatalogWrite};

use super::{Hub, Running, load, start_delivery};
use crate::{Gateway, Rejection};

impl Hub {
    /// Runs the store's active catalog version if it is newer than the one
    /// running here: another instance on the same store activated it.
    /// Returns the version switched to, if any. `takt serve` calls it
    /// every few seconds.
    pub async fn follow(&self) -> Result<Option<i64>, Rejection> {
        let newest = self
            .store
            .catalog_history()
            .await
            .map_err(|e| super::govern::store_failed(&e))?
            .first()
            .map_or(0, |v| v.version);
        let mut running = self.running.lock().await;
        if newest <= running.version {
            return Ok(None);
        }
        let version = self.stored_catalog_version(Some(newest)).await?;
        let applied = self.switch(&mut running, version, None).await?;
        Ok(Some(applied.version))
    }

    /// Loads and checks a catalog off the runtime's threads (it writes
    /// files and compiles every schema and mapping).
    pub(super) async fn load(&self, files: CatalogFiles) -> Result<load::Loaded, Rejection> {
        let (base, dirs) = (self.base.clone(), self.options.contract_dirs.clone());
        tokio::task::spawn_blocking(move || load::load(&base, &files, &dirs))
            .await
            .map_err(|e| Rejection::CatalogInvalid(vec![format!("the check did not finish: {e}")]))?
            .map_err(Rejection::CatalogInvalid)
    }

    /// Loads `version`, restarts delivery on it, records it (`record`:
    /// the writes to make with it and the audit entry; `None` when another
    /// instance recorded it), and hands new requests its gateway. Nothing
    /// is recorded unless the version runs; on any failure the previous one
    /// keeps running.
    pub(super) async fn switch(
        &self,
        running: &mut Running,
        version: CatalogVersion,
        record: Option<(Vec<CatalogWrite>, AuditDraft)>,
    ) -> Result<CatalogVersion, Rejection> {
        let loaded = self.load(version.files.clone()).await?;
        let old = self.gateway();
        let gateway = old
            .successor(Arc::new(loaded.registry), Arc::new(loaded.deployment))
            .map_err(|e| Rejection::CatalogInvalid(vec![e.to_string()]))?;
        // One delivery engine at a time: the old one stops (attempts under
        // way get the grace period) before the new one resumes from the
        // durable cursors.
        if let Some(engine) = running.delivery.take() {
            engine.stop().await;
        }
        let delivery = match start_delivery(&gateway, &self.options) {
            Ok(engine) => engine,
            Err(e) => {
                self.resume(running, &old);
                return Err(Rejection::CatalogInvalid(vec![e.to_string()]));
            }
        };
        if let Some((mut writes, audit)) = record {
            writes.push(CatalogWrite::Version(version.clone()));
            if let Err(why) = self.record(writes, audit).await {
                delivery.stop().await;
                self.resume(running, &old);
                return Err(why);
            }
        }
        gateway.attach_delivery(delivery.clone());
        running.delivery = Some(delivery);
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

    /// Runs the previous version's delivery again after a failed change,
    /// on a fresh gateway of the same catalog (a gateway holds one engine).
    fn resume(&self, running: &mut Running, old: &Gateway) {
        let again = old
            .successor(old.shared_registry(), old.shared_deployment())
            .map_err(|e| e.to_string())
            .and_then(|gateway| {
                let engine = start_delivery(&gateway, &self.options).map_err(|e| e.to_string())?;
                gateway.attach_delivery(engine.clone());
                Ok((gateway, engine))
            });
        match again {
            Ok((gateway, engine)) => {
                running.delivery = Some(engine);
                match self.current.write() {
                    Ok(mut current) => *current = Arc::new(gateway),
                    Err(poisoned) => *poisoned.into_inner() = Arc::new(gateway),
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "delivery did not restart after a failed catalog change; restart the hub")
            }
        }
    }
}
