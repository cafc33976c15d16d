//! Posting distinct messages at a given concurrency and summarising.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::server::{self, Server};

const KEY: &str = "bench-key";

/// What is posted, and where.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Workload {
    /// Canonical CloudEvents to `/v1/events`.
    Canonical,
    /// Native goods issues to `/v1/interfaces/bench-production/messages` (jq mapping + unit conversion).
    Native,
}

impl Workload {
    fn path(self) -> &'static str {
        match self {
            Self::Canonical => "/v1/events",
            Self::Native => "/v1/interfaces/bench-production/messages",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Self::Canonical => "application/cloudevents+json",
            Self::Native => "application/json",
        }
    }

    /// A distinct message for (step, worker, n): a valid UUIDv7 (or document
    /// number) that no other step or worker uses.
    fn body(self, template: &str, step: usize, worker: usize, n: u64) -> String {
        match self {
            Self::Canonical => template.replace("{ID}", &crate::uuid7(worker, step, n)),
            Self::Native => template.replace("{DOC}", &format!("B{step:02}{worker:03}{n:09}")),
        }
    }
}

fn canonical_template() -> anyhow::Result<String> {
    let text = std::fs::read_to_string(
        "contracts/mfg.material.consumed.v1/examples/valid-lot-managed.json",
    )?;
    let mut message: Value = serde_json::from_str(&text)?;
    message["id"] = Value::from("{ID}");
    Ok(serde_json::to_string(&message)?)
}

fn native_template() -> String {
    r#"{"MBLNR":"{DOC}","WERKS":"1010","AUFNR":"100012345","VORNR":"0010","MATNR":"RM-4711","CHARG":"L2026-1187","MENGE":"25.5","MEINS":"LB","LGORT":"0001","BUDAT":"2026-11-26T08:00:00Z"}"#.to_owned()
}

/// One step's results.
struct Step {
    accepted: u64,
    errors: u64,
    seconds: f64,
    latencies_us: Vec<u32>,
    cpu_seconds: f64,
    peak_rss_mib: f64,
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    f64::from(sorted[index]) / 1000.0
}

async fn worker(
    base: String,
    workload: Workload,
    template: Arc<String>,
    (step, id): (usize, usize),
    measuring: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
) -> (u64, u64, Vec<u32>) {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(1)
        .build()
        .unwrap_or_default();
    let url = format!("{base}{}", workload.path());
    let (mut accepted, mut errors, mut latencies) = (0, 0, Vec::with_capacity(100_000));
    let mut first_error = None;
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let body = workload.body(&template, step, id, n);
        let started = Instant::now();
        let response = client
            .post(&url)
            .bearer_auth(KEY)
            .header("content-type", workload.content_type())
            .body(body)
            .send()
            .await;
        let ok = match response {
            Ok(r) => {
                let status = r.status();
                let body = r.bytes().await.unwrap_or_default();
                if status.as_u16() != 202 && first_error.is_none() {
                    first_error = Some(format!("{status}: {}", String::from_utf8_lossy(&body)));
                }
                status.as_u16() == 202
            }
            Err(e) => {
                first_error.get_or_insert_with(|| e.to_string());
                false
            }
        };
        if measuring.load(Ordering::Relaxed) {
            latencies.push(u32::try_from(started.elapsed().as_micros()).unwrap_or(u32::MAX));
            if ok { accepted += 1 } else { errors += 1 }
        }
    }
    if let Some(error) = first_error {
        eprintln!("worker {id}: first error: {error}");
    }
    (accepted, errors, latencies)
}

async fn step(
    server: &Server,
    workload: Workload,
    template: &Arc<String>,
    (number, connections): (usize, usize),
    seconds: u64,
) -> Step {
    let measuring = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let tasks: Vec<_> = (0..connections)
        .map(|id| {
            tokio::spawn(worker(
                server.base.clone(),
                workload,
                template.clone(),
                (number, id),
                measuring.clone(),
                stop.clone(),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let cpu_before = server.cpu_seconds();
    let started = Instant::now();
    measuring.store(true, Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    measuring.store(false, Ordering::Relaxed);
    let elapsed = started.elapsed().as_secs_f64();
    let cpu_seconds = server.cpu_seconds() - cpu_before;
    stop.store(true, Ordering::Relaxed);
    let (mut accepted, mut errors, mut latencies_us) = (0, 0, Vec::new());
    for task in tasks {
        if let Ok((a, e, l)) = task.await {
            accepted += a;
            errors += e;
            latencies_us.extend(l);
        }
    }
    latencies_us.sort_unstable();
    Step {
        accepted,
        errors,
        seconds: elapsed,
        latencies_us,
        cpu_seconds,
        peak_rss_mib: server.peak_rss_mib(),
    }
}

fn row(target: &str, connections: usize, s: &Step) {
    let rate = s.accepted as f64 / s.seconds;
    let cpu_per_1000 = if s.accepted == 0 {
        0.0
    } else {
        s.cpu_seconds * 1000.0 / s.accepted as f64 * 1000.0
    };
    println!(
        "| {target} | {connections} | {rate:.0} | {:.2} | {:.2} | {:.2} | {} | {cpu_per_1000:.1} | {:.1} |",
        percentile(&s.latencies_us, 0.50),
        percentile(&s.latencies_us, 0.99),
        percentile(&s.latencies_us, 0.999),
        s.errors,
        s.peak_rss_mib
    );
}

pub async fn run(
    takt: PathBuf,
    deployment: PathBuf,
    seconds: u64,
    connections: Vec<usize>,
    only: Option<&str>,
) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("takt-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    println!(
        "| target | connections | accepted/s | p50 ms | p99 ms | p999 ms | errors | server CPU ms / 1000 | server peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let canonical = Arc::new(canonical_template()?);
    let native = Arc::new(native_template());
    let targets: [(&str, Workload, &Arc<String>); 3] = [
        ("bare axum 202 (floor)", Workload::Canonical, &canonical),
        (
            "takt: canonical event, durable",
            Workload::Canonical,
            &canonical,
        ),
        (
            "takt: native + jq + units, durable",
            Workload::Native,
            &native,
        ),
    ];
    for (index, (name, workload, template)) in targets.into_iter().enumerate() {
        if only.is_some_and(|only| !name.contains(only)) {
            continue;
        }
        let mut server = match index {
            0 => server::floor_process().await?,
            _ => server::takt(&takt, &deployment, &dir.join(format!("takt-{index}.db"))).await?,
        };
        for (number, &c) in connections.iter().enumerate() {
            let result = step(&server, workload, template, (number, c), seconds).await;
            row(name, c, &result);
        }
        server.child.kill().await?;
    }
    std::fs::remove_dir_all(&dir)?;
    Ok(())
}
