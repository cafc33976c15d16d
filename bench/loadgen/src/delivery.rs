//! The end-to-end delivery benchmark: messages posted to `takt serve` are
//! delivered by a subscription to this process's sink ([`crate::sink`]),
//! which checks that every acknowledged message arrives once and in order
//! per key, and measures how long after its 202 it arrives.
//!
//! Three scenarios, each on a fresh hub and database:
//! - **max**: posting as fast as the connections allow; the delivered rate
//!   is distinct deliveries over the time from the first post to the last
//!   delivery;
//! - **steady**: a fixed rate (5,000/s by default); the lag percentiles;
//! - **outage**: the sink answers 503 for a while under a fixed rate
//!   (2,000/s); then posting stops, the sink heals, and the backlog drains.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use takt_testkit::copy_dir;

use crate::server;
use crate::sink::{self, Sink};

const KEY: &str = "bench-key";
/// Ordering keys per connection: each key belongs to one connection, whose
/// posts are sequential, so the accepted order of a key is its post order.
const KEYS_PER_WORKER: u64 = 16;

/// What the `delivery` subcommand measures.
pub struct Settings {
    pub takt: PathBuf,
    pub deployment: PathBuf,
    pub connections: usize,
    pub seconds: u64,
    pub steady_rate: u64,
    pub outage_rate: u64,
    pub outage_seconds: u64,
    pub only: Option<String>,
}

/// One scenario's figures.
struct Figures {
    accepted: u64,
    post_seconds: f64,
    delivered: usize,
    lost: usize,
    duplicated: usize,
    out_of_order: u64,
    delivered_per_second: f64,
    lag_ms: [f64; 3],
    drain: Option<(usize, f64)>,
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    println!(
        "| scenario | connections | posted at | accepted | accepted/s | delivered | lost | duplicated | out of order | delivered/s | lag p50 ms | lag p99 ms | lag max ms | backlog drained |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    let scenarios: [(&str, Option<u64>, u64); 3] = [
        ("max", None, 0),
        ("steady", Some(settings.steady_rate), 0),
        (
            "outage",
            Some(settings.outage_rate),
            settings.outage_seconds,
        ),
    ];
    for (name, rate, outage) in scenarios {
        if settings.only.as_deref().is_some_and(|o| !name.contains(o)) {
            continue;
        }
        let figures = scenario(&settings, rate, outage).await?;
        print_row(name, &settings, rate, &figures);
    }
    Ok(())
}

fn print_row(name: &str, settings: &Settings, rate: Option<u64>, f: &Figures) {
    let drained = f.drain.map_or("—".to_owned(), |(backlog, seconds)| {
        format!(
            "{backlog} in {seconds:.1} s = {:.0}/s",
            backlog as f64 / seconds
        )
    });
    println!(
        "| {name} | {} | {} | {} | {:.0} | {} | {} | {} | {} | {:.0} | {:.1} | {:.1} | {:.1} | {drained} |",
        settings.connections,
        rate.map_or("max".to_owned(), |r| format!("{r}/s")),
        f.accepted,
        f.accepted as f64 / f.post_seconds,
        f.delivered,
        f.lost,
        f.duplicated,
        f.out_of_order,
        f.delivered_per_second,
        f.lag_ms[0],
        f.lag_ms[1],
        f.lag_ms[2],
    );
}

/// The benchmark deployment plus the sink's subscription, in a fresh directory.
fn deployment(settings: &Settings, dir: &Path, sink: &str) -> anyhow::Result<PathBuf> {
    let target = dir.join("deployment");
    copy_dir(&settings.deployment, &target)?;
    let overlay = settings.deployment.join("../delivery");
    copy_dir(&overlay, &target)?;
    let file = target.join("subscriptions/bench-sink.toml");
    let text = std::fs::read_to_string(&file)?.replace("{SINK}", sink);
    std::fs::write(file, text)?;
    Ok(target)
}

