//! `kill -9` at random instants while messages are accepted and delivered
//! to the simulated ERP through the acme deployment's goods-movement
//! subscription (jq mapping, per-order ordering, real HTTP).
//!
//! - ERP that de-duplicates: every acknowledged message reaches it exactly
//!   once, each order's messages in accepted order.
//! - ERP that cannot de-duplicate: no message has two effects; every
//!   acknowledged message was posted, or is on the in-doubt list (or waits
//!   behind one there) for an operator.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use takt_testkit::{Erp, Hub, copy_dir, eventually, get_json, post_json, repository, start_hub};

const KILLS: usize = 6;
const ORDERS: u64 = 4;
const KEY: &str = "acme-demo-mes-plant1010";
const OPS: &str = "acme-demo-ops-oncall";

/// The acme deployment, its ERP subscription pointed at `erp`.
fn deployment(dir: &Path, erp: &Erp, idempotent: bool) -> PathBuf {
    let config = dir.join("acme");
    copy_dir(&repository().join("examples/acme"), &config).unwrap();
    let file = config.join("subscriptions/erp-goods-movements.toml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("http://127.0.0.1:9100") && text.contains("idempotent = true"));
    let text = text
        .replace("http://127.0.0.1:9100", &erp.url())
        .replace("idempotent = true", &format!("idempotent = {idempotent}"))
        .replace("timeout_ms = 5000", "timeout_ms = 1000")
        .replace("base_ms = 500", "base_ms = 50");
    std::fs::write(file, text).unwrap();
    config
}

fn start(config: &Path, db: &Path) -> Hub {
    start_hub(Path::new(env!("CARGO_BIN_EXE_takt")), config, db)
}

/// Consumption number `n` of production order `order`.
fn consumption(order: u64, n: u64) -> Value {
    let order_id = format!("1000123{order:02}");
    json!({
        "specversion": "1.0", "id": format!("0193a3f0-6c2e-7b1a-{:04x}-{n:012x}", 0x9d00 + order),
        "source": "urn:takt:site:1010:mes:mes01", "type": "mfg.material.consumed.v1",
        "time": "2026-11-20T08:15:30Z", "subject": format!("productionorder/1010/{order_id}"),
        "datacontenttype": "application/json", "dataschema": "urn:takt:schema:mfg.material.consumed.v1:1.0",
        "partitionkey": format!("1010/{order_id}"), "siteid": "1010",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "recordedtime": "2026-11-20T08:15:31.204Z", "correlationid": format!("productionorder/1010/{order_id}"),
        "causationid": "0193a3f0-6c2e-7b1a-9d4e-2f5a6b7c8d90",
        "data": {"consumptionId": format!("MES01-C-{n}"), "siteId": "1010", "orderId": order_id,
                 "operationId": "0010", "materialId": "RM-4711", "qty": {"value": "1.000", "uom": "KGM"},
                 "occurredAt": "2026-11-20T08:15:30Z"}
    })
}

/// Per order: the ids acknowledged, in the order they were.
type Ledger = BTreeMap<u64, Vec<String>>;

/// Posts one order's consumptions one after the other; each is retried
/// unchanged until answered, so the accepted order is the posting order.
async fn poster(
    order: u64,
    base: Arc<Mutex<String>>,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<Mutex<bool>>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let mut n = 0;
    while !*stop.lock().unwrap() {
        n += 1;
        let message = consumption(order, n);
        loop {
            let url = format!("{}/v1/events", base.lock().unwrap());
            let answer = http
                .post(url)
                .bearer_auth(KEY)
                .header("content-type", "application/cloudevents+json")
                .body(message.to_string())
                .send()
                .await;
            match answer {
                Ok(r) if r.status().is_success() => break,
                Ok(r) if r.status() == 409 || r.status() == 503 => {}
                Ok(r) => panic!(
                    "unexpected answer {}: {}",
                    r.status(),
                    r.text().await.unwrap_or_default()
                ),
                Err(_) => {}
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let id = message["id"].as_str().unwrap().to_owned();
        ledger.lock().unwrap().entry(order).or_default().push(id);
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Runs the posters while killing the hub `KILLS` times; returns what was
/// acknowledged, and the last (running) hub.
async fn accept_under_kills(config: &Path, db: &Path) -> (Ledger, Hub) {
    let mut hub = start(config, db);
    let base = Arc::new(Mutex::new(hub.data.clone()));
    let ledger = Arc::new(Mutex::new(Ledger::new()));
    let stop = Arc::new(Mutex::new(false));
    let posters: Vec<_> = (1..=ORDERS)
        .map(|order| tokio::spawn(poster(order, base.clone(), ledger.clone(), stop.clone())))
        .collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64 ^ u64::from(std::process::id());
    for _ in 0..KILLS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        tokio::time::sleep(Duration::from_millis(200 + seed % 400)).await;
        hub.child.kill().unwrap(); // SIGKILL
        hub.child.wait().unwrap();
        hub = start(config, db);
        *base.lock().unwrap() = hub.data.clone();
    }
    *stop.lock().unwrap() = true;
    for poster in posters {
        tokio::time::timeout(Duration::from_secs(30), poster)
            .await
            .unwrap()
            .unwrap();
    }
    let ledger = std::mem::take(&mut *ledger.lock().unwrap());
    let acknowledged: usize = ledger.values().map(Vec::len).sum();
    assert!(
        acknowledged > 40,
        "the test must accept a real load, got {acknowledged}"
    );
    (ledger, hub)
}

/// The ids the ERP posted, in posting order (EXTID is the CloudEvents id).
fn posted(erp: &Erp) -> Vec<String> {
    erp.effects()
        .iter()
        .map(|e| e.body["EXTID"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_during_delivery_to_a_deduplicating_erp_delivers_each_once_in_order() {
    let erp = Erp::start(true).await;
    erp.fail_all(takt_testkit::Fault::Slow(Duration::from_millis(3)));
    let dir = tempfile::tempdir().unwrap();
    let config = deployment(dir.path(), &erp, true);
    let (ledger, mut hub) = accept_under_kills(&config, &dir.path().join("takt.db")).await;
    let acknowledged: BTreeSet<&String> = ledger.values().flatten().collect();
    let delivered = eventually(Duration::from_secs(30), || {
        let posted: BTreeSet<String> = posted(&erp).into_iter().collect();
        acknowledged.iter().all(|id| posted.contains(*id))
    })
    .await;
    assert!(delivered, "every acknowledged message reaches the ERP");
    let posted = posted(&erp);
    let unique: BTreeSet<&String> = posted.iter().collect();
    assert_eq!(unique.len(), posted.len(), "no message has two effects");
    for (order, ids) in &ledger {
        let arrived: Vec<&String> = posted.iter().filter(|id| ids.contains(id)).collect();
        let expected: Vec<&String> = ids.iter().collect();
        assert_eq!(
            arrived, expected,
            "order {order}: its messages arrive in accepted order"
        );
    }
    let resent = erp.attempts().len() - posted.len();
    eprintln!(
        "kills: {KILLS}, acknowledged: {}, posted: {}, resent copies dropped by the ERP: {resent}",
        acknowledged.len(),
        posted.len()
    );
    let status = get_json(&format!("{}/v1/deliveries/status", hub.admin), OPS).await;
    assert_eq!(
        status["subscriptions"][0]["subscription"], "erp-goods-movements",
        "{status}"
    );
    hub.child.kill().unwrap();
    hub.child.wait().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_during_delivery_to_an_erp_that_cannot_deduplicate_never_posts_twice() {
    let erp = Erp::start(false).await;
    erp.fail_all(takt_testkit::Fault::Slow(Duration::from_millis(3)));
    let dir = tempfile::tempdir().unwrap();
    let config = deployment(dir.path(), &erp, false);
    let (ledger, mut hub) = accept_under_kills(&config, &dir.path().join("takt.db")).await;
    let acknowledged: BTreeSet<&String> = ledger.values().flatten().collect();
    // Settled: every acknowledged message is posted, in doubt, or waiting behind one in doubt.
    let mut accounted = false;
    for _ in 0..150 {
        let records = get_json(
            &format!(
                "{}/v1/deliveries?state=in_doubt,pending,in_flight&limit=1000",
                hub.admin
            ),
            OPS,
        )
        .await;
        let held: BTreeSet<String> = records["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["id"].as_str().unwrap().to_owned())
            .collect();
        let posted: BTreeSet<String> = posted(&erp).into_iter().collect();
        if acknowledged
            .iter()
            .all(|id| posted.contains(*id) || held.contains(*id))
        {
            accounted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        accounted,
        "every acknowledged message is posted or held for an operator"
    );
    let posted = posted(&erp);
    let unique: BTreeSet<&String> = posted.iter().collect();
    assert_eq!(unique.len(), posted.len(), "no message is posted twice");
    let in_doubt = get_json(&format!("{}/v1/deliveries?state=in_doubt", hub.admin), OPS).await;
    let in_doubt = in_doubt["items"].as_array().unwrap().len();
    assert!(
        in_doubt <= KILLS,
        "at most one message per kill is in doubt per key, got {in_doubt}"
    );
    eprintln!(
        "kills: {KILLS}, acknowledged: {}, posted: {}, in doubt: {in_doubt}",
        acknowledged.len(),
        posted.len()
    );
    operator_settles_the_in_doubt_list(&hub, &erp).await;
    hub.child.kill().unwrap();
    hub.child.wait().unwrap();
}

/// The operator's runbook, through the admin API: for each in-doubt
/// message, look in the ERP; discard (with a reason) what it posted, redrive
/// what it did not, the redrive sent twice at once. Repeating either changes
/// nothing; the held keys then drain, and nothing is posted twice.
async fn operator_settles_the_in_doubt_list(hub: &Hub, erp: &Erp) {
    let list = get_json(&format!("{}/v1/deliveries?state=in_doubt", hub.admin), OPS).await;
    let items = list["items"].as_array().unwrap().clone();
    assert!(!items.is_empty(), "the kills left messages in doubt");
    let shown = get_json(
        &format!(
            "{}/v1/deliveries/erp-goods-movements/{}",
            hub.admin, items[0]["seq"]
        ),
        OPS,
    )
    .await;
    assert_eq!(shown["state"], "in_doubt", "{shown}");
    assert!(
        shown["reason"].as_str().unwrap().contains("may have"),
        "{shown}"
    );

    let in_erp: BTreeSet<String> = posted(erp).into_iter().collect();
    let (found, missing): (Vec<&Value>, Vec<&Value>) = items
        .iter()
        .partition(|r| in_erp.contains(r["id"].as_str().unwrap()));
    let seqs = |records: &[&Value]| {
        records
            .iter()
            .map(|r| r["seq"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    let discard = format!("{}/v1/deliveries/erp-goods-movements/discard", hub.admin);
    let (status, problem) = post_json(&discard, OPS, &json!({"seqs": seqs(&found)})).await;
    assert_eq!(status, 400, "{problem}");
    assert!(
        problem["detail"].as_str().unwrap().starts_with("reason:") || found.is_empty(),
        "{problem}"
    );
    if !found.is_empty() {
        let body = json!({"seqs": seqs(&found), "reason": "found in the ERP"});
        let (status, done) = post_json(&discard, OPS, &body).await;
        assert_eq!(status, 200, "{done}");
        assert!(
            done["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["outcome"] == "discarded"),
            "{done}"
        );
        let (_, again) = post_json(&discard, OPS, &body).await;
        assert!(
            again["results"]
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["outcome"] == "skipped"),
            "{again}"
        );
    }
    if !missing.is_empty() {
        let redrive = format!("{}/v1/deliveries/erp-goods-movements/redrive", hub.admin);
        let body = json!({ "seqs": seqs(&missing) });
        let (first_try, second_try) = tokio::join!(
            post_json(&redrive, OPS, &body),
            post_json(&redrive, OPS, &body)
        );
        let redriven = [first_try.1, second_try.1]
            .iter()
            .flat_map(|r| r["results"].as_array().unwrap().clone())
            .filter(|r| r["outcome"] == "redriven")
            .count();
        assert_eq!(redriven, missing.len(), "each message is redriven once");
    }
    let (status, unknown) = post_json(
        &format!("{}/v1/deliveries/no-such/redrive", hub.admin),
        OPS,
        &json!({"seqs": [1]}),
    )
    .await;
    assert_eq!(status, 404, "{unknown}");
    let audit = get_json(&format!("{}/v1/audit/verify", hub.admin), OPS).await;
    assert_eq!(audit["intact"], true, "{audit}");
    // The held keys drain, and nothing is posted twice.
    let before = in_erp.len();
    assert!(eventually(Duration::from_secs(30), || posted(erp).len() > before + 10).await);
    let all = posted(erp);
    let unique: BTreeSet<&String> = all.iter().collect();
    assert_eq!(
        unique.len(),
        all.len(),
        "no message is posted twice after the operator acted"
    );
}
