//! `takt check` and `takt catalog …`: the catalog as code, offline.
//!
//! Subcommands that work on a running hub's catalog (proposals, approvals,
//! activation) belong in [`CatalogCommand`] too; they take `AdminArgs`.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Arguments of `takt check`.
#[derive(Debug, Args)]
pub struct DeploymentCheckArgs {
    /// The deployment directory, e.g. examples/acme.
    pub dir: PathBuf,
    /// A baseline deployment directory (e.g. a checkout of the main branch):
    /// contract versions are compared with its contracts/.
    #[arg(long, value_name = "DIR", conflicts_with = "baseline_git")]
    pub baseline: Option<PathBuf>,
    /// A git revision (e.g. origin/main): contract versions are compared with
    /// the deployment's contracts/ at that revision.
    #[arg(long, value_name = "REV")]
    pub baseline_git: Option<String>,
    /// Fail (exit code 1) on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
    /// The day fixtures map on and lifecycle dates are compared with
    /// (YYYY-MM-DD; default: today, UTC).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub on: Option<chrono::NaiveDate>,
}

/// `takt catalog …`. Offline commands read the deployment directory
/// (`--config DIR`); commands on a running hub take `AdminArgs`.
#[derive(Debug, Subcommand)]
pub enum CatalogCommand {
    /// Everything a system, interface or contract version affects: interfaces,
    /// subscriptions, sites, owners and tiers, through depends_on and contract use.
    Impact(ImpactArgs),
    /// Print the catalog as a graph: systems → interfaces → systems, contracts on the edges.
    Graph(GraphArgs),
    /// Write the catalog entries of something new, cloned from what exists.
    #[command(subcommand)]
    Scaffold(ScaffoldCommand),
    /// Who still sent a contract (version) in the last days, and which
    /// subscriptions deliver it: asks a running hub, before a retirement.
    Readiness(ReadinessArgs),
    /// Propose a deployment directory's catalog to a running hub, as a
    /// change against its active catalog version (needs the admin role).
    Propose(ProposeArgs),
    /// Show what a proposal changes, as a unified diff, and whether it
    /// still applies to the active version.
    Diff(ProposalIdArgs),
    /// Approve a proposal (needs the approver role; not your own proposal).
    Approve(ApproveArgs),
    /// Reject a proposal (an approver), or withdraw your own.
    Reject(RejectArgs),
    /// Activate an approved proposal: the hub runs it from the next request on.
    Activate(ProposalIdArgs),
    /// Activate a copy of an earlier catalog version, exactly as it was.
    Rollback(RollbackArgs),
    /// List the catalog versions of a running hub, newest (active) first.
    History(HubArgs),
    /// List a running hub's proposals, newest first.
    Proposals(ProposalsArgs),
}

/// A running hub's admin API.
#[derive(Debug, Args)]
pub struct HubArgs {
    #[command(flatten)]
    pub admin: crate::cli::AdminArgs,
}

/// Arguments of `takt catalog propose`.
#[derive(Debug, Args)]
pub struct ProposeArgs {
    #[command(flatten)]
    pub admin: crate::cli::AdminArgs,
    /// The deployment directory whose catalog files are proposed (takt.toml is not part of the catalog).
    pub dir: PathBuf,
    /// What the change does, in one line.
    #[arg(long, short)]
    pub title: String,
    /// The catalog version the directory was edited from (default: the active one).
    #[arg(long, value_name = "VERSION")]
    pub base: Option<i64>,
}

/// A proposal on a running hub.
#[derive(Debug, Args)]
pub struct ProposalIdArgs {
    #[command(flatten)]
    pub admin: crate::cli::AdminArgs,
    /// The proposal's number.
    pub id: i64,
}

/// Arguments of `takt catalog approve`.
#[derive(Debug, Args)]
pub struct ApproveArgs {
    #[command(flatten)]
    pub proposal: ProposalIdArgs,
    /// A comment kept with the approval.
    #[arg(long, short)]
    pub comment: Option<String>,
}

/// Arguments of `takt catalog reject`.
#[derive(Debug, Args)]
pub struct RejectArgs {
    #[command(flatten)]
    pub proposal: ProposalIdArgs,
    /// Why it is rejected.
    #[arg(long, short)]
    pub reason: String,
}

