//! One module per command; `run` dispatches.

mod audit;
mod catalog;
mod check;
mod contract;
mod dlq;
mod key;
mod replay;
mod serve;
mod status;
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
        Command::Serve(args) => serve::run(cli, args),
        Command::Audit(crate::cli::AuditCommand::Verify(args)) => audit::verify(args, out),
        Command::Key(command) => key::run(command, out),
        Command::Dlq(args) => dlq::run(args, out),
        Command::Status(args) => status::run(args, out),
        Command::Replay(args) => replay::run(args, out),
        Command::Check(args) => check::run(args, out),
        Command::Catalog(command) => catalog::run(&cli.contracts, command, out),
    }
}

/// The built-in contracts plus the deployment directories named on the command line.
fn registry(cli: &Cli) -> anyhow::Result<Registry> {
    Ok(Registry::load(&cli.contracts)?)
}

/// The deployment alone, with `--db` / `--postgres-url` applied to its storage:
/// for commands that only open the store (no contracts to compile).
fn load_deployment(
    args: &crate::cli::DeploymentArgs,
) -> anyhow::Result<takt_core::deployment::Deployment> {
    let mut deployment = match &args.config {
        Some(dir) => takt_core::deployment::Deployment::load(dir)?,
        None => takt_core::deployment::Deployment::default(),
    };
    use takt_model::config::StorageConfig;
    let queue = match &deployment.server.storage {
        StorageConfig::Sqlite { queue_capacity, .. }
        | StorageConfig::Postgres { queue_capacity, .. } => *queue_capacity,
    };
    if let Some(db) = &args.db {
        deployment.server.storage = StorageConfig::Sqlite {
            path: db.clone(),
            queue_capacity: queue,
        };
    }
    if let Some(url) = &args.postgres_url {
        let schema = match &deployment.server.storage {
            StorageConfig::Postgres { schema, .. } => schema.clone(),
            StorageConfig::Sqlite { .. } => "takt".into(),
        };
        deployment.server.storage = StorageConfig::Postgres {
            url: url.clone(),
            schema,
            queue_capacity: queue,
        };
    }
    Ok(deployment)
}

/// Opens the configured store (needs a tokio runtime for PostgreSQL).
async fn open_store(
    storage: &takt_model::config::StorageConfig,
) -> anyhow::Result<std::sync::Arc<dyn takt_core::store::Store>> {
    use takt_model::config::StorageConfig;
    Ok(match storage {
        StorageConfig::Sqlite {
            path,
            queue_capacity,
        } => {
            let options = takt_store::SqliteOptions {
                queue_capacity: *queue_capacity,
                ..Default::default()
            };
            std::sync::Arc::new(takt_store::SqliteStore::open(path, options)?)
        }
        StorageConfig::Postgres {
            url,
            schema,
            queue_capacity,
        } => {
            let options = takt_store::PostgresOptions {
                url: url.clone(),
                schema: schema.clone(),
                queue_capacity: *queue_capacity,
            };
            std::sync::Arc::new(takt_store::PostgresStore::open(options).await?)
        }
    })
}

/// A multi-threaded runtime for the commands that need one.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("takt")
        .build()?)
}

/// The store in words for logs: never the connection string (it may hold a password).
fn describe_storage(storage: &takt_model::config::StorageConfig) -> String {
    match storage {
        takt_model::config::StorageConfig::Sqlite { path, .. } => {
            format!("sqlite {}", path.display())
        }
        takt_model::config::StorageConfig::Postgres { schema, .. } => {
            format!("postgres schema {schema}")
        }
    }
}
