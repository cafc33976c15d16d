//! Sync commands and queries through `takt serve` (issue 4, item 8): the
//! acme production-order release goes to a simulated plant-1010 MES while
//! the ERP waits, and the stock availability query to a simulated ERP.
//! Each rule of docs/commands.md is checked through real HTTP: the mapped
//! answer, the replay by key without a second call, a refusal, fail fast
//! with `Retry-After` when the destination is down or slow (the deadline
//! honoured), queueing with `Location` until the destination heals, and the
//! query cache.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use takt_testkit::{
    Erp, Fault, Hub, copy_dir, eventually, example, get_json, repository, start_hub,
};

const ERP: &str = "acme-demo-erp-central";
const MES: &str = "acme-demo-mes-plant1010";
const OPS: &str = "acme-demo-ops-oncall";
const RELEASE: &str = "/v1/commands/mfg.productionorder.release.v1";
const QUERY: &str = "/v1/queries/mfg.inventory.availability.query.v1";
const WAIT: Duration = Duration::from_secs(20);

/// The acme deployment with its sync destinations at `mes` (order release,
/// `on_unavailable` as given, a 1 s deadline) and `erp` (availability,
/// answers cached for 700 ms).
fn deployment(dir: &Path, mes: &Erp, erp: &Erp, on_unavailable: &str) -> PathBuf {
    let config = dir.join("acme");
    copy_dir(&repository().join("examples/acme"), &config).unwrap();
    let edit = |file: &str, edits: &[(&str, &str)], append: &str| {
        let path = config.join(file);
        let mut text = std::fs::read_to_string(&path).unwrap();
        for (from, to) in edits {
            assert!(text.contains(from), "{file} has no {from:?}");
            text = text.replace(from, to);
        }
        std::fs::write(path, text + append).unwrap();
    };
    edit(
        "interfaces/erp-production-orders.toml",
        &[
            ("http://127.0.0.1:9110", &mes.url()),
            ("timeout_ms = 5000", "timeout_ms = 1000"),
            (
                "on_unavailable = \"fail_fast\"",
                &format!("on_unavailable = \"{on_unavailable}\""),
            ),
        ],
        "\n[sync.policy]\nbackoff = { base_ms = 50, max_ms = 200 }\ncircuit = { failures = 0 }\n",
    );
    edit(
        "interfaces/stock-availability.toml",
        &[
            ("http://127.0.0.1:9100", &erp.url()),
            ("cache_ttl_ms = 2000", "cache_ttl_ms = 700"),
        ],
        "",
    );
    config
}

/// Release `n` of plant 1010 (its own id and order number).
fn release(n: u32) -> Value {
    let mut command = example(
        "mfg.productionorder.release.v1",
        "valid-discrete-order.json",
    );
    command["id"] = json!(format!("01a1f7dc-b8c0-71a1-8c6b-{n:012x}"));
    let order = format!("1000123{n:02}");
    command["partitionkey"] = json!(format!("1010/{order}"));
    command["subject"] = json!(format!("productionorder/1010/{order}"));
    command["data"]["orderId"] = json!(order);
    command
}

/// An answer: status, headers, body (JSON, or null).
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

async fn post(hub: &Hub, path: &str, key: &str, idempotency: Option<&str>, body: &Value) -> Answer {
    let mut request = reqwest::Client::new()
        .post(format!("{}{path}", hub.data))
        .bearer_auth(key)
        .header("content-type", "application/cloudevents+json")
        .body(body.to_string());
    if let Some(idempotency) = idempotency {
        request = request.header("idempotency-key", idempotency);
    }
    let answer = request.send().await.unwrap();
    Answer {
        status: answer.status().as_u16(),
        headers: answer.headers().clone(),
        body: answer.json().await.unwrap_or(Value::Null),
    }
}

async fn get(hub: &Hub, path: &str, key: &str) -> (u16, Value) {
    let answer = reqwest::Client::new()
        .get(format!("{}{path}", hub.data))
        .bearer_auth(key)
        .send()
        .await
        .unwrap();
    (answer.status().as_u16(), answer.json().await.unwrap())
}

struct Setup {
    hub: Hub,
    mes: Erp,
    erp: Erp,
    _dir: tempfile::TempDir,
}

