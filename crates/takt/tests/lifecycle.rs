//! Contract versions through `takt serve`: a deprecated version is accepted
//! with `Deprecation`, `Sunset` and `Link` (`lifecycle.toml`); a version
//! past its sunset gets 410 naming the replacement and is not stored; a
//! proposed version is refused as not active; readiness counts exactly the
//! traffic sent; a nonsensical lifecycle file stops the hub; and v1 and v2
//! live side by side (`conversions.toml`), each consumer receiving its own.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use takt_testkit::{Erp, Hub, copy_dir, eventually, example, get_json, repository, start_hub};

const MES: &str = "acme-demo-mes-plant1010";
const OPS: &str = "acme-demo-ops-oncall";

const LIFECYCLE: &str = r#"
[[contracts]]
contract = "mfg.material.consumed.v1"
state = "deprecated"
deprecated_on = 2026-11-01
sunset_on = 2099-06-30
replacement = "mfg.material.consumed.v2"
migration = "https://wiki.acme.example/takt/consumed-v2"

[[contracts]]
contract = "mfg.operation.completed.v1"
version = "1.0"
state = "active"
deprecated_on = 2025-01-01
sunset_on = 2026-01-01
replacement = "mfg.material.consumed.v2"

[[contracts]]
contract = "mfg.material.consumed.v2"
state = "proposed"
"#;

/// The acme deployment with a v2 of the consumption contract (a copy of
/// v1), which the plant-1010 interface may send, and `lifecycle`.
fn deployment(dir: &Path, lifecycle: &str) -> PathBuf {
    let config = dir.join("acme");
    copy_dir(&repository().join("examples/acme"), &config).unwrap();
    let v2 = config.join("contracts/mfg.material.consumed.v2");
    std::fs::create_dir_all(&v2).unwrap();
    let schema = std::fs::read_to_string(
        repository().join("contracts/mfg.material.consumed.v1/1.0.schema.json"),
    )
    .unwrap();
    // v2 renames `qty` to `quantity`.
    let schema = schema
        .replace("consumed.v1:1.0", "consumed.v2:2.0")
        .replace("consumed.v1", "consumed.v2")
        .replace("\"qty\"", "\"quantity\"");
    std::fs::write(v2.join("2.0.schema.json"), schema).unwrap();
    let interface = config.join("interfaces/mes1010-production.toml");
    let text = std::fs::read_to_string(&interface).unwrap().replacen(
        "\"mfg.material.consumed.v1\",",
        "\"mfg.material.consumed.v1\",\n    \"mfg.material.consumed.v2\",",
        1,
    );
    std::fs::write(interface, text).unwrap();
    std::fs::write(config.join("lifecycle.toml"), lifecycle).unwrap();
    config
}

fn consumption(n: u64) -> Value {
    let mut event = example("mfg.material.consumed.v1", "valid-lot-managed.json");
    event["id"] = json!(format!("0193a3f0-6c2e-7b1a-9d4e-{n:012x}"));
    event
}

/// Consumption `n` in v2's shape (`quantity` instead of `qty`).
fn consumption_v2(n: u64) -> Value {
    let mut event = consumption(n);
    event["type"] = json!("mfg.material.consumed.v2");
    event["dataschema"] = json!("urn:takt:schema:mfg.material.consumed.v2:2.0");
    let data = event["data"].as_object_mut().unwrap();
    let qty = data.remove("qty").unwrap();
    data.insert("quantity".into(), qty);
    event
}

