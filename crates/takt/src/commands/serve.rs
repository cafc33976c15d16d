//! `takt serve`: the hub.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use takt_engine::catalog::{Hub, HubOptions};
use takt_engine::{GatewayOptions, SystemClock};
use takt_http::{Listeners, admin_router, data_router};
use tokio::net::TcpListener;

use crate::Outcome;
use crate::cli::{Cli, ServeArgs};

pub fn run(cli: &Cli, args: &ServeArgs) -> anyhow::Result<Outcome> {
    init_logging();
    let mut deployment = super::load_deployment(&args.deployment)?;
    let listen = &mut deployment.server.server;
    listen.data_listen = args.data_listen.unwrap_or(listen.data_listen);
    listen.admin_listen = args.admin_listen.unwrap_or(listen.admin_listen);
    if deployment.systems.is_empty() {
        tracing::warn!(
            "no systems are configured, so no request can authenticate; start with --config examples/acme"
        );
    }
    super::runtime()?.block_on(serve(deployment, &cli.contracts, args.adopt))?;
    Ok(Outcome::Passed)
}

async fn serve(
    deployment: takt_core::deployment::Deployment,
    contract_dirs: &[std::path::PathBuf],
    adopt: bool,
) -> anyhow::Result<()> {
    let settings = deployment.server.clone();
    let store = super::open_store(&settings.storage)
        .await
        .context("cannot open the store")?;
    let options = GatewayOptions {
        max_batch_events: settings.server.max_batch_events,
        store_quota_bytes: settings.quota.store_bytes,
        idempotency_retention_ms: i64::try_from(
            settings.idempotency.retention_secs.saturating_mul(1000),
        )
        .unwrap_or(i64::MAX),
    };
    let hub = Arc::new(
        Hub::start(
            deployment,
            store.clone(),
            Arc::new(SystemClock),
            options,
            HubOptions {
                contract_dirs: contract_dirs.to_vec(),
                secrets: Arc::new(|name: &str| std::env::var(name).ok()),
                grace: Duration::from_secs(settings.server.shutdown_grace_secs),
                adopt,
                started_by: "takt serve".into(),
            },
        )
        .await
        .context("cannot start the hub")?,
    );
    let data = TcpListener::bind(settings.server.data_listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.server.data_listen))?;
    let admin = TcpListener::bind(settings.server.admin_listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.server.admin_listen))?;
    tracing::info!(data = %data.local_addr()?, admin = %admin.local_addr()?, storage = %super::describe_storage(&settings.storage), "takt is serving");
    // One line on stdout that scripts (and the crash test) can wait for.
    crate::say!(
        "listening data={} admin={}",
        data.local_addr()?,
        admin.local_addr()?
    );
    let urls = takt_http::openapi::ServerUrls {
        data: format!("http://{}", data.local_addr()?),
        admin: format!("http://{}", admin.local_addr()?),
    };
    let listeners = Listeners {
        data: (
            data,
            data_router(hub.clone(), settings.server.max_body_bytes),
        ),
        admin: (admin, admin_router(hub.clone(), urls)),
    };
    let purge = tokio::spawn(purge_expired_keys(store.clone()));
    let audit_anonymous = tokio::spawn(audit_unauthenticated(hub.clone()));
    let gauges = tokio::spawn(refresh_pressure(hub.clone()));
    let follow = tokio::spawn(follow_catalog(hub.clone()));
    takt_http::serve(
        listeners,
        shutdown_signal(),
        Duration::from_secs(settings.server.shutdown_grace_secs),
    )
    .await?;
    purge.abort();
    audit_anonymous.abort();
    gauges.abort();
    follow.abort();
    // Attempts under way get the grace period; what is cut off is sent
    // again at the next start (or is in doubt, for a destination that
    // cannot de-duplicate).
    hub.stop().await;
    hub.gateway().flush_unauthenticated().await;
    drop(hub);
    drop(store);
    tracing::info!("stopped");
    Ok(())
}

/// Forgets expired idempotency records every ten minutes.
async fn purge_expired_keys(store: Arc<dyn takt_core::store::Store>) {
    use takt_core::store::Clock;
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        match store.purge_idempotency(SystemClock.now_ms()).await {
            Ok(0) => {}
            Ok(purged) => tracing::info!(purged, "expired idempotency records purged"),
            Err(e) => tracing::warn!(error = %e, "could not purge expired idempotency records"),
        }
    }
}

/// Every second: measures backlogs and the store's size (what producers
/// are refused, see docs/delivery.md) and refreshes the delivery gauges.
async fn refresh_pressure(hub: Arc<Hub>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Err(e) = hub.gateway().refresh_pressure().await {
            tracing::debug!(error = %e, "back-pressure and delivery gauges not refreshed");
        }
    }
}

/// Every two seconds: runs a catalog version another instance on the same
/// store activated.
async fn follow_catalog(hub: Arc<Hub>) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    loop {
        tick.tick().await;
        match hub.follow().await {
            Ok(None) => {}
            Ok(Some(version)) => {
                tracing::info!(
                    version,
                    "catalog version activated by another instance applied"
                );
            }
            Err(e) => {
                tracing::warn!(error = %e, "the catalog version activated by another instance could not be applied")
            }
        }
    }
}

/// Audits the unauthenticated requests of the last second, counted.
async fn audit_unauthenticated(hub: Arc<Hub>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        hub.gateway().flush_unauthenticated().await;
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        () = terminate => {}
    }
}

/// Structured logs on stderr; `TAKT_LOG` (or `RUST_LOG`) sets the filter.
fn init_logging() {
    let filter = std::env::var("TAKT_LOG")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr)
        .try_init();
}