async fn setup(on_unavailable: &str) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mes = Erp::start(true).await;
    let erp = Erp::start(true).await;
    let config = deployment(dir.path(), &mes, &erp, on_unavailable);
    let hub = start_hub(
        Path::new(env!("CARGO_BIN_EXE_takt")),
        &config,
        &dir.path().join("takt.db"),
    );
    Setup {
        hub,
        mes,
        erp,
        _dir: dir,
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let _ = self.hub.child.kill();
        let _ = self.hub.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_release_is_answered_by_the_mes_and_a_retry_replays_the_answer() {
    let s = setup("fail_fast").await;
    let command = release(1);
    let first = post(&s.hub, RELEASE, ERP, Some("rel-1"), &command).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["status"], "delivered");
    assert_eq!(first.body["destination"], "mes-plant1010");
    let answer = &first.body["answer"];
    assert_eq!(answer["commandId"], command["id"], "{answer}");
    assert_eq!(answer["reference"], "1", "the MES's document number");
    assert_eq!(answer["handledBy"], "urn:takt:site:1010:mes:mes01");
    let posted = s.mes.effects();
    assert_eq!(posted.len(), 1);
    assert_eq!(
        posted[0].key, command["id"],
        "the command id is the Idempotency-Key"
    );
    assert_eq!(
        posted[0].body["orderNumber"], "100012301",
        "the request mapping ran"
    );

    let again = post(&s.hub, RELEASE, ERP, Some("rel-1"), &command).await;
    assert_eq!((again.status, &again.body), (200, &first.body));
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        s.mes.attempts().len(),
        1,
        "a replay does not call the MES again"
    );

    let other_body = post(&s.hub, RELEASE, ERP, Some("rel-1"), &release(2)).await;
    assert_eq!(other_body.status, 422);
    assert_eq!(
        other_body.body["type"],
        "urn:takt:problem:idempotency_key_reused"
    );

    let id = command["id"].as_str().unwrap();
    let (status, view) = get(&s.hub, &format!("/v1/commands/{id}"), ERP).await;
    assert_eq!(status, 200, "{view}");
    assert_eq!(view["status"], "delivered");
    assert_eq!(view["answer"], first.body["answer"], "{view}");
    assert_eq!(view["destination_status"], 201);
    let (status, _) = get(&s.hub, &format!("/v1/commands/{id}"), MES).await;
    assert_eq!(status, 404, "only its sender (or an operator) reads it");
    let (status, _) = get(&s.hub, &format!("/v1/commands/{id}"), OPS).await;
    assert_eq!(status, 200);
    let stored = get_json(&format!("{}/v1/messages/{id}", s.hub.admin), OPS).await;
    assert_eq!(stored["business_keys"]["takt.sync"], "answered", "{stored}");

    // A release for plant 2020 has no sync destination: recorded as before.
    let mut other_plant = release(3);
    other_plant["siteid"] = json!("2020");
    other_plant["data"]["siteId"] = json!("2020");
    other_plant["partitionkey"] = json!("2020/100012303");
    other_plant["subject"] = json!("productionorder/2020/100012303");
    let recorded = post(&s.hub, RELEASE, ERP, Some("rel-3"), &other_plant).await;
    assert_eq!(
        (recorded.status, &recorded.body["status"]),
        (202, &json!("accepted"))
    );
    assert_eq!(s.mes.attempts().len(), 1);
    let other_id = other_plant["id"].as_str().unwrap();
    let (_, view) = get(&s.hub, &format!("/v1/commands/{other_id}"), ERP).await;
    assert_eq!(view["status"], "accepted", "{view}");

    let audit = get_json(&format!("{}/v1/audit/verify", s.hub.admin), OPS).await;
    assert_eq!(audit["intact"], true, "{audit}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_is_a_problem_that_the_same_key_gets_again() {
    let s = setup("fail_fast").await;
    let refusal = json!({"code": "ORDER_LOCKED", "error": "order 100012304 is being changed"});
    s.mes.fail_matching(
        "100012304",
        Fault::Answer {
            status: 409,
            body: refusal,
        },
        1,
    );
    let command = release(4);
    let first = post(&s.hub, RELEASE, ERP, Some("rel-4"), &command).await;
    assert_eq!(first.status, 422, "{}", first.body);
    assert_eq!(first.body["type"], "urn:takt:problem:destination_rejected");
    assert_eq!(first.body["errors"][0]["rule"], "destination");
    let message = first.body["errors"][0]["message"].as_str().unwrap();
    assert!(message.contains("mes-plant1010 answered 409"), "{message}");
    let reasons = &first.body["answer"]["reasons"];
    assert_eq!(reasons[0]["code"], "ORDER_LOCKED", "{}", first.body);
    assert!(s.mes.effects().is_empty());

    let again = post(&s.hub, RELEASE, ERP, Some("rel-4"), &command).await;
    assert_eq!((again.status, &again.body), (422, &first.body));
    assert_eq!(
        s.mes.attempts().len(),
        1,
        "the refusal is replayed, not asked again"
    );
    let id = command["id"].as_str().unwrap();
    let (status, _) = get(&s.hub, &format!("/v1/commands/{id}"), ERP).await;
    assert_eq!(status, 404, "a refused command is not stored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_destination_that_is_down_or_slow_fails_fast_and_acknowledges_nothing() {
    let s = setup("fail_fast").await;
    s.mes.fail_all(Fault::Unavailable {
        retry_after_secs: 30,
    });
    let command = release(5);
    let down = post(&s.hub, RELEASE, ERP, Some("rel-5"), &command).await;
    assert_eq!(down.status, 503, "{}", down.body);
    assert_eq!(
        down.body["type"],
        "urn:takt:problem:destination_unavailable"
    );
    assert_eq!(
        down.header("retry-after"),
        Some("30"),
        "the MES asked for 30 s"
    );
    let detail = down.body["detail"].as_str().unwrap();
    assert!(detail.contains("nothing was acknowledged"), "{detail}");

    s.mes.heal();
    s.mes.fail_all(Fault::Hang);
    let started = Instant::now();
    let slow = post(&s.hub, RELEASE, ERP, Some("rel-5"), &command).await;
    let waited = started.elapsed();
    assert_eq!(slow.status, 503, "{}", slow.body);
    assert_eq!(
        slow.header("retry-after"),
        Some("10"),
        "the interface's retry_after_secs"
    );
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(3),
        "the 1 s deadline is honoured: {waited:?}"
    );
    let id = command["id"].as_str().unwrap();
    let (status, _) = get(&s.hub, &format!("/v1/commands/{id}"), ERP).await;
    assert_eq!(status, 404, "nothing was stored");

    s.mes.heal();
    let retried = post(&s.hub, RELEASE, ERP, Some("rel-5"), &command).await;
    assert_eq!(
        retried.status, 200,
        "the same request succeeds later: {}",
        retried.body
    );
    assert_eq!(s.mes.effects().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_queueing_interface_accepts_while_the_destination_is_away_and_delivers_later() {
    let s = setup("queue").await;
    s.mes.fail_all(Fault::Status(503));
    let command = release(6);
    let queued = post(&s.hub, RELEASE, ERP, Some("rel-6"), &command).await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    assert_eq!(queued.body["status"], "queued");
    let id = command["id"].as_str().unwrap();
    let location = format!("/v1/commands/{id}");
    assert_eq!(queued.header("location"), Some(location.as_str()));
    let again = post(&s.hub, RELEASE, ERP, Some("rel-6"), &command).await;
    assert_eq!(
        (again.status, again.header("location")),
        (202, Some(location.as_str()))
    );
    assert_eq!(again.header("idempotent-replayed"), Some("true"));

    let (status, view) = get(&s.hub, &location, ERP).await;
    assert_eq!((status, &view["status"]), (200, &json!("queued")), "{view}");
    assert!(
        eventually(WAIT, || s.mes.attempts().len() >= 3).await,
        "the hub keeps trying"
    );
    s.mes.heal();
    let view = delivered(&s.hub, &location).await;
    assert_eq!(view["answer"]["reference"], "1", "{view}");
    assert_eq!(view["answer"]["commandId"], command["id"]);
    assert_eq!(s.mes.effects().len(), 1, "posted once");

    // Away for the sync call only: the first queued attempt delivers it,
    // and its answer is kept all the same.
    s.mes.fail_matching("100012307", Fault::Status(503), 1);
    let command = release(7);
    let queued = post(&s.hub, RELEASE, ERP, Some("rel-7"), &command).await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    let location = queued.header("location").unwrap().to_owned();
    let view = delivered(&s.hub, &location).await;
    assert_eq!(view["answer"]["reference"], "2", "{view}");
    assert_eq!(view["attempts"], 1, "{view}");

    // While a release of an order waits in the queue, the next release of
    // that order waits behind it, though the MES would take it now.
    s.mes
        .fail_matching("\"revision\":1", Fault::Status(503), 1_000);
    let first = release(8);
    let mut second = release(8);
    second["id"] = json!("01a1f7dc-b8c0-71a1-8c6b-100000000008");
    second["data"]["revision"] = json!(2);
    let queued = post(&s.hub, RELEASE, ERP, Some("rel-8-r1"), &first).await;
    assert_eq!(queued.status, 202, "{}", queued.body);
    let behind = post(&s.hub, RELEASE, ERP, Some("rel-8-r2"), &second).await;
    assert_eq!(behind.status, 202, "{}", behind.body);
    assert_eq!(
        behind.body["reason"],
        "an earlier command of its ordering key is still queued"
    );
    s.mes.heal();
    let location = behind.header("location").unwrap().to_owned();
    delivered(&s.hub, &location).await;
    let revisions: Vec<Value> = s
        .mes
        .effects()
        .iter()
        .filter(|e| e.body["orderNumber"] == "100012308")
        .map(|e| e.body["revision"].clone())
        .collect();
    assert_eq!(revisions, [json!(1), json!(2)], "in accepted order");

    // The queue reads only queued commands, yet its cursor follows the log.
    let consumption = example("mfg.material.consumed.v1", "valid-lot-managed.json");
    assert_eq!(
        post(&s.hub, "/v1/events", MES, None, &consumption)
            .await
            .status,
        202
    );
    let mut queue = Value::Null;
    for _ in 0..50 {
        let status = get_json(&format!("{}/v1/deliveries/status", s.hub.admin), OPS).await;
        queue = status["subscriptions"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["subscription"] == "sync:erp-production-orders")
            .cloned()
            .unwrap_or(Value::Null);
        if queue["cursor"] == 5 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(queue["destination"], "mes-plant1010", "{queue}");
    assert_eq!(
        (&queue["cursor"], &queue["backlog"]),
        (&json!(5), &json!(0)),
        "{queue}"
    );
}

/// Reads `location` until the command is delivered (or gives up); the last view.
async fn delivered(hub: &Hub, location: &str) -> Value {
    let mut view = Value::Null;
    for _ in 0..100 {
        view = get(hub, location, ERP).await.1;
        if view["status"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(view["status"], "delivered", "{view}");
    view
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_availability_query_is_answered_by_the_erp_and_cached_briefly() {
    let s = setup("fail_fast").await;
    s.erp.answer_with(
        200,
        json!({"LABST": "120.5", "MEINS": "KG", "AS_OF": "2026-11-26T08:00:00Z",
               "LOTS": [{"CHARG": "L2026-1187", "MENGE": "120.5", "STATUS": "F"}]}),
    );
    let query = example(
        "mfg.inventory.availability.query.v1",
        "valid-material-unrestricted.json",
    );
    let first = post(&s.hub, QUERY, MES, None, &query).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["cached"], false);
    let answer = &first.body["answer"];
    assert_eq!(
        answer["availableQty"],
        json!({"value": "120.5", "uom": "KGM"})
    );
    assert_eq!(answer["queryId"], "MES01-Q-20250114-0193");
    assert_eq!(
        s.erp.attempts()[0].body,
        json!({"WERKS": "1010", "MATNR": "RM-4711", "STATUS": ["UnRestricted"]})
    );

    // The same question with its own ids, within the TTL: from the cache.
    let mut same = query.clone();
    same["id"] = json!("01946361-5a00-7247-81d3-b484e4e5f999");
    same["data"]["queryId"] = json!("MES01-Q-2");
    let cached = post(&s.hub, QUERY, MES, None, &same).await;
    assert_eq!(cached.body["cached"], true, "{}", cached.body);
    assert_eq!(cached.body["answer"]["queryId"], "MES01-Q-2");
    assert_eq!(s.erp.attempts().len(), 1, "the ERP was asked once");

    tokio::time::sleep(Duration::from_millis(800)).await;
    let expired = post(&s.hub, QUERY, MES, None, &same).await;
    assert_eq!(expired.body["cached"], false, "{}", expired.body);
    assert_eq!(s.erp.attempts().len(), 2, "asked again after the TTL");

    let as_event = post(&s.hub, "/v1/events", MES, None, &query).await;
    assert_eq!(as_event.status, 422);
    assert_eq!(as_event.body["errors"][0]["rule"], "route");
    s.erp.fail_all(Fault::Hang);
    let mut new = query.clone();
    new["data"]["materialId"] = json!("RM-9999");
    new["partitionkey"] = json!("1010/RM-9999");
    let slow = post(&s.hub, QUERY, MES, None, &new).await;
    assert_eq!(slow.status, 503, "{}", slow.body);
    assert_eq!(
        slow.body["type"],
        "urn:takt:problem:destination_unavailable"
    );
}
