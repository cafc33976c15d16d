//! `takt status`: each subscription's delivery state on a running hub.

use serde::Deserialize;
use serde_json::Value;

use crate::Outcome;
use crate::admin::AdminClient;
use crate::cli::StatusArgs;
use crate::output::{Output, duration_ms, table};

/// One subscription, as `GET /v1/deliveries/status` shows it.
#[derive(Deserialize)]
struct Row {
    subscription: String,
    destination: String,
    cursor: i64,
    in_flight: u64,
    pending: u64,
    dead_lettered: u64,
    in_doubt: u64,
    backlog: u64,
    circuit: String,
    lag_seconds: f64,
}

#[derive(Deserialize)]
struct Status {
    subscriptions: Vec<Row>,
}

/// Prints the status table, or with `--json` the hub's answer as it is.
pub fn run(args: &StatusArgs, out: &Output) -> anyhow::Result<Outcome> {
    let client = AdminClient::new(&args.admin)?;
    let body: Value = client.get(&["v1", "deliveries", "status"], &[])?;
    if out.is_json() {
        out.json(&body)?;
        return Ok(Outcome::Passed);
    }
    let status: Status = serde_json::from_value(body)?;
    if status.subscriptions.is_empty() {
        crate::say!("no subscription is configured");
        return Ok(Outcome::Passed);
    }
    let rows: Vec<Vec<String>> = status
        .subscriptions
        .iter()
        .map(|s| {
            vec![
                s.subscription.clone(),
                s.destination.clone(),
                s.cursor.to_string(),
                s.in_flight.to_string(),
                s.pending.to_string(),
                s.dead_lettered.to_string(),
                s.in_doubt.to_string(),
                s.backlog.to_string(),
                s.circuit.clone(),
                // Whole milliseconds are precise enough for a lag.
                duration_ms((s.lag_seconds * 1000.0) as i64),
            ]
        })
        .collect();
    table(
        &[
            "SUBSCRIPTION",
            "DESTINATION",
            "CURSOR",
            "IN FLIGHT",
            "PENDING",
            "DEAD-LETTERED",
            "IN DOUBT",
            "BACKLOG",
            "CIRCUIT",
            "LAG",
        ],
        &rows,
    );
    Ok(Outcome::Passed)
}