async fn post(hub: &Hub, event: &Value) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{}/v1/events", hub.data))
        .bearer_auth(MES)
        .header("content-type", "application/cloudevents+json")
        .body(event.to_string())
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deprecated_versions_warn_retired_ones_are_gone_and_readiness_counts_traffic() {
    let dir = tempfile::tempdir().unwrap();
    let config = deployment(dir.path(), LIFECYCLE);
    let hub = start_hub(
        Path::new(env!("CARGO_BIN_EXE_takt")),
        &config,
        &dir.path().join("takt.db"),
    );

    for n in 1..=3 {
        let answer = post(&hub, &consumption(n)).await;
        assert_eq!(answer.status(), 202);
        let headers = answer.headers();
        assert_eq!(
            headers["deprecation"], "@1793491200",
            "2026-11-01, RFC 9745"
        );
        assert_eq!(
            headers["sunset"], "Tue, 30 Jun 2099 00:00:00 GMT",
            "RFC 8594"
        );
        assert_eq!(
            headers["link"],
            "<https://wiki.acme.example/takt/consumed-v2>; rel=\"deprecation\"; type=\"text/html\""
        );
    }

    let operation = example(
        "mfg.operation.completed.v1",
        "valid-partial-with-scrap.json",
    );
    let answer = post(&hub, &operation).await;
    assert_eq!(answer.status(), 410);
    let problem: Value = answer.json().await.unwrap();
    assert_eq!(problem["type"], "urn:takt:problem:gone");
    assert_eq!(problem["errors"][0]["rule"], "sunset");
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("sunset 2026-01-01") && detail.contains("use mfg.material.consumed.v2"),
        "{detail}"
    );
    let id = operation["id"].as_str().unwrap();
    let stored = reqwest::Client::new()
        .get(format!("{}/v1/messages/{id}", hub.admin))
        .bearer_auth(OPS)
        .send()
        .await
        .unwrap();
    assert_eq!(stored.status(), 404, "a refused message is not stored");

    let answer = post(&hub, &consumption_v2(9)).await;
    assert_eq!(answer.status(), 422);
    let problem: Value = answer.json().await.unwrap();
    assert_eq!(problem["errors"][0]["rule"], "lifecycle", "{problem}");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("proposed"),
        "{problem}"
    );

    let url = format!(
        "{}/v1/catalog/readiness?contract=mfg.material.consumed.v1&version=1.0&days=30",
        hub.admin
    );
    let report = get_json(&url, OPS).await;
    assert_eq!(report["standing"]["state"], "deprecated", "{report}");
    assert_eq!(
        report["producers"],
        json!([{"principal": "mes-plant1010", "interface": "mes1010-production", "version": "1.0",
                "count": 3, "last_seen_ms": report["producers"][0]["last_seen_ms"]}]),
        "exactly the three consumptions sent"
    );
    assert_eq!(
        report["consumers"][0]["subscription"], "erp-goods-movements",
        "{report}"
    );
    let cli = Command::new(env!("CARGO_BIN_EXE_takt"))
        .args([
            "catalog",
            "readiness",
            "mfg.material.consumed.v1@1.0",
            "--days",
            "30",
        ])
        .args(["--admin-url", &hub.admin, "--token", OPS])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&cli.stdout);
    assert!(cli.status.success(), "{text}");
    assert!(
        text.contains("mfg.material.consumed.v1@1.0: deprecated, sunset 2099-06-30"),
        "{text}"
    );
    let row = text
        .lines()
        .find(|l| l.starts_with("mes-plant1010"))
        .unwrap_or_default();
    assert_eq!(
        row.split_whitespace().take(4).collect::<Vec<_>>(),
        ["mes-plant1010", "mes1010-production", "1.0", "3"],
        "{text}"
    );
    assert!(text.contains("erp-goods-movements"), "{text}");
    let none = get_json(&url.replace("version=1.0", "version=1.1"), OPS).await;
    assert_eq!(none["producers"], json!([]), "nobody sent 1.1");
    let unknown = reqwest::Client::new()
        .get(url.replace("consumed.v1", "consumed.v9"))
        .bearer_auth(OPS)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let mistyped = reqwest::Client::new()
        .get(url.replace("version=1.0", "version=1.O"))
        .bearer_auth(OPS)
        .send()
        .await
        .unwrap();
    assert_eq!(
        mistyped.status(),
        404,
        "a mistyped version is not \"unused\""
    );
}

#[test]
fn a_sunset_before_its_deprecation_stops_the_hub_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let wrong = LIFECYCLE.replace("sunset_on = 2099-06-30", "sunset_on = 2026-10-01");
    let config = deployment(dir.path(), &wrong);
    let output = Command::new(env!("CARGO_BIN_EXE_takt"))
        .args(["serve", "--config"])
        .arg(&config)
        .arg("--db")
        .arg(dir.path().join("takt.db"))
        .args([
            "--data-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("lifecycle.toml") && stderr.contains("contracts[0]: field `sunset_on`"),
        "{stderr}"
    );
}

const CONVERSIONS: &str = r#"
[[conversions]]
from = "mfg.material.consumed.v2"
to = "mfg.material.consumed.v1"
mapping = "mappings/consumed-v2-to-v1.jq"

