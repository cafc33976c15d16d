//! The governed catalog, live: which catalog version the hub runs, and the
//! reviewed changes that move it to the next one.
//!
//! The store keeps numbered catalog versions (complete snapshots of the
//! catalog files, see `takt_core::catalog::snapshot`); the newest is
//! active. A change is a **proposal** (a diff against the active
//! version), approved by a principal with the `approver` role **other than
//! its proposer**, then **activated**: the [`Hub`] builds the gateway and
//! delivery engine of the new version, swaps them in, and records the
//! version, all audited. Requests under way finish on the gateway they
//! started with; delivery workers stop and resume from their durable
//! cursors. A **rollback** activates a copy of an earlier version.
//!
//! With several instances on one PostgreSQL store, the instance that
//! activates applies the version at once; the others find it with
//! [`Hub::follow`], which `takt serve` calls every two seconds.
//!
//! At start the deployment directory is compared with the active version:
//! an empty store imports it as version 1; a directory that changed since
//! is recorded as a new version while no proposal has been activated
//! (the directory is still the catalog's source), and is otherwise only
//! reported, unless `--adopt` says to record it.

mod govern;
mod load;
mod switch;

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use takt_core::audit::AuditDraft;
use takt_core::catalog::snapshot;
use takt_core::deployment::Deployment;
use takt_core::store::{
    CatalogFiles, CatalogVersion, CatalogWrite, Clock, Commit, CommitOutcome, Store, StoreError,
    VersionKind,
};

use crate::delivery::{DeliveryEngine, DeliveryError, DeliveryOptions};
use crate::{Gateway, GatewayOptions, SecretSource};

pub use govern::{ProposalDiff, ProposalInput};

/// How the hub runs its catalog.
pub struct HubOptions {
    /// Contract directories beyond the built-in ones and the catalog's own
    /// `contracts/` (`takt --contracts`).
    pub contract_dirs: Vec<PathBuf>,
    /// Where connectors (subscriptions and `[sync]` destinations) read their secrets.
    pub secrets: SecretSource,
    /// How long stopping delivery workers wait for attempts under way.
    pub grace: Duration,
    /// Record the deployment directory as a new version even when the
    /// active one came from a proposal (`takt serve --adopt`).
    pub adopt: bool,
    /// Who starts the hub, for the audit trail of an import or adoption.
    pub started_by: String,
}

impl std::fmt::Debug for HubOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HubOptions")
            .field("contract_dirs", &self.contract_dirs)
            .field("grace", &self.grace)
            .field("adopt", &self.adopt)
            .finish_non_exhaustive()
    }
}

