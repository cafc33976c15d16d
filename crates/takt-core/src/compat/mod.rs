//! Compatibility checks between versions of a contract, explained.
//!
//! [`check`] compares a new schema with earlier ones under a [`Mode`] and
//! returns a [`Report`] whose every [`Break`] says where (a JSON pointer into
//! the message), what changed, which side breaks, and an example message:
//!
//! ```text
//! /data/qty/uom: enum value "LBR" removed — messages that producers on 1.2 still
//! send would be rejected by consumers on 1.3 (BACKWARD), e.g. /data/qty/uom = "LBR"
//! ```
//!
//! The checker reasons on schema structure (types, enums, properties,
//! `required`, open vs closed models, limits, patterns, formats, nested
//! objects and arrays, local `$ref`s). Anything it does not model counts as
//! breaking when it changes, so "compatible" is always a proof, never a guess.

mod change;
mod diff;
mod mode;
mod object;
mod report;
mod sample;
mod schema;

pub use change::{Change, Impact};
pub use mode::{Direction, Mode};
pub use report::{Break, Comparison, Report, Version, check};

#[cfg(test)]
mod tests;
