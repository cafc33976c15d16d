//! The command line, declared with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use num_rational::BigRational;
use takt_core::compat::Mode;
use takt_model::SchemaVersion;

mod catalog;

pub use catalog::{
    ApproveArgs, CatalogCommand, CatalogSource, DeploymentCheckArgs, GraphArgs, GraphFormatArg,
    HubArgs, ImpactArgs, ProposalIdArgs, ProposalsArgs, ProposeArgs, ReadinessArgs, RejectArgs,
    RollbackArgs, ScaffoldCommand, ScaffoldPlantArgs,
};

/// Takt: a governed integration hub for manufacturing.
#[derive(Debug, Parser)]
#[command(name = "takt", version, about)]
pub struct Cli {
    /// Print machine-readable JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,

    /// A deployment contracts directory to load after the built-in contracts
    /// (repeatable; also TAKT_CONTRACTS, separated by ':').
    #[arg(
        long = "contracts",
        global = true,
        env = "TAKT_CONTRACTS",
        value_delimiter = ':',
        value_name = "DIR"
    )]
    pub contracts: Vec<PathBuf>,

    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the hub: data plane and admin API on the embedded store (or PostgreSQL).
    Serve(ServeArgs),
    /// Work with the tamper-evident audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Create and hash API keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Work with canonical contracts.
    #[command(subcommand)]
    Contract(ContractCommand),
    /// Work with units of measure.
    #[command(subcommand)]
    Units(UnitsCommand),
    /// Work with a running hub's dead-letter queue and in-doubt list.
    Dlq(DlqArgs),
    /// Show each subscription's delivery state on a running hub.
    Status(StatusArgs),
    /// Send a subscription's delivered messages once more (time range,
    /// business key, contract types), following the job with a progress bar.
    Replay(ReplayArgs),
    /// Check a deployment directory for its CI: references, schemas, mappings
    /// and their fixtures, contract compatibility, governance rules.
    Check(DeploymentCheckArgs),
    /// Work with the catalog: impact analysis, graph, new plants.
    #[command(subcommand)]
    Catalog(CatalogCommand),
}

/// `takt contract …`.
#[derive(Debug, Subcommand)]
pub enum ContractCommand {
    /// List every known contract type with its versions.
    List,
    /// Show one contract's schema and metadata.
    Show {
        /// Contract type, e.g. mfg.material.consumed.v1.
        contract: String,
        /// Schema version, e.g. 1.0 (default: the latest).
        #[arg(long, value_parser = parse_version)]
        version: Option<SchemaVersion>,
    },
    /// Validate messages (JSON, a JSON array batch, or NDJSON; '-' for stdin).
    Validate {
        /// Files holding messages.
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
    /// Check a new schema version against earlier ones and explain every break.
    Check(CheckArgs),
    /// Check a contracts directory against Takt's conventions.
    Lint {
        /// The directory, e.g. contracts/ or a deployment's contracts.
        dir: PathBuf,
    },
    /// Print the AsyncAPI 3.0 document of every contract.
    Asyncapi {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

/// Arguments of `takt contract check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Earlier version(s): a schema file, a directory of <major>.<minor>.schema.json
    /// files, or a known contract type (all its versions).
    pub old: String,
    /// The new schema file.
    pub new: PathBuf,
    /// Compatibility mode (default: the new schema's x-takt-compatibility, else backward_transitive).
    #[arg(long, value_parser = parse_mode)]
    pub mode: Option<Mode>,
}

fn parse_version(s: &str) -> Result<SchemaVersion, String> {
    s.parse().map_err(|e: takt_model::Error| e.to_string())
}

fn parse_mode(s: &str) -> Result<Mode, String> {
    s.parse()
}

/// `takt units …`.
#[derive(Debug, Subcommand)]
pub enum UnitsCommand {
    /// List the known units of measure.
    List,
    /// Convert a quantity exactly, e.g. `takt units convert 12.5 LBR KGM`.
    Convert(ConvertArgs),
}

/// Arguments of `takt units convert`.
#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The quantity, a plain decimal such as 12.5.
    #[arg(value_parser = parse_value, allow_hyphen_values = true)]
    pub value: BigRational,
    /// Source unit (UN/CEFACT Rec 20 code), e.g. LBR.
    pub from: String,
    /// Target unit, e.g. KGM.
    pub to: String,
    /// Material number, for conversions across dimensions (e.g. C62 → KGM).
    #[arg(long)]
    pub material: Option<String>,
    /// The day whose material conversions apply (YYYY-MM-DD; default: today, UTC).
    #[arg(long)]
    pub on: Option<chrono::NaiveDate>,
}

fn parse_value(s: &str) -> Result<BigRational, String> {
    takt_model::parse_decimal(s).map_err(|e| e.to_string())
}

/// Where a deployment lives; shared by commands that open its store.
#[derive(Debug, Args)]
pub struct DeploymentArgs {
    /// Deployment directory (takt.toml, systems/, interfaces/, policies/, contracts/).
    /// Without it, the built-in defaults: embedded store under ./takt-data/, no principals.
    #[arg(long, env = "TAKT_CONFIG", value_name = "DIR")]
    pub config: Option<PathBuf>,
    /// SQLite database file, overriding takt.toml's storage.
    #[arg(
        long,
        env = "TAKT_DB",
        value_name = "FILE",
        conflicts_with = "postgres_url"
    )]
    pub db: Option<PathBuf>,
    /// PostgreSQL connection string, overriding takt.toml's storage; keeps the
    /// password out of files (schema and queue settings still come from takt.toml).
    #[arg(
        long,
        env = "TAKT_POSTGRES_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub postgres_url: Option<String>,
}

