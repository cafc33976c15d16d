//! `takt replay`: delivered messages go out once more through the real
//! binary, and the admin API answers the job's progress.

use std::time::Duration;

use serde_json::{Value, json};
use takt_testkit::{Hub, eventually, get_json};

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_replay_delivered_messages_with_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (mut hub, erp) = hub_and_erp(dir.path(), false).await;
    post_consumptions(&hub, 3).await;
    assert!(eventually(WAIT, || erp.effects().len() == 3).await);

    // The whole history of one type: every consumption goes out again.
    let job = run_json(
        &hub,
        &format!("replay {SUBSCRIPTION} --type mfg.material.consumed.v1"),
    )
    .await;
    assert_eq!(job["state"], "done", "{job}");
    assert_eq!(
        (job["matched"].as_u64(), job["replayed"].as_u64()),
        (Some(3), Some(3)),
        "{job}"
    );
    assert!(eventually(WAIT, || erp.effects().len() == 6).await);
    for order in 1..=3 {
        assert_eq!(
            postings(&erp, &id_of(order)),
            2,
            "order {order}: the same key, once more"
        );
    }
    let marked = erp
        .attempts()
        .iter()
        .filter(|a| a.headers.contains_key("takt-replay"))
        .count();
    assert_eq!(marked, 3, "only the replayed posts are marked");

    // One production order, in text: a summary line.
    let order = consumption(2)["data"]["orderId"]
        .as_str()
        .unwrap()
        .to_owned();
    let text = run(
        &hub,
        &format!("replay {SUBSCRIPTION} --key order:{order}"),
        0,
    )
    .await;
    assert!(text.contains("1 selected, 1 go out again"), "{text}");
    assert!(eventually(WAIT, || postings(&erp, &id_of(2)) == 3).await);

    // Mistakes name the field; the job list keeps what ran.
    let output = takt(
        &hub,
        OPS,
        &[
            "replay",
            SUBSCRIPTION,
            "--type",
            "mfg.operation.completed.v1",
        ],
    )
    .await;
    exits(&output, 3);
    assert!(
        stderr(&output).contains("field `types`"),
        "{}",
        stderr(&output)
    );
    let output = takt(&hub, OPS, &["replay", SUBSCRIPTION, "--from", "yesterday"]).await;
    exits(&output, 2);
    assert!(stderr(&output).contains("RFC 3339"), "{}", stderr(&output));
    let jobs = get_json(&format!("{}/v1/replays", hub.admin), OPS).await;
    assert_eq!(jobs["items"].as_array().map(Vec::len), Some(2), "{jobs}");
    hub.child.kill().unwrap();
    hub.child.wait().unwrap();
}

/// The job at `location` once it is no longer running.
async fn finished(hub: &Hub, location: &str) -> Value {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let status = get_json(&format!("{}{location}", hub.admin), OPS).await;
        if status["state"] != "running" || tokio::time::Instant::now() > deadline {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_starts_a_replay_and_shows_its_progress() {
    let dir = tempfile::tempdir().unwrap();
    let (mut hub, erp) = hub_and_erp(dir.path(), false).await;
    post_consumptions(&hub, 2).await;
    assert!(eventually(WAIT, || erp.effects().len() == 2).await);
    let http = reqwest::Client::new();
    let url = format!("{}/v1/deliveries/{SUBSCRIPTION}/replay", hub.admin);
    let answer = http
        .post(&url)
        .bearer_auth(OPS)
        .json(&json!({"from": "2000-01-01T00:00:00Z"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);
    let location = answer.headers()["location"].to_str().unwrap().to_owned();
    let started: Value = answer.json().await.unwrap();
    assert_eq!(
        location,
        format!("/v1/replays/{}", started["id"].as_str().unwrap())
    );
    let status = finished(&hub, &location).await;
    assert_eq!(status["state"], "done", "{status}");
    assert_eq!(status["replayed"], 2, "{status}");
    assert_eq!(status["principal"], "ops-oncall", "{status}");
    assert!(eventually(WAIT, || erp.effects().len() == 4).await);

    for (body, field) in [
        (json!({"from": "noon"}), "field `from`"),
        (json!({"key": "no-colon"}), "field `key`"),
        (
            json!({"from": "2026-11-21T00:00:00Z", "to": "2026-11-20T00:00:00Z"}),
            "field `to`",
        ),
        (json!({"typo": 1}), "unknown field"),
    ] {
        let answer = http
            .post(&url)
            .bearer_auth(OPS)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(answer.status(), 400, "{body}");
        let problem: Value = answer.json().await.unwrap();
        assert!(
            problem["detail"].as_str().unwrap().contains(field),
            "{problem}"
        );
    }
    let system = http
        .post(&url)
        .bearer_auth(MES)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(system.status(), 403, "only operators replay");
    hub.child.kill().unwrap();
    hub.child.wait().unwrap();
}
