//! Takt's shared vocabulary, free of I/O and async.
//!
//! - [`contract`]: contract type names (`mfg.material.consumed.v1`), schema
//!   versions (`1.2`) and schema ids (`urn:takt:schema:<type>:<major>.<minor>`).
//! - [`quantity`]: exact decimal quantities as rationals, and the rounding
//!   rules applied when a converted value is written back as a decimal.
//! - [`units`]: the typed form of a unit table file (`units.toml`).
//! - [`config`]: the typed files of a deployment directory.
//! - [`catalog`]: lifecycle states, and the deprecation and sunset of
//!   contract versions (`lifecycle.toml`).
//! - [`delivery`]: a subscription's delivery policy (retries, backoff,
//!   circuit breaker, dead-lettering).
//! - [`ErrorCode`]: stable, documented error codes every crate's errors carry.
//!
//! Everything here is plain data plus parsing; the logic that uses it lives in
//! `takt-core`.

pub mod catalog;
pub mod config;
pub mod contract;
pub mod delivery;
mod error;
pub mod quantity;
pub mod units;

pub use contract::{ContractType, SchemaId, SchemaVersion};
pub use error::{Error, ErrorCode, Result};
pub use quantity::{Rounding, parse_decimal};
