//! The operator's command line (`takt dlq …`, `takt status`, `takt replay`)
//! against a real `takt serve` delivering to the simulated ERP: through the
//! real binary, its output and its exit codes.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod dlq;
mod replay;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use serde_json::{Value, json};
use takt_testkit::{Erp, Hub, copy_dir, get_json, repository, start_hub};

/// How long a test waits for the hub.
pub(crate) const WAIT: Duration = Duration::from_secs(20);
pub(crate) const MES: &str = "acme-demo-mes-plant1010";
pub(crate) const OPS: &str = "acme-demo-ops-oncall";
pub(crate) const SUBSCRIPTION: &str = "erp-goods-movements";
pub(crate) const MIRROR: &str = "erp-goods-movements-mirror";

/// The acme deployment, its ERP subscription pointed at `erp`; with
/// `mirror`, a second subscription of the same events to the same ERP, so
/// each event has a record per subscription under one seq.
pub(crate) fn deployment(dir: &Path, erp: &Erp, mirror: bool) -> PathBuf {
    let config = dir.join("acme");
    copy_dir(&repository().join("examples/acme"), &config).unwrap();
    let file = config.join("subscriptions/erp-goods-movements.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("http://127.0.0.1:9100") && text.contains("base_ms = 500"));
    let text = text
        .replace("http://127.0.0.1:9100", &erp.url())
        .replace("timeout_ms = 5000", "timeout_ms = 2000")
        .replace("base_ms = 500", "base_ms = 50");
    if mirror {
        let copy = text.replace(
            &format!("name = \"{SUBSCRIPTION}\""),
            &format!("name = \"{MIRROR}\""),
        );
        std::fs::write(config.join(format!("subscriptions/{MIRROR}.toml")), copy).unwrap();
    }
    std::fs::write(file, text).unwrap();
    config
}

/// A hub delivering to a fresh ERP that cannot de-duplicate, so every
/// posting the ERP makes is one business effect: a second post would show.
pub(crate) async fn hub_and_erp(dir: &Path, mirror: bool) -> (Hub, Erp) {
    let erp = Erp::start(false).await;
    let config = deployment(dir, &erp, mirror);
    let hub = start_hub(
        Path::new(env!("CARGO_BIN_EXE_takt")),
        &config,
        &dir.join("takt.db"),
    );
    (hub, erp)
}

/// A consumption for production order `order` (each order is its own key).
pub(crate) fn consumption(order: u64) -> Value {
    let order_id = format!("1000124{order:02}");
    json!({
        "specversion": "1.0", "id": format!("0193a3f0-6c2e-7b1a-9e00-{order:012x}"),
        "source": "urn:takt:site:1010:mes:mes01", "type": "mfg.material.consumed.v1",
        "time": "2026-11-20T08:15:30Z", "subject": format!("productionorder/1010/{order_id}"),
        "datacontenttype": "application/json", "dataschema": "urn:takt:schema:mfg.material.consumed.v1:1.0",
        "partitionkey": format!("1010/{order_id}"), "siteid": "1010",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "recordedtime": "2026-11-20T08:15:31.204Z", "correlationid": format!("productionorder/1010/{order_id}"),
        "causationid": "0193a3f0-6c2e-7b1a-9d4e-2f5a6b7c8d90",
        "data": {"consumptionId": format!("MES01-C-{order}"), "siteId": "1010", "orderId": order_id,
                 "operationId": "0010", "materialId": "RM-4711", "qty": {"value": "1.000", "uom": "KGM"},
                 "occurredAt": "2026-11-20T08:15:30Z"}
    })
}

/// Posts `orders` consumptions as one batch.
pub(crate) async fn post_consumptions(hub: &Hub, orders: u64) {
    let batch: Vec<Value> = (1..=orders).map(consumption).collect();
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/events", hub.data))
        .bearer_auth(MES)
        .header("content-type", "application/cloudevents-batch+json")
        .body(Value::from(batch).to_string())
        .send()
        .await
        .unwrap();
    let status = answer.status();
    assert!(
        status.is_success(),
        "{status}: {}",
        answer.text().await.unwrap()
    );
}

/// Waits until the hub lists `n` dead-lettered messages.
pub(crate) async fn dead_lettered(hub: &Hub, n: usize) {
    let url = format!("{}/v1/deliveries?state=dead_lettered", hub.admin);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let listed = get_json(&url, OPS).await;
        if listed["items"].as_array().map(Vec::len) == Some(n) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "expected {n} dead-lettered: {listed}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Runs the real `takt` binary with `args` (no admin settings from the
/// environment unless `env` gives them).
pub(crate) async fn takt_env(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_takt"));
    command
        .args(args)
        .env_remove("TAKT_ADMIN_URL")
        .env_remove("TAKT_TOKEN")
        .env_remove("TAKT_CONTRACTS");
    for (name, value) in env {
        command.env(name, value);
    }
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

/// `takt <args> --admin-url <hub> --token <token>`.
pub(crate) async fn takt(hub: &Hub, token: &str, args: &[&str]) -> Output {
    let mut all = args.to_vec();
    all.extend(["--admin-url", &hub.admin, "--token", token]);
    takt_env(&all, &[]).await
}

/// `takt <words of line>` as the operator; its standard output, after
/// checking the exit code.
pub(crate) async fn run(hub: &Hub, line: &str, code: i32) -> String {
    let args: Vec<&str> = line.split_whitespace().collect();
    let output = takt(hub, OPS, &args).await;
    exits(&output, code);
    stdout(&output)
}

/// `takt --json <words of line>` as the operator, succeeding.
pub(crate) async fn run_json(hub: &Hub, line: &str) -> Value {
    let text = run(hub, &format!("--json {line}"), 0).await;
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The exit code, with the output in the message when it is not `code`.
pub(crate) fn exits(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stdout: {}\nstderr: {}",
        stdout(output),
        stderr(output)
    );
}

/// `(subscription, seq)` of each record `takt --json dlq list <filters>` shows.
pub(crate) async fn listed(hub: &Hub, filters: &str) -> Vec<(String, i64)> {
    let listed = run_json(hub, &format!("dlq list {filters}")).await;
    let records = listed.as_array().unwrap().iter();
    records
        .map(|r| {
            let subscription = r["subscription"].as_str().unwrap().to_owned();
            (subscription, r["seq"].as_i64().unwrap())
        })
        .collect()
}

/// The seqs `takt --json dlq list <filters>` shows, in order.
pub(crate) async fn listed_seqs(hub: &Hub, filters: &str) -> Vec<i64> {
    listed(hub, filters)
        .await
        .into_iter()
        .map(|(_, seq)| seq)
        .collect()
}

/// How many times the ERP posted the message with this CloudEvents id.
pub(crate) fn postings(erp: &Erp, id: &str) -> usize {
    erp.effects().iter().filter(|e| e.key == id).count()
}

pub(crate) fn id_of(order: u64) -> String {
    consumption(order)["id"].as_str().unwrap().to_owned()
}
