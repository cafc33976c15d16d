//! The servers under test: `takt serve` and the bare floor, as child processes.

use std::path::Path;
use std::process::Stdio;

use anyhow::Context;
use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A server child process and its data-plane base URL.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Server {
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap_or_default()
    }

    /// User + system CPU seconds the process has used so far (Linux /proc).
    pub fn cpu_seconds(&self) -> f64 {
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", self.pid())).unwrap_or_default();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap_or_default()
            .split_whitespace()
            .collect();
        let ticks = |i: usize| {
            fields
                .get(i)
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        // Fields 14 and 15 of stat, counted after the command name; USER_HZ is 100 on Linux.
        (ticks(11) + ticks(12)) / 100.0
    }

    /// Peak resident set size in MiB (VmHWM).
    pub fn peak_rss_mib(&self) -> f64 {
        let status =
            std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let kib = status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0);
        kib / 1024.0
    }
}

async fn first_line(child: &mut Child) -> anyhow::Result<String> {
    let stdout = child.stdout.take().context("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).await?;
    Ok(line)
}

/// Starts `takt serve` on a fresh database, on ephemeral ports.
pub async fn takt(binary: &Path, deployment: &Path, db: &Path) -> anyhow::Result<Server> {
    let mut child = Command::new(binary)
        .args(["serve", "--config"])
        .arg(deployment)
        .arg("--db")
        .arg(db)
        .args([
            "--data-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .env("TAKT_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let line = first_line(&mut child).await?;
    let data = line
        .split_whitespace()
        .find_map(|w| w.strip_prefix("data="))
        .context("no listening line")?;
    Ok(Server {
        base: format!("http://{data}"),
        child,
    })
}

/// Starts this binary's `floor` mode.
pub async fn floor_process() -> anyhow::Result<Server> {
    let mut child = Command::new(std::env::current_exe()?)
        .arg("floor")
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let line = first_line(&mut child).await?;
    Ok(Server {
        base: format!("http://{}", line.trim()),
        child,
    })
}

/// The HTTP floor: read the body, answer 202 with a small JSON body.
pub async fn floor() -> anyhow::Result<()> {
    let app = Router::new().fallback(post(|_body: axum::body::Bytes| async {
        (StatusCode::ACCEPTED, "{\"status\":\"accepted\"}")
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
