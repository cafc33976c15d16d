//! Adapters of Takt's storage port ([`takt_core::store::Store`]).
//!
//! - [`SqliteStore`]: the embedded default. One SQLite file in WAL mode with
//!   `synchronous=FULL`; a single writer thread batches concurrent commits
//!   into one transaction (group commit), so many requests share one fsync.
//! - [`PostgresStore`]: for several hub instances sharing state. The same
//!   group commit on a writer task; unique constraints and a locked audit
//!   head keep idempotency and the audit chain correct across instances.
//!
//! Every adapter passes the conformance suite in `tests/conformance`.

mod catalog;
mod commit;
mod delivery;
mod postgres;
mod sqlite;

pub use postgres::{PostgresOptions, PostgresStore};
pub use sqlite::{SqliteOptions, SqliteStore};

/// Group-commit metrics: how many commits shared one transaction, and how
/// long it took (including the fsync).
fn record_batch(size: usize, took: std::time::Duration) {
    metrics::histogram!("takt_commit_batch_size").record(size as f64);
    metrics::histogram!("takt_commit_duration_seconds").record(took.as_secs_f64());
}