/// Arguments of `takt serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub deployment: DeploymentArgs,
    /// Data-plane address, overriding takt.toml (e.g. 127.0.0.1:8080; port 0 picks one).
    #[arg(long, env = "TAKT_DATA_LISTEN", value_name = "ADDR")]
    pub data_listen: Option<std::net::SocketAddr>,
    /// Admin API address, overriding takt.toml (e.g. 127.0.0.1:8081).
    #[arg(long, env = "TAKT_ADMIN_LISTEN", value_name = "ADDR")]
    pub admin_listen: Option<std::net::SocketAddr>,
    /// Record the deployment directory as the next catalog version even
    /// though the active one came from a reviewed change (by default the
    /// hub then keeps running the reviewed version; see docs/catalog.md).
    #[arg(long)]
    pub adopt: bool,
}

/// `takt audit …`.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit chain; report the first altered, removed, reordered or truncated entry.
    Verify(DeploymentArgs),
}

/// `takt key …`.
#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a new random API key and print it with the SHA-256 to configure.
    New,
    /// Print the SHA-256 of an API key read from standard input.
    Hash,
}

/// How to reach a running hub's admin API; shared by `takt dlq` and `takt status`.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// Base URL of the hub's admin API (http or https).
    #[arg(
        long,
        global = true,
        env = "TAKT_ADMIN_URL",
        default_value = "http://127.0.0.1:8081",
        value_name = "URL",
        value_parser = parse_admin_url
    )]
    pub admin_url: reqwest::Url,
    /// An operator's API key, sent as `Authorization: Bearer` (prefer TAKT_TOKEN:
    /// a flag is visible to other users in the process list).
    #[arg(
        long,
        global = true,
        env = "TAKT_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
}

fn parse_admin_url(s: &str) -> Result<reqwest::Url, String> {
    let url = reqwest::Url::parse(s).map_err(|e| format!("{e}; e.g. http://127.0.0.1:8081"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("{s} is not an http:// or https:// URL"));
    }
    Ok(url)
}

/// `takt status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
}

/// `takt replay SUBSCRIPTION [--from …] [--to …] [--key kind:value] [--type …]`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    /// The subscription whose delivered messages go out again.
    pub subscription: String,
    /// Only messages accepted at or after this time (RFC 3339, e.g. 2026-11-20T06:00:00Z).
    #[arg(long, value_parser = parse_time)]
    pub from: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Only messages accepted before this time (RFC 3339).
    #[arg(long, value_parser = parse_time)]
    pub to: Option<chrono::DateTime<chrono::FixedOffset>>,
    /// Only messages with this business key, <kind>:<value> (e.g. order:100012345).
    #[arg(long)]
    pub key: Option<String>,
    /// Only these contract types (repeatable).
    #[arg(long = "type", value_name = "TYPE")]
    pub types: Vec<String>,
    /// Start the job and return at once, without following it.
    #[arg(long)]
    pub no_wait: bool,
}

