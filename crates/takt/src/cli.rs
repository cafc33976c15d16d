//! The command line, declared with clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use num_rational::BigRational;
use takt_core::compat::Mode;
use takt_model::SchemaVersion;

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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
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
