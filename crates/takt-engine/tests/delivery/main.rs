//! The delivery engine's integration tests: each connector against the real
//! thing on this machine (the simulated ERP for HTTP, Mosquitto, RabbitMQ, a
//! directory), on a real SQLite store.
#![allow(clippy::unwrap_used)]

mod amqp;
mod file;
mod http;
mod hub;
mod mqtt;
mod replay;