fn parse_time(s: &str) -> Result<chrono::DateTime<chrono::FixedOffset>, String> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map_err(|e| format!("{e}; use RFC 3339, e.g. 2026-11-20T06:00:00Z"))
}

/// `takt dlq …`: the admin arguments work before or after the subcommand.
#[derive(Debug, Args)]
pub struct DlqArgs {
    #[command(flatten)]
    pub admin: AdminArgs,
    #[command(subcommand)]
    pub command: DlqCommand,
}

/// `takt dlq …` subcommands.
#[derive(Debug, Subcommand)]
pub enum DlqCommand {
    /// List dead-lettered and in-doubt messages (other states with --state).
    List(DlqListArgs),
    /// Show one message: its record, attempt history and the destination's last answer.
    Show {
        /// The subscription, e.g. erp-goods-movements.
        subscription: String,
        /// The message's position in the event log, as `dlq list` shows it.
        seq: i64,
    },
    /// Send dead-lettered or in-doubt messages again, with a full attempt budget.
    Redrive(RedriveArgs),
    /// Give up on dead-lettered or in-doubt messages, saying why.
    Discard(DiscardArgs),
}

/// The filters of `dlq list`, also those of `--all-matching`.
#[derive(Debug, Default, Args)]
pub struct DlqFilters {
    /// Only this subscription's messages.
    #[arg(long, value_name = "NAME")]
    pub subscription: Option<String>,
    /// Only messages to this destination system.
    #[arg(long, value_name = "SYSTEM")]
    pub destination: Option<String>,
    /// Only this contract type, e.g. mfg.material.consumed.v1.
    #[arg(long = "type", value_name = "CONTRACT")]
    pub contract: Option<String>,
    /// Only this plant's messages.
    #[arg(long, value_name = "SITE")]
    pub site: Option<String>,
    /// Only messages whose record last changed at least this many seconds ago.
    #[arg(long, value_name = "SECS")]
    pub older_than_secs: Option<u64>,
}

/// The delivery states `--state` takes.
pub const DELIVERY_STATES: [&str; 6] = [
    "dead_lettered",
    "in_doubt",
    "pending",
    "in_flight",
    "delivered",
    "discarded",
];

/// Arguments of `takt dlq list`.
#[derive(Debug, Args)]
pub struct DlqListArgs {
    #[command(flatten)]
    pub filters: DlqFilters,
    /// Only messages whose reason contains this text, e.g. 422.
    #[arg(
        long = "reason",
        visible_alias = "reason-contains",
        value_name = "TEXT"
    )]
    pub reason_contains: Option<String>,
    /// States to list, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "dead_lettered,in_doubt",
        value_parser = DELIVERY_STATES,
        value_name = "STATES"
    )]
    pub state: Vec<String>,
    /// At most this many messages (default: all, page after page).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,
    /// Messages per request (1 to 1000); for tests of paging.
    #[arg(long, hide = true, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub page_size: u16,
}

/// Which messages `dlq redrive` and `dlq discard` act on: named ones, or
/// every dead-lettered or in-doubt message the filters match.
#[derive(Debug, Args)]
#[command(mut_group("DlqFilters", |g| g.requires("all_matching").conflicts_with("target")))]
pub struct Selection {
    /// The subscription of the named messages (with --all-matching, use --subscription).
    #[arg(
        value_name = "SUBSCRIPTION",
        required_unless_present = "all_matching",
        conflicts_with = "all_matching"
    )]
    pub target: Option<String>,
    /// The messages' positions in the event log, up to 1000.
    #[arg(
        value_name = "SEQ",
        required_unless_present = "all_matching",
        conflicts_with = "all_matching"
    )]
    pub seqs: Vec<i64>,
    /// Act on every dead-lettered or in-doubt message the filters match, in chunks of up to 1000.
    #[arg(long)]
    pub all_matching: bool,
    #[command(flatten)]
    pub filters: DlqFilters,
    /// With --all-matching: only messages whose reason contains this text.
    #[arg(
        long,
        value_name = "TEXT",
        requires = "all_matching",
        conflicts_with = "target"
    )]
    pub reason_contains: Option<String>,
    /// Messages per listing request with --all-matching; for tests of paging.
    #[arg(long, hide = true, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub page_size: u16,
}

