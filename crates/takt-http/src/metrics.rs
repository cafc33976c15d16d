//! Prometheus metrics: one recorder per process, rendered at `/metrics`.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Latency buckets in seconds: 0.5 ms to 10 s.
const LATENCY: [f64; 14] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0,
];
/// Commits per group-commit transaction.
const BATCH: [f64; 10] = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Installs the process-wide Prometheus recorder (once) and returns its
/// handle; `None` if another recorder was installed first.
pub fn install() -> Option<PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY)
                .and_then(|b| {
                    b.set_buckets_for_metric(Matcher::Full("takt_commit_batch_size".into()), &BATCH)
                })
                .ok()?;
            let handle = builder.install_recorder().ok()?;
            describe();
            Some(handle)
        })
        .clone()
}

/// Keeps histograms bounded: call every few seconds.
pub async fn upkeep(handle: PrometheusHandle) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        handle.run_upkeep();
    }
}

fn describe() {
    metrics::describe_counter!(
        "takt_requests_total",
        "Data-plane requests by route and outcome (accepted, replayed, or the problem code)."
    );
    metrics::describe_counter!(
        "takt_messages_accepted_total",
        "Messages newly stored, by interface and contract."
    );
    metrics::describe_counter!(
        "takt_idempotent_replays_total",
        "Requests answered with an earlier answer (same key, or same source and id)."
    );
    metrics::describe_histogram!(
        "takt_request_duration_seconds",
        metrics::Unit::Seconds,
        "Data-plane request latency, from authentication to the durable answer."
    );
    metrics::describe_histogram!(
        "takt_commit_batch_size",
        "Commits written in one group-commit transaction."
    );
    metrics::describe_histogram!(
        "takt_commit_duration_seconds",
        metrics::Unit::Seconds,
        "Duration of one group-commit transaction, fsync included."
    );
}
