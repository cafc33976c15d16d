//! Adapters of Takt's storage port ([`takt_core::store::Store`]).
//!
//! - [`SqliteStore`]: the embedded default. One SQLite file in WAL mode with
//!   `synchronous=FULL`; a single writer thread batches concurrent commits
//!   into one transaction (group commit), so many requests share one fsync.
//!
//! Every adapter passes the conformance suite in `tests/conformance.rs`.
//! [`verify_audit`] walks any store's audit chain.

mod sqlite;
mod verify;

pub use sqlite::{SqliteOptions, SqliteStore};
pub use verify::{VerifyError, verify_audit};
