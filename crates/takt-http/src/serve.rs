//! Running both listeners and shutting down gracefully.

use std::future::Future;
use std::time::Duration;

use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// The two bound listeners and their routers.
#[derive(Debug)]
pub struct Listeners {
    /// Data plane.
    pub data: (TcpListener, Router),
    /// Admin API.
    pub admin: (TcpListener, Router),
}

/// Serves both listeners until `shutdown` resolves, then stops accepting and
/// lets in-flight requests finish for up to `grace`.
pub async fn serve(
    listeners: Listeners,
    shutdown: impl Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> std::io::Result<()> {
    let upkeep =
        crate::metrics::install().map(|handle| tokio::spawn(crate::metrics::upkeep(handle)));
    let (stop, stopped) = watch::channel(false);
    let signal = |mut rx: watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let (data_listener, data_router) = listeners.data;
    let (admin_listener, admin_router) = listeners.admin;
    let data = tokio::spawn(
        axum::serve(data_listener, data_router)
            .with_graceful_shutdown(signal(stopped.clone()))
            .into_future(),
    );
    let admin = tokio::spawn(
        axum::serve(admin_listener, admin_router)
            .with_graceful_shutdown(signal(stopped))
            .into_future(),
    );
    shutdown.await;
    tracing::info!(
        grace_secs = grace.as_secs(),
        "shutting down: draining in-flight requests"
    );
    let _ = stop.send(true);
    let drained = tokio::time::timeout(grace, async {
        let _ = data.await;
        let _ = admin.await;
    })
    .await;
    if let Some(task) = upkeep {
        task.abort();
    }
    if drained.is_err() {
        tracing::warn!("in-flight requests did not finish within the grace period");
    }
    Ok(())
}
