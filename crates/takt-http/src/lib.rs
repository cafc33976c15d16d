//! Takt's HTTP surface (axum). The only place errors become HTTP statuses.
//!
//! - [`data_router`]: the data plane systems post to (`/v1/events`,
//!   `/v1/commands/{type}`, `/v1/interfaces/{name}/messages`).
//! - [`admin_router`]: health, readiness, message reads, audit
//!   verification, and the delivery engine's dead-letter queue, in-doubt
//!   list and status, for operators. It is served on its own listener.
//! - [`metrics`]: the Prometheus recorder behind the admin API's `/metrics`.
//! - [`openapi`]: the OpenAPI 3.1 document of both listeners, served at `/openapi.json`.
//! - [`serve`]: runs both until shutdown, then drains in-flight requests.

mod admin;
mod auth;
mod catalog;
mod data;
mod deliveries;
mod governance;
pub mod metrics;
pub mod openapi;
mod problem;
mod replays;
mod serve;
mod state;

pub use admin::admin_router;
pub use data::data_router;
pub use problem::Problem;
pub use serve::{Listeners, serve};
pub use state::AppState;