async fn scenario(settings: &Settings, rate: Option<u64>, outage: u64) -> anyhow::Result<Figures> {
    let dir = std::env::temp_dir().join(format!("takt-delivery-bench-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir)?;
    let sink = Sink::new();
    let base = sink::serve(sink.clone()).await?;
    let deployment = deployment(settings, &dir, &base)?;
    let mut hub = server::takt(&settings.takt, &deployment, &dir.join("takt.db")).await?;
    let seconds = if outage > 0 { outage } else { settings.seconds };
    sink.down.store(outage > 0, Ordering::Relaxed);
    let started = Instant::now();
    let accepted = post_for(&hub.base, &sink, settings.connections, rate, seconds).await;
    let post_seconds = started.elapsed().as_secs_f64();
    let drain = if outage > 0 {
        let backlog = accepted as usize - sink.delivered();
        sink.down.store(false, Ordering::Relaxed);
        let healed = Instant::now();
        wait_for(&sink, accepted as usize).await;
        Some((backlog, healed.elapsed().as_secs_f64()))
    } else {
        wait_for(&sink, accepted as usize).await;
        None
    };
    let figures = figures(&sink, accepted, post_seconds, started, drain);
    hub.child.kill().await?;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(figures)
}

/// Waits until `expected` distinct messages arrived, or 30 s pass without progress.
async fn wait_for(sink: &Sink, expected: usize) {
    let mut last = (sink.delivered(), Instant::now());
    while sink.delivered() < expected {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let now = sink.delivered();
        if now != last.0 {
            last = (now, Instant::now());
        } else if last.1.elapsed() > Duration::from_secs(30) {
            eprintln!("no delivery for 30 s: {now} of {expected}");
            return;
        }
    }
}

fn figures(
    sink: &Sink,
    accepted: u64,
    post_seconds: f64,
    started: Instant,
    drain: Option<(usize, f64)>,
) -> Figures {
    let acked = sink.acked.lock().map(|a| a.clone()).unwrap_or_default();
    let Ok(mut books) = sink.books.lock() else {
        unreachable!("the sink's books are never poisoned: nothing panics holding them")
    };
    let lost = acked
        .keys()
        .filter(|id| !books.seen.contains_key(*id))
        .count();
    let duplicated = books.seen.values().filter(|c| **c > 1).count();
    let span = books.last_at.map_or(f64::INFINITY, |last| {
        last.duration_since(started).as_secs_f64()
    });
    books.lag_us.sort_unstable();
    let pick = |p: f64| {
        let lags = &books.lag_us;
        if lags.is_empty() {
            return 0.0;
        }
        lags[((lags.len() - 1) as f64 * p).round() as usize] as f64 / 1000.0
    };
    Figures {
        accepted,
        post_seconds,
        delivered: books.seen.len(),
        lost,
        duplicated,
        out_of_order: books.out_of_order,
        delivered_per_second: books.seen.len() as f64 / span,
        lag_ms: [pick(0.5), pick(0.99), pick(1.0)],
        drain,
    }
}

/// Posts from `connections` workers for `seconds`, at `rate` in all (none:
/// as fast as they can); returns how many the hub acknowledged.
async fn post_for(
    base: &str,
    sink: &Arc<Sink>,
    connections: usize,
    rate: Option<u64>,
    seconds: u64,
) -> u64 {
    let template = Arc::new(template());
    let stop = Arc::new(AtomicBool::new(false));
    let interval = rate.map(|r| Duration::from_secs_f64(connections as f64 / r as f64));
    let workers: Vec<_> = (0..connections)
        .map(|worker| {
            let job = Producer {
                url: format!("{base}/v1/events"),
                template: template.clone(),
                sink: sink.clone(),
                stop: stop.clone(),
                worker,
                interval,
            };
            tokio::spawn(job.run())
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(seconds)).await;
    stop.store(true, Ordering::Relaxed);
    let mut accepted = 0;
    for worker in workers {
        accepted += worker.await.unwrap_or(0);
    }
    accepted
}

/// A consumption whose id, order and sequence number are placeholders.
fn template() -> String {
    let text =
        include_str!("../../../contracts/mfg.material.consumed.v1/examples/valid-lot-managed.json");
    let mut message: Value = serde_json::from_str(text).unwrap_or_default();
    message["id"] = Value::from("{ID}");
    message["subject"] = Value::from("productionorder/1010/{ORDER}");
    message["partitionkey"] = Value::from("1010/{ORDER}");
    message["correlationid"] = Value::from("productionorder/1010/{ORDER}");
    message["data"]["orderId"] = Value::from("{ORDER}");
    message["data"]["consumptionId"] = Value::from("W{WORKER}-{N}");
    serde_json::to_string(&message).unwrap_or_default()
}

/// One connection posting distinct consumptions one after the other.
struct Producer {
    url: String,
    template: Arc<String>,
    sink: Arc<Sink>,
    stop: Arc<AtomicBool>,
    worker: usize,
    interval: Option<Duration>,
}

impl Producer {
    async fn run(self) -> u64 {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .unwrap_or_default();
        let mut next = tokio::time::Instant::now();
        let (mut accepted, mut n) = (0, 0u64);
        while !self.stop.load(Ordering::Relaxed) {
            n += 1;
            let id = crate::uuid7(self.worker, 0, n);
            let order = format!("9{:03}{:02}", self.worker, n % KEYS_PER_WORKER);
            let body = self
                .template
                .replace("{ID}", &id)
                .replace("{ORDER}", &order)
                .replace("{WORKER}", &self.worker.to_string())
                .replace("{N}", &n.to_string());
            // Retried unchanged until answered, so the post order is the accepted order.
            while !self.post(&client, &body).await {
                if self.stop.load(Ordering::Relaxed) {
                    return accepted;
                }
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            if let Ok(mut acked) = self.sink.acked.lock() {
                acked.insert(id, Instant::now());
            }
            accepted += 1;
            if let Some(interval) = self.interval {
                next += interval;
                tokio::time::sleep_until(next).await;
            }
        }
        accepted
    }

    async fn post(&self, client: &reqwest::Client, body: &str) -> bool {
        let answer = client
            .post(&self.url)
            .bearer_auth(KEY)
            .header("content-type", "application/cloudevents+json")
            .body(body.to_owned())
            .send()
            .await;
        match answer {
            Ok(r) if r.status().as_u16() == 202 => true,
            Ok(r) => {
                if r.status().as_u16() != 503 {
                    eprintln!("unexpected answer {}", r.status());
                }
                false
            }
            Err(_) => false,
        }
    }
}
