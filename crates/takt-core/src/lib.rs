//! Takt's pure logic. No I/O beyond reading contract files on request.
//!
//! - [`registry`]: loads built-in and deployment contracts, compiles their
//!   JSON Schemas once, and finds the schema for a message.
//! - [`validate`]: checks a whole message (envelope + `data`) and reports every
//!   violation as a JSON pointer, the rule broken and a sentence.
//! - [`compat`]: compares two versions of a contract under BACKWARD / FORWARD
//!   / FULL (and transitive) modes, explaining every break.
//! - [`units`]: exact unit conversion with material-specific factors.
//! - [`ingest`]: pure ingestion steps: sites a message names, its stored form.
//! - [`lint`]: style and completeness rules for a contracts directory.
//! - [`asyncapi`]: the AsyncAPI 3.0 document of the registry's contracts.
//! - [`audit`]: the tamper-evident audit hash chain and its verifier.
//! - [`deployment`]: loading and checking a deployment directory.
//! - [`catalog`]: the catalog as code: `takt check`, mapping fixtures,
//!   impact analysis, the catalog graph, plant scaffolding.
//! - [`mapping`]: jq mappings (jaq) with exact unit conversion as `to_uom`.
//! - [`native`]: native payloads: schema check, jq mapping, canonical envelope.
//! - [`policy`]: authorization decisions in Rego (regorus), cached.
//! - [`store`]: the storage port (`Store`) every adapter implements.
//! - [`delivery`]: the delivery engine's decisions: classifying attempts,
//!   backoff, circuit breaker, per-key ordering.
//! - [`sync`]: sync commands and queries: what a destination's answer
//!   means, the hidden subscription of queued commands, a command's state.

pub mod asyncapi;
pub mod audit;
pub mod catalog;
pub mod compat;
pub mod delivery;
pub mod deployment;
mod error;
pub mod ingest;
pub mod lifecycle;
pub mod lint;
pub mod mapping;
pub mod native;
pub mod policy;
pub mod registry;
pub mod store;
pub mod sync;
pub mod units;
pub mod validate;

pub use error::{Error, Result};
