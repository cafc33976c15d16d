//! Takt's tokio shell around the pure core: the ingest gateway and the
//! delivery engine ([`delivery`]).
//!
//! [`Gateway::ingest`] runs one request through authentication,
//! authorization (Rego), rate limits, validation and idempotency, and answers
//! only after the events, the idempotency record and the audit entries are
//! durably committed together. Every rejection is a [`Rejection`] with a
//! stable code; the HTTP layer turns it into problem+json. Commands and
//! queries of an interface with `[sync]` are answered by its destination
//! while the sender waits ([`sync`]); `GET /v1/commands/{id}` reads their
//! state ([`Gateway::command_status`]). The [`catalog::Hub`] runs the
//! active catalog version and applies reviewed changes to it live.

pub mod catalog;
pub mod delivery;
mod gateway;
mod jwt;
mod limits;
mod principals;
mod rejection;
pub mod sync;

pub use gateway::{
    Accepted, DeprecationNotice, Gateway, GatewayOptions, IngestRequest, Route, SecretSource,
    SystemClock,
};
pub use jwt::JwtVerifier;
pub use principals::{Principal, PrincipalKind, Principals};
pub use rejection::Rejection;
