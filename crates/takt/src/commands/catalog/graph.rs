//! `takt catalog graph [--format dot|mermaid]`.

use takt_core::catalog::graph::{GraphFormat, render};

use crate::Outcome;
use crate::cli::{GraphArgs, GraphFormatArg};

pub fn run(contracts: &[std::path::PathBuf], args: &GraphArgs) -> anyhow::Result<Outcome> {
    let (deployment, _) = super::load(contracts, &args.source)?;
    let format = match args.format {
        GraphFormatArg::Dot => GraphFormat::Dot,
        GraphFormatArg::Mermaid => GraphFormat::Mermaid,
    };
    let text = render(&deployment, format);
    crate::say!("{}", text.trim_end());
    Ok(Outcome::Passed)
}
