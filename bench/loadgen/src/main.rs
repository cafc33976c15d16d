//! Load generator for Takt's ingest gateway.
//!
//! `takt-loadgen run --takt target/release/takt` starts `takt serve` on the
//! benchmark deployment (`bench/deployment`) and a bare axum server that
//! answers 202 to everything (the HTTP floor of this machine), then posts
//! distinct messages over HTTP/1.1 keep-alive at each concurrency and prints
//! a Markdown table: accepted messages/s, latency percentiles, the server's
//! CPU time per 1,000 messages and its peak RSS.

mod delivery;
mod measure;
mod server;
mod sink;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A UUIDv7 as a producer following the contracts sends it: the posting
/// time in milliseconds first, so ids from every connection arrive in about
/// ascending order; `worker` (12 bits), `step` (14 bits) and `n` (48 bits)
/// keep it distinct from every other id of the run.
pub fn uuid7(worker: usize, step: usize, n: u64) -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    format!(
        "{:08x}-{:04x}-7{:03x}-{:04x}-{:012x}",
        (ms >> 16) & 0xffff_ffff,
        ms & 0xffff,
        worker & 0xfff,
        0x8000 | (step & 0x3fff),
        n & 0xffff_ffff_ffff
    )
}

#[derive(Debug, Parser)]
#[command(
    name = "takt-loadgen",
    about = "Load generator for Takt's ingest gateway"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the benchmark and print the results table.
    Run {
        /// The takt binary to benchmark (build it with --release).
        #[arg(long)]
        takt: PathBuf,
        /// The deployment directory served (default: bench/deployment).
        #[arg(long, default_value = "bench/deployment")]
        deployment: PathBuf,
        /// Seconds measured per step (after one second of warm-up).
        #[arg(long, default_value_t = 10)]
        seconds: u64,
        /// Concurrent keep-alive connections, one step each.
        #[arg(long, value_delimiter = ',', default_value = "1,16,64")]
        connections: Vec<usize>,
        /// Run only the targets whose name contains this text (e.g. `native`).
        #[arg(long)]
        only: Option<String>,
    },
    /// End to end: ingest, then delivery by a subscription to an in-process
    /// sink that checks every acknowledged message arrives once and in order.
    Delivery {
        /// The takt binary to benchmark (build it with --release).
        #[arg(long)]
        takt: PathBuf,
        /// The deployment directory served (default: bench/deployment; the
        /// sink's subscription comes from bench/delivery beside it).
        #[arg(long, default_value = "bench/deployment")]
        deployment: PathBuf,
        /// Concurrent keep-alive connections posting.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Seconds of posting in the max and steady scenarios.
        #[arg(long, default_value_t = 20)]
        seconds: u64,
        /// Events per second in the steady scenario.
        #[arg(long, default_value_t = 5_000)]
        steady_rate: u64,
        /// Events per second while the sink is down in the outage scenario.
        #[arg(long, default_value_t = 2_000)]
        outage_rate: u64,
        /// How long the sink is down in the outage scenario.
        #[arg(long, default_value_t = 300)]
        outage_seconds: u64,
        /// Run only the scenarios whose name contains this text (max, steady, outage).
        #[arg(long)]
        only: Option<String>,
    },
    /// Serve a bare axum handler that answers 202 (used by `run`).
    Floor,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match cli.command {
        Command::Floor => runtime.block_on(server::floor()),
        Command::Delivery {
            takt,
            deployment,
            connections,
            seconds,
            steady_rate,
            outage_rate,
            outage_seconds,
            only,
        } => runtime.block_on(delivery::run(delivery::Settings {
            takt,
            deployment,
            connections,
            seconds,
            steady_rate,
            outage_rate,
            outage_seconds,
            only,
        })),
        Command::Run {
            takt,
            deployment,
            seconds,
            connections,
            only,
        } => runtime.block_on(measure::run(
            takt,
            deployment,
            seconds,
            connections,
            only.as_deref(),
        )),
    }
}