[[conversions]]
from = "mfg.material.consumed.v1"
to = "mfg.material.consumed.v2"
mapping = "mappings/consumed-v1-to-v2.jq"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn v1_and_v2_live_side_by_side_each_consumer_receiving_its_version() {
    let dir = tempfile::tempdir().unwrap();
    let erp = Erp::start(true).await;
    let config = deployment(dir.path(), "");
    let file = |name: &str| config.join(name);
    std::fs::write(file("conversions.toml"), CONVERSIONS).unwrap();
    std::fs::write(
        file("mappings/consumed-v2-to-v1.jq"),
        ".data | .qty = .quantity | del(.quantity)",
    )
    .unwrap();
    std::fs::write(
        file("mappings/consumed-v1-to-v2.jq"),
        ".data | .quantity = .qty | del(.qty)",
    )
    .unwrap();
    // The ERP stays pinned to v1 (its mapping reads `qty`); a WMS feed takes v2.
    let erp_subscription = file("subscriptions/erp-goods-movements.toml");
    let text = std::fs::read_to_string(&erp_subscription).unwrap();
    std::fs::write(
        &erp_subscription,
        text.replace("http://127.0.0.1:9100", &erp.url()),
    )
    .unwrap();
    let wms = format!(
        "name = \"wms-consumptions-v2\"\ndescription = \"v2 feed\"\nowner = \"team-wms\"\ndestination = \"wms-central\"\ncontracts = [\"mfg.material.consumed.v2\"]\n[connector]\nkind = \"http\"\nurl = \"{}/wms/consumptions\"\n",
        erp.url()
    );
    std::fs::write(file("subscriptions/wms-consumptions-v2.toml"), wms).unwrap();
    let hub = start_hub(
        Path::new(env!("CARGO_BIN_EXE_takt")),
        &config,
        &dir.path().join("takt.db"),
    );

    let (v1, v2) = (consumption(1), consumption_v2(2));
    assert_eq!(
        post(&hub, &v1).await.status(),
        202,
        "a producer pinned to v1 keeps sending v1"
    );
    assert_eq!(
        post(&hub, &v2).await.status(),
        202,
        "another has moved to v2"
    );
    assert!(eventually(Duration::from_secs(20), || erp.attempts().len() == 4).await);

    let attempts = erp.attempts();
    let to = |path: &str| -> Vec<Value> {
        attempts
            .iter()
            .filter(|a| a.uri == path)
            .map(|a| a.body.clone())
            .collect()
    };
    let postings = to("/erp/goods-movements");
    assert_eq!(postings.len(), 2, "the v1-pinned ERP gets both");
    for posting in &postings {
        assert_eq!(
            posting["MENGE"], "12.500",
            "its v1 mapping read `qty`: {posting}"
        );
    }
    let feed = to("/wms/consumptions");
    assert_eq!(feed.len(), 2, "the v2 feed gets both");
    for event in &feed {
        assert_eq!(event["type"], "mfg.material.consumed.v2");
        assert_eq!(
            event["dataschema"],
            "urn:takt:schema:mfg.material.consumed.v2:2.0"
        );
        assert_eq!(event["data"]["quantity"]["value"], "12.500", "{event}");
        assert!(event["data"].get("qty").is_none(), "{event}");
    }
    let ids: Vec<&str> = feed.iter().map(|e| e["id"].as_str().unwrap()).collect();
    assert!(
        ids.contains(&v1["id"].as_str().unwrap()),
        "the v1 message converted up keeps its id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deprecated_interface_warns_and_a_retired_one_is_gone() {
    let dir = tempfile::tempdir().unwrap();
    let config = deployment(dir.path(), "");
    let interface = config.join("interfaces/mes1010-production.toml");
    let original = std::fs::read_to_string(&interface).unwrap();
    let with = |lines: &str| original.replacen("tier = 1", &format!("tier = 1\n{lines}"), 1);
    std::fs::write(
        &interface,
        with("state = \"deprecated\"\nsunset_on = 2099-06-30"),
    )
    .unwrap();
    let db = dir.path().join("takt.db");
    let bin = Path::new(env!("CARGO_BIN_EXE_takt"));
    let hub = start_hub(bin, &config, &db);
    let answer = post(&hub, &consumption(1)).await;
    assert_eq!(answer.status(), 202);
    assert_eq!(answer.headers()["sunset"], "Tue, 30 Jun 2099 00:00:00 GMT");
    assert!(answer.headers().contains_key("deprecation"));
    drop(hub);

    std::fs::write(&interface, with("state = \"retired\"")).unwrap();
    let hub = start_hub(bin, &config, &db);
    let answer = post(&hub, &consumption(2)).await;
    assert_eq!(answer.status(), 410);
    let problem: Value = answer.json().await.unwrap();
    let detail = problem["detail"].as_str().unwrap();
    assert!(
        detail.contains("interface mes1010-production is no longer accepted"),
        "{detail}"
    );
}
