//! `takt catalog …`: impact analysis, the graph and scaffolding, read from
//! the deployment directory (`--config DIR`).

mod graph;
mod impact;
mod readiness;
mod scaffold;

use anyhow::Context;
use takt_core::deployment::Deployment;
use takt_core::registry::Registry;

use crate::Outcome;
use crate::cli::{CatalogCommand, CatalogSource, ScaffoldCommand};
use crate::output::Output;

pub fn run(command: &CatalogCommand, out: &Output) -> anyhow::Result<Outcome> {
    match command {
        CatalogCommand::Impact(args) => impact::run(args, out),
        CatalogCommand::Graph(args) => graph::run(args),
        CatalogCommand::Scaffold(ScaffoldCommand::Plant(args)) => scaffold::run(args, out),
        CatalogCommand::Readiness(args) => readiness::run(args, out),
    }
}

/// The deployment named by `--config`, and its contracts.
fn load(source: &CatalogSource) -> anyhow::Result<(Deployment, Registry)> {
    let deployment = Deployment::load(&source.config)
        .with_context(|| format!("cannot load the deployment {}", source.config.display()))?;
    let layers: Vec<_> = deployment.contracts_dir().into_iter().collect();
    let registry = Registry::load(&layers)?;
    Ok((deployment, registry))
}