/// Arguments of `takt catalog rollback`.
#[derive(Debug, Args)]
pub struct RollbackArgs {
    #[command(flatten)]
    pub admin: crate::cli::AdminArgs,
    /// The catalog version to restore.
    pub version: i64,
    /// Why, for the history and the audit trail.
    #[arg(long, short)]
    pub reason: Option<String>,
}

/// Arguments of `takt catalog proposals`.
#[derive(Debug, Args)]
pub struct ProposalsArgs {
    #[command(flatten)]
    pub admin: crate::cli::AdminArgs,
    /// Only proposals in this state.
    #[arg(long, value_parser = ["proposed", "approved", "rejected", "activated"])]
    pub state: Option<String>,
}

/// Arguments of `takt catalog readiness`.
#[derive(Debug, Args)]
pub struct ReadinessArgs {
    #[command(flatten)]
    pub admin: crate::cli::AdminArgs,
    /// The contract, with an optional schema version: mfg.material.consumed.v1@1.0.
    pub target: String,
    /// How many days back (1 to 3660).
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub days: u32,
}

/// The deployment directory an offline catalog command reads.
#[derive(Debug, Args)]
pub struct CatalogSource {
    /// Deployment directory (systems/, interfaces/, subscriptions/, contracts/).
    #[arg(long, env = "TAKT_CONFIG", value_name = "DIR")]
    pub config: PathBuf,
}

/// Arguments of `takt catalog impact`.
#[derive(Debug, Args)]
pub struct ImpactArgs {
    #[command(flatten)]
    pub source: CatalogSource,
    /// A system, an interface, or a contract with an optional version:
    /// mes-plant1010, mes1010-production, mfg.material.consumed.v1@1.0.
    pub target: String,
}

/// Arguments of `takt catalog graph`.
#[derive(Debug, Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub source: CatalogSource,
    /// dot (Graphviz) or mermaid.
    #[arg(long, value_enum, default_value = "dot")]
    pub format: GraphFormatArg,
}

/// The graph languages of `takt catalog graph`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormatArg {
    /// Graphviz DOT: `| dot -Tsvg > catalog.svg`.
    Dot,
    /// A Mermaid flowchart, for Markdown.
    Mermaid,
}

/// `takt catalog scaffold …`.
#[derive(Debug, Subcommand)]
pub enum ScaffoldCommand {
    /// A new plant's systems, interfaces and subscriptions, cloned from an
    /// existing plant, written as an overlay to copy over the deployment.
    Plant(ScaffoldPlantArgs),
}

/// Arguments of `takt catalog scaffold plant`.
#[derive(Debug, Args)]
pub struct ScaffoldPlantArgs {
    #[command(flatten)]
    pub source: CatalogSource,
    /// The new plant's code, e.g. 3030.
    pub plant: String,
    /// The existing plant to clone, e.g. 1010.
    #[arg(long, value_name = "PLANT")]
    pub from: String,
    /// Where to write the overlay (default: plant-<PLANT>); must not exist or be empty.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    fn parse(args: &str) -> Result<crate::cli::Cli, clap::Error> {
        crate::cli::Cli::try_parse_from(std::iter::once("takt").chain(args.split_whitespace()))
    }

    #[test]
    fn check_and_catalog_commands_parse() {
        use clap::error::ErrorKind;
        assert!(parse("check examples/acme --baseline-git origin/main --deny-warnings").is_ok());
        assert!(parse("--json check examples/acme --on 2026-11-26").is_ok());
        let kind = |args: &str| parse(args).err().map(|e| e.kind());
        assert_eq!(
            kind("check examples/acme --baseline a --baseline-git HEAD"),
            Some(ErrorKind::ArgumentConflict)
        );
        assert!(parse("catalog impact mes-plant1010 --config examples/acme").is_ok());
        assert!(parse("catalog graph --config examples/acme --format mermaid").is_ok());
        assert_eq!(
            kind("catalog graph --config examples/acme --format svg"),
            Some(ErrorKind::InvalidValue)
        );
        let Ok(cli) =
            parse("catalog scaffold plant 3030 --from 1010 --config examples/acme --out /tmp/p")
        else {
            panic!("parses")
        };
        let crate::cli::Command::Catalog(super::CatalogCommand::Scaffold(
            super::ScaffoldCommand::Plant(plant),
        )) = cli.command
        else {
            panic!("scaffold plant")
        };
        assert_eq!(
            (plant.plant.as_str(), plant.from.as_str()),
            ("3030", "1010")
        );
    }
}
