//! `takt catalog readiness CONTRACT[@VERSION] [--days N]`: who still used a
//! contract version on a running hub, from `GET /v1/catalog/readiness`.

use serde::Deserialize;

use crate::Outcome;
use crate::admin::AdminClient;
use crate::cli::ReadinessArgs;
use crate::output::{Output, table, time_ms};

#[derive(Deserialize)]
struct Report {
    contract: String,
    version: Option<String>,
    days: u32,
    standing: Standing,
    producers: Vec<Producer>,
    consumers: Vec<Consumer>,
}

#[derive(Deserialize)]
struct Standing {
    state: String,
    sunset_on: Option<String>,
    replacement: Option<String>,
}

#[derive(Deserialize)]
struct Producer {
    principal: String,
    interface: String,
    version: String,
    count: u64,
    last_seen_ms: i64,
}

#[derive(Deserialize)]
struct Consumer {
    subscription: String,
    destination: String,
    owner: String,
}

/// Prints who sent the version and who receives it; `--json` prints the hub's answer.
pub fn run(args: &ReadinessArgs, out: &Output) -> anyhow::Result<Outcome> {
    let (contract, version) = match args.target.split_once('@') {
        Some((contract, version)) => (contract, Some(version)),
        None => (args.target.as_str(), None),
    };
    let mut query = vec![
        ("contract", contract.to_owned()),
        ("days", args.days.to_string()),
    ];
    query.extend(version.map(|v| ("version", v.to_owned())));
    let client = AdminClient::new(&args.admin)?;
    let body = client.get(&["v1", "catalog", "readiness"], &query)?;
    if out.is_json() {
        out.json(&body)?;
        return Ok(Outcome::Passed);
    }
    let report: Report = serde_json::from_value(body)?;
    print(&report);
    Ok(Outcome::Passed)
}

fn print(r: &Report) {
    let name = match &r.version {
        Some(v) => format!("{}@{v}", r.contract),
        None => r.contract.clone(),
    };
    let sunset = r
        .standing
        .sunset_on
        .as_deref()
        .map(|d| format!(", sunset {d}"))
        .unwrap_or_default();
    let replacement = r
        .standing
        .replacement
        .as_deref()
        .map(|c| format!(", replaced by {c}"))
        .unwrap_or_default();
    crate::say!("{name}: {}{sunset}{replacement}", r.standing.state);
    if r.producers.is_empty() {
        crate::say!("no one sent it in the last {} days", r.days);
    } else {
        crate::say!("sent in the last {} days by:", r.days);
        let rows: Vec<Vec<String>> = r
            .producers
            .iter()
            .map(|p| {
                vec![
                    p.principal.clone(),
                    p.interface.clone(),
                    p.version.clone(),
                    p.count.to_string(),
                    time_ms(p.last_seen_ms),
                ]
            })
            .collect();
        table(
            &["PRINCIPAL", "INTERFACE", "VERSION", "MESSAGES", "LAST SEEN"],
            &rows,
        );
    }
    if r.consumers.is_empty() {
        crate::say!("no subscription delivers it");
    } else {
        crate::say!("delivered by:");
        let rows: Vec<Vec<String>> = r
            .consumers
            .iter()
            .map(|c| {
                vec![
                    c.subscription.clone(),
                    c.destination.clone(),
                    c.owner.clone(),
                ]
            })
            .collect();
        table(&["SUBSCRIPTION", "DESTINATION", "OWNER"], &rows);
    }
}
