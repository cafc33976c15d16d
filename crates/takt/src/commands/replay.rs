//! `takt replay SUBSCRIPTION …`: starts a replay on a running hub and
//! follows it with a progress bar (scanned log positions, with an ETA)
//! until every selected message was handed to the subscription's worker.

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use serde::Deserialize;
use serde_json::json;

use crate::Outcome;
use crate::admin::AdminClient;
use crate::cli::ReplayArgs;
use crate::output::Output;

/// How often a running job is looked at.
const POLL: Duration = Duration::from_millis(200);

/// A job, as `GET /v1/replays/{id}` shows it.
#[derive(Deserialize)]
struct Job {
    id: String,
    state: String,
    head: u64,
    scanned_to: u64,
    matched: u64,
    replayed: u64,
    skipped: u64,
    error: Option<String>,
}

/// Starts the replay, then follows it unless `--no-wait`.
pub fn run(args: &ReplayArgs, out: &Output) -> anyhow::Result<Outcome> {
    let client = AdminClient::new(&args.admin)?;
    let body = json!({
        "from": args.from.map(|t| t.to_rfc3339()),
        "to": args.to.map(|t| t.to_rfc3339()),
        "key": args.key,
        "types": args.types,
    });
    let mut answer = client.post(&["v1", "deliveries", &args.subscription, "replay"], &body)?;
    let mut job: Job = serde_json::from_value(answer.clone())?;
    if !args.no_wait {
        let bar = (!out.is_json()).then(|| progress(&job));
        while job.state == "running" {
            std::thread::sleep(POLL);
            answer = client.get(&["v1", "replays", &job.id], &[])?;
            job = serde_json::from_value(answer.clone())?;
            if let Some(bar) = &bar {
                bar.set_position(job.scanned_to.min(job.head));
                bar.set_message(format!("{} replayed", job.replayed));
            }
        }
        if let Some(bar) = bar {
            bar.finish_and_clear();
        }
    }
    if out.is_json() {
        out.json(&answer)?;
    } else {
        summary(&job, &args.subscription);
    }
    Ok(if job.state == "failed" {
        Outcome::Failed
    } else {
        Outcome::Passed
    })
}

fn progress(job: &Job) -> ProgressBar {
    let bar = ProgressBar::new(job.head);
    let style = ProgressStyle::with_template(
        "{spinner} replay {bar:40} {pos}/{len} log positions, {msg}, ETA {eta}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn summary(job: &Job, subscription: &str) {
    match job.state.as_str() {
        "running" => crate::say!(
            "replay {} started on {subscription}; follow it with GET /v1/replays/{}",
            job.id,
            job.id
        ),
        "failed" => crate::say!(
            "replay {} failed after {} of {} log positions: {}",
            job.id,
            job.scanned_to,
            job.head,
            job.error.as_deref().unwrap_or("unknown error")
        ),
        _ => crate::say!(
            "replay {} done: {} selected, {} go out again on {subscription}, {} left alone (not delivered yet, waiting, dead-lettered, in doubt or discarded)",
            job.id,
            job.matched,
            job.replayed,
            job.skipped
        ),
    }
}
