//! What handlers are given: the gateway of the catalog version active when
//! the request arrived.

use std::sync::Arc;

use axum::extract::FromRef;
use takt_engine::Gateway;
use takt_engine::catalog::Hub;

/// The routers' state. Handlers that take `State<Arc<Gateway>>` get the
/// gateway active when their request arrived and keep it to the end, even
/// if a catalog change is activated meanwhile.
#[derive(Debug, Clone)]
pub enum AppState {
    /// One gateway for the process's life, without governed changes
    /// (embedding and tests).
    Fixed(Arc<Gateway>),
    /// The running hub: its active version's gateway, and the catalog
    /// governance endpoints.
    Live(Arc<Hub>),
}

impl AppState {
    /// The hub, when catalog changes can be applied.
    pub(crate) fn hub(&self) -> Option<&Arc<Hub>> {
        match self {
            Self::Fixed(_) => None,
            Self::Live(hub) => Some(hub),
        }
    }
}

impl FromRef<AppState> for Arc<Gateway> {
    fn from_ref(state: &AppState) -> Self {
        match state {
            AppState::Fixed(gateway) => gateway.clone(),
            AppState::Live(hub) => hub.gateway(),
        }
    }
}

impl From<Arc<Gateway>> for AppState {
    fn from(gateway: Arc<Gateway>) -> Self {
        Self::Fixed(gateway)
    }
}

impl From<Arc<Hub>> for AppState {
    fn from(hub: Arc<Hub>) -> Self {
        Self::Live(hub)
    }
}