/// Why the hub could not start.
#[derive(Debug, thiserror::Error)]
pub enum HubError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The deployment directory cannot be read as a catalog.
    #[error(transparent)]
    Directory(#[from] takt_core::Error),
    /// The catalog version to run does not load.
    #[error("catalog version {version} does not check:\n  {}", .problems.join("\n  "))]
    Invalid {
        /// The version.
        version: i64,
        /// Every problem, naming file and field.
        problems: Vec<String>,
    },
    /// The delivery engine did not start.
    #[error(transparent)]
    Delivery(#[from] DeliveryError),
    /// The store refused to record the version.
    #[error("the catalog version could not be recorded: {0}")]
    Conflict(String),
}

/// What runs now: the gateway of the active catalog version and its
/// delivery engine.
struct Running {
    version: i64,
    delivery: Option<Arc<DeliveryEngine>>,
}

/// The running hub: serves the active catalog version and applies
/// governed changes to it live.
pub struct Hub {
    /// The gateway requests get; replaced whole on activation.
    current: RwLock<Arc<Gateway>>,
    /// The version running and its delivery engine. Held through a whole
    /// catalog change, so that changes apply one at a time.
    running: tokio::sync::Mutex<Running>,
    /// The version [`Hub::follow`] last failed to run, and when.
    follow_failed: std::sync::Mutex<Option<(i64, std::time::Instant)>>,
    /// The process settings (`takt.toml`) every version runs with.
    base: Deployment,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    options: HubOptions,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl Hub {
    /// Decides which catalog version runs (see the module docs), checks
    /// it, records it when it is the directory's, builds its gateway and
    /// starts its delivery engine.
    pub async fn start(
        base: Deployment,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        gateway_options: GatewayOptions,
        options: HubOptions,
    ) -> Result<Self, HubError> {
        let directory = match &base.root {
            Some(dir) => snapshot::read(dir)?,
            None => CatalogFiles::new(),
        };
        // Instances starting together on one store may race to record the
        // directory: the loser looks again.
        let mut attempts = 0;
        let (active, gateway) = loop {
            attempts += 1;
            let (active, record) =
                Self::version_to_run(&*store, &*clock, &options, &directory).await?;
            // Checked before it is recorded: a directory that does not
            // check never becomes a version.
            let invalid = |problems| HubError::Invalid {
                version: active.version,
                problems,
            };
            let loaded =
                load::load(&base, &active.files, &options.contract_dirs).map_err(invalid)?;
            let gateway = Gateway::with_secrets(
                Arc::new(loaded.registry),
                Arc::new(loaded.deployment),
                store.clone(),
                clock.clone(),
                gateway_options.clone(),
                options.secrets.clone(),
            )
            .map_err(|e| invalid(vec![e.to_string()]))?;
            let Some(commit) = record else {
                break (active, gateway);
            };
            match store.commit(commit).await? {
                CommitOutcome::Committed(_) => break (active, gateway),
                CommitOutcome::CatalogConflict { .. } if attempts < 3 => continue,
                CommitOutcome::CatalogConflict { reason } => {
                    return Err(HubError::Conflict(reason));
                }
                other => return Err(HubError::Conflict(format!("unexpected outcome {other:?}"))),
            }
        };
        let delivery = start_delivery(&gateway, &options)?;
        gateway.attach_delivery(delivery.clone());
        announce(&active);
        Ok(Self {
            current: RwLock::new(Arc::new(gateway)),
            running: tokio::sync::Mutex::new(Running {
                version: active.version,
                delivery: Some(delivery),
            }),
            follow_failed: std::sync::Mutex::new(None),
            base,
            store,
            clock,
            options,
        })
    }

    /// The version to run, and the commit that records the directory as
    /// a new version when it should be (see the module docs).
    async fn version_to_run(
        store: &dyn Store,
        clock: &dyn Clock,
        options: &HubOptions,
        directory: &CatalogFiles,
    ) -> Result<(CatalogVersion, Option<Commit>), HubError> {
        let digest = snapshot::digest(directory);
        let stored = store.catalog_version(None).await?;
        let kind = match &stored {
            None => VersionKind::Imported,
            Some(active) if active.digest == digest => return Ok((active.clone(), None)),
            Some(active) if options.adopt || !governed(store, active).await? => {
                VersionKind::Adopted
            }
            Some(active) => {
                tracing::warn!(
                    version = active.version,
                    "the deployment directory differs from catalog version {}, which came from a reviewed change: the hub runs version {}. Propose the directory's changes with `takt catalog propose`, or start with --adopt to record it as it is",
                    active.version,
                    active.version
                );
                return Ok((active.clone(), None));
            }
        };
        let version = CatalogVersion {
            version: stored.map_or(1, |v| v.version + 1),
            kind,
            proposal: None,
            restores: None,
            principal: options.started_by.clone(),
            created_at_ms: clock.now_ms(),
            note: match kind {
                VersionKind::Imported => "imported from the deployment directory".into(),
                _ => "adopted from the deployment directory at start".into(),
            },
            digest,
            files: directory.clone(),
        };
        let audit = AuditDraft {
            at_ms: version.created_at_ms,
            principal: version.principal.clone(),
            action: format!("catalog.{}", kind.as_str()),
            interface: None,
            outcome: "accepted".into(),
            message_id: Some(format!("version:{}", version.version)),
        };
        let commit = Commit {
            catalog: vec![CatalogWrite::Version(version.clone())],
            audit: vec![audit],
            ..Commit::default()
        };
        Ok((version, Some(commit)))
    }

    /// The gateway of the active version: a request keeps the one it got
    /// until it ends, even if a new version is activated meanwhile.
    pub fn gateway(&self) -> Arc<Gateway> {
        match self.current.read() {
            Ok(gateway) => gateway.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The active catalog version's number.
    pub async fn version(&self) -> i64 {
        self.running.lock().await.version
    }

    /// Stops the delivery engine (attempts under way get the grace period).
    pub async fn stop(&self) {
        let delivery = self.running.lock().await.delivery.take();
        if let Some(engine) = delivery {
            engine.stop().await;
        }
    }
}

/// Whether `active` came from a reviewed change (an activated proposal or
/// a rollback), or follows one: then the directory no longer speaks for
/// the catalog on its own.
async fn governed(store: &dyn Store, active: &CatalogVersion) -> Result<bool, StoreError> {
    if matches!(
        active.kind,
        VersionKind::Activated | VersionKind::RolledBack
    ) {
        return Ok(true);
    }
    let history = store.catalog_history().await?;
    Ok(history
        .iter()
        .any(|v| matches!(v.kind, VersionKind::Activated | VersionKind::RolledBack)))
}

/// Logs the version now active and sets the `takt_catalog_version` gauge.
fn announce(version: &CatalogVersion) {
    tracing::info!(version = version.version, kind = version.kind.as_str(), digest = %version.digest, "catalog version active");
    #[allow(clippy::cast_precision_loss)] // version numbers stay far below 2^52
    metrics::gauge!("takt_catalog_version").set(version.version as f64);
}

/// Starts the delivery engine of `gateway`'s catalog.
fn start_delivery(
    gateway: &Gateway,
    options: &HubOptions,
) -> Result<Arc<DeliveryEngine>, DeliveryError> {
    let secrets = &*options.secrets;
    Ok(Arc::new(DeliveryEngine::start(
        gateway.deployment(),
        gateway.shared_registry(),
        gateway.store().clone(),
        gateway.clock().clone(),
        &gateway.appended(),
        &DeliveryOptions {
            secrets: &|name| secrets(name),
            grace: options.grace,
        },
    )?))
}