/// Arguments of `takt dlq redrive`.
#[derive(Debug, Args)]
pub struct RedriveArgs {
    #[command(flatten)]
    pub selection: Selection,
}

/// Arguments of `takt dlq discard`.
#[derive(Debug, Args)]
pub struct DiscardArgs {
    #[command(flatten)]
    pub selection: Selection,
    /// Why they are discarded, e.g. "posted by hand in the ERP" (required; audited).
    #[arg(long, required = true, value_name = "TEXT", value_parser = parse_reason)]
    pub reason: String,
}

fn parse_reason(s: &str) -> Result<String, String> {
    if s.trim().is_empty() {
        return Err("say why the messages are discarded".into());
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use clap::{CommandFactory, Parser};

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }

    fn parse(args: &str) -> Result<super::Cli, clap::Error> {
        super::Cli::try_parse_from(std::iter::once("takt").chain(args.split_whitespace()))
    }

    #[test]
    fn dlq_actions_take_named_messages_or_all_matching_filters_not_both() {
        use clap::error::ErrorKind;
        assert!(parse("dlq redrive erp 12 13").is_ok());
        assert!(parse("dlq redrive --all-matching --site 1010 --reason-contains 422").is_ok());
        assert!(parse("dlq redrive --all-matching").is_ok());
        let kind = |args: &str| parse(args).err().map(|e| e.kind());
        assert_eq!(
            kind("dlq redrive erp 12 --site 1010"),
            Some(ErrorKind::ArgumentConflict)
        );
        assert_eq!(
            kind("dlq redrive erp 12 --reason-contains 422"),
            Some(ErrorKind::ArgumentConflict)
        );
        assert_eq!(
            kind("dlq redrive --all-matching erp 12"),
            Some(ErrorKind::ArgumentConflict)
        );
        assert_eq!(
            kind("dlq redrive --site 1010"),
            Some(ErrorKind::MissingRequiredArgument)
        );
        assert_eq!(
            kind("dlq redrive erp"),
            Some(ErrorKind::MissingRequiredArgument)
        );
        assert_eq!(
            kind("dlq discard erp 12"),
            Some(ErrorKind::MissingRequiredArgument)
        );
        let blank =
            super::Cli::try_parse_from(["takt", "dlq", "discard", "erp", "12", "--reason", " "]);
        assert_eq!(
            blank.err().map(|e| e.kind()),
            Some(ErrorKind::ValueValidation)
        );
        assert!(parse("dlq discard erp 12 --reason posted").is_ok());
    }

    #[test]
    fn admin_arguments_work_before_or_after_the_dlq_subcommand() {
        let Ok(cli) = parse(
            "dlq --token t1 --admin-url https://hub.example:8443/admin list --state pending,in_doubt",
        ) else {
            panic!("parses")
        };
        let super::Command::Dlq(dlq) = cli.command else {
            panic!("dlq")
        };
        assert_eq!(dlq.admin.token.as_deref(), Some("t1"));
        assert_eq!(
            dlq.admin.admin_url.as_str(),
            "https://hub.example:8443/admin"
        );
        let super::DlqCommand::List(list) = dlq.command else {
            panic!("list")
        };
        assert_eq!(list.state, ["pending", "in_doubt"]);
        assert!(parse("dlq list --token t1").is_ok());
        assert!(parse("dlq list --state parked").is_err());
        assert!(parse("status --admin-url ftp://hub").is_err());
        assert!(parse("dlq list --limit 0").is_err());
    }
}
