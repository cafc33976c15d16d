//! `takt contract …`.

mod asyncapi;
mod check;
mod lint;
mod list;
mod show;
mod validate;

use crate::Outcome;
use crate::cli::{Cli, ContractCommand};
use crate::output::Output;

pub fn run(cli: &Cli, command: &ContractCommand, out: &Output) -> anyhow::Result<Outcome> {
    match command {
        ContractCommand::List => list::run(&super::registry(cli)?, out),
        ContractCommand::Show { contract, version } => {
            show::run(&super::registry(cli)?, contract, *version, out)
        }
        ContractCommand::Validate { files } => validate::run(&super::registry(cli)?, files, out),
        ContractCommand::Check(args) => check::run(&super::registry(cli)?, args, out),
        ContractCommand::Lint { dir } => lint::run(dir, out),
        ContractCommand::Asyncapi { output } => {
            asyncapi::run(&super::registry(cli)?, output.as_deref())
        }
    }
}
