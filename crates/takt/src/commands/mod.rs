//! One module per command; `run` dispatches.

mod contract;
mod units;

use takt_core::registry::Registry;

use crate::Outcome;
use crate::cli::{Cli, Command};
use crate::output::Output;

/// Runs the parsed command line.
pub fn run(cli: &Cli, out: &Output) -> anyhow::Result<Outcome> {
    match &cli.command {
        Command::Contract(command) => contract::run(cli, command, out),
        Command::Units(command) => units::run(cli, command, out),
    }
}

/// The built-in contracts plus the deployment directories named on the command line.
fn registry(cli: &Cli) -> anyhow::Result<Registry> {
    Ok(Registry::load(&cli.contracts)?)
}
