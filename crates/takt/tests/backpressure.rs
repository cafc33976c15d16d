//! Back-pressure through `takt serve` (DESIGN §5, "Bounded"): a
//! subscription whose backlog is over its limit makes its producers wait
//! (503 + `Retry-After`, naming the subscription) while other contracts
//! still flow, and lets them in again once it drained, with every accepted
//! message delivered once; a store over its quota answers 507.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};
use takt_testkit::{Erp, Fault, Hub, copy_dir, eventually, example, repository, start_hub};

const KEY: &str = "acme-demo-mes-plant1010";
const WAIT: Duration = Duration::from_secs(30);

/// The acme deployment with its ERP subscription pointed at `erp`, a
/// backlog limit of `limit`, and `takt_toml` appended to takt.toml.
fn deployment(dir: &Path, erp: &Erp, limit: u64, takt_toml: &str) -> PathBuf {
    let config = dir.join("acme");
    copy_dir(&repository().join("examples/acme"), &config).unwrap();
    let file = config.join("subscriptions/erp-goods-movements.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    let text = text
        .replace("http://127.0.0.1:9100", &erp.url())
        .replace("max_attempts = 10", "max_attempts = 1000")
        .replace(
            "base_ms = 500, max_ms = 60000",
            "base_ms = 50, max_ms = 200",
        )
        .replace("failures = 5", "failures = 0");
    std::fs::write(
        &file,
        format!("{text}backlog = {{ max_messages = {limit} }}\n"),
    )
    .unwrap();
    let settings = config.join("takt.toml");
    let mut text = std::fs::read_to_string(&settings).unwrap();
    text.push_str(takt_toml);
    std::fs::write(settings, text).unwrap();
    config
}

/// Consumption `n` of one production order (a new event id each).
fn consumption(n: u64) -> Value {
    let mut event = example("mfg.material.consumed.v1", "valid-lot-managed.json");
    event["id"] = json!(format!("0193a3f0-6c2e-7b1a-9d4e-{n:012x}"));
    event
}

/// Posts `event`; the status, `Retry-After` and body.
async fn post(hub: &Hub, event: &Value) -> (u16, Option<String>, Value) {
    let answer = reqwest::Client::new()
        .post(format!("{}/v1/events", hub.data))
        .bearer_auth(KEY)
        .header("content-type", "application/cloudevents+json")
        .body(event.to_string())
        .send()
        .await
        .unwrap();
    let status = answer.status().as_u16();
    let retry_after = answer
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        retry_after,
        answer.json().await.unwrap_or(Value::Null),
    )
}

/// Posts `event` every 200 ms until `done(status)` or [`WAIT`] has passed
/// (the backlog and the store are measured every second); the last answer.
async fn post_until(
    hub: &Hub,
    event: &Value,
    done: impl Fn(u16) -> bool,
) -> (u16, Option<String>, Value) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let answer = post(hub, event).await;
        if done(answer.0) || tokio::time::Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_backlog_holds_back_its_producers_until_it_drains() {
    let dir = tempfile::tempdir().unwrap();
    let erp = Erp::start(true).await;
    erp.fail_all(Fault::Status(503));
    let config = deployment(dir.path(), &erp, 5, "");
    let mut hub = start_hub(
        Path::new(env!("CARGO_BIN_EXE_takt")),
        &config,
        &dir.path().join("takt.db"),
    );
    for n in 1..=5 {
        assert_eq!(post(&hub, &consumption(n)).await.0, 202, "under the limit");
    }
    // Accepted until the next measurement finds the backlog full.
    let (status, retry_after, problem) = post_until(&hub, &consumption(6), |s| s != 202).await;
    assert_eq!(status, 503, "the sixth waits: {problem}");
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert_eq!(problem["type"], "urn:takt:problem:unavailable");
    assert_eq!(problem["errors"][0]["pointer"], "/type");
    assert_eq!(problem["errors"][0]["rule"], "backlog");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("erp-goods-movements") && detail.contains("limit of 5"),
        "{detail}"
    );

    let other = example(
        "mfg.operation.completed.v1",
        "valid-partial-with-scrap.json",
    );
    assert_eq!(
        post(&hub, &other).await.0,
        202,
        "a contract the full subscription does not take still flows"
    );

    erp.heal();
    let (status, _, problem) = post_until(&hub, &consumption(6), |s| s == 202).await;
    assert_eq!(
        status, 202,
        "accepted again once the backlog drained: {problem}"
    );
    assert!(
        eventually(WAIT, || erp.effects().len() == 6).await,
        "{} of 6 posted",
        erp.effects().len()
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        erp.effects().len(),
        6,
        "each accepted consumption posted once"
    );
    hub.child.kill().unwrap();
    hub.child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_store_over_its_quota_answers_507() {
    let dir = tempfile::tempdir().unwrap();
    let erp = Erp::start(true).await;
    let config = deployment(dir.path(), &erp, 1000, "\n[quota]\nstore_bytes = 1\n");
    let mut hub = start_hub(
        Path::new(env!("CARGO_BIN_EXE_takt")),
        &config,
        &dir.path().join("takt.db"),
    );
    let (status, retry_after, problem) = post_until(&hub, &consumption(1), |s| s != 202).await;
    assert_eq!(status, 507, "{problem}");
    assert_eq!(retry_after.as_deref(), Some("60"));
    assert_eq!(problem["type"], "urn:takt:problem:insufficient_storage");
    assert!(
        problem["detail"].as_str().unwrap().contains("quota of 1"),
        "{problem}"
    );
    hub.child.kill().unwrap();
    hub.child.wait().unwrap();
}
