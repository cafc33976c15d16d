//! `takt catalog …`: impact analysis, the graph and scaffolding, read from
//! the deployment directory (`--config DIR`); readiness and the governed
//! changes (propose, approve, activate, roll back) on a running hub.

mod govern;
mod graph;
mod impact;
mod readiness;
mod scaffold;

use std::path::PathBuf;

use anyhow::Context;
use takt_core::deployment::Deployment;
use takt_core::registry::Registry;

use crate::Outcome;
use crate::cli::{CatalogCommand, CatalogSource, ScaffoldCommand};
use crate::output::Output;

/// Runs a `takt catalog` command; `contracts` are the global `--contracts`
/// layers, loaded after the deployment's own.
pub fn run(
    contracts: &[PathBuf],
    command: &CatalogCommand,
    out: &Output,
) -> anyhow::Result<Outcome> {
    match command {
        CatalogCommand::Impact(args) => impact::run(contracts, args, out),
        CatalogCommand::Graph(args) => graph::run(contracts, args),
        CatalogCommand::Scaffold(ScaffoldCommand::Plant(args)) => {
            scaffold::run(contracts, args, out)
        }
        CatalogCommand::Readiness(args) => readiness::run(args, out),
        CatalogCommand::Propose(args) => govern::propose(args, out),
        CatalogCommand::Diff(args) => govern::diff(args, out),
        CatalogCommand::Approve(args) => govern::approve(args, out),
        CatalogCommand::Reject(args) => govern::reject(args, out),
        CatalogCommand::Activate(args) => govern::activate(args, out),
        CatalogCommand::Rollback(args) => govern::rollback(args, out),
        CatalogCommand::History(args) => govern::history(args, out),
        CatalogCommand::Proposals(args) => govern::proposals(args, out),
    }
}

/// The deployment named by `--config`, and its contracts.
fn load(contracts: &[PathBuf], source: &CatalogSource) -> anyhow::Result<(Deployment, Registry)> {
    let deployment = Deployment::load(&source.config)
        .with_context(|| format!("cannot load the deployment {}", source.config.display()))?;
    let mut layers: Vec<PathBuf> = deployment.contracts_dir().into_iter().collect();
    layers.extend(contracts.iter().cloned());
    let registry = Registry::load(&layers)?;
    Ok((deployment, registry))
}
