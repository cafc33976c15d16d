//! `kill -9` at random instants while clients post (CloudEvents, and native
//! postings whose ids the hub mints): nothing acknowledged is
//! lost, nothing is stored twice, and the audit chain still verifies.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use takt_testkit::{Hub, get_json, start_hub};

const KILLS: usize = 12;
const CLIENTS: usize = 8;
const KEY: &str = "acme-demo-mes-plant1010";
const OPS: &str = "acme-demo-ops-oncall";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn start(db: &Path) -> Hub {
    start_hub(
        Path::new(env!("CARGO_BIN_EXE_takt")),
        &root().join("examples/acme"),
        db,
    )
}

/// A tiny xorshift: the test needs varied instants, not cryptography.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// The consumption example with id `n`; the file is read once.
fn event(n: u64) -> Value {
    static TEMPLATE: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    let template = TEMPLATE.get_or_init(|| {
        let path =
            root().join("contracts/mfg.material.consumed.v1/examples/valid-lot-managed.json");
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
    });
    let mut message = template.clone();
    message["id"] = json!(format!("0193a3f0-6c2e-7b1a-9d4e-{n:012x}"));
    message
}

/// What the clients saw: ids answered 2xx, and ids ever sent.
#[derive(Default)]
struct Ledger {
    acked: BTreeSet<u64>,
    sent: BTreeSet<u64>,
}

/// What the clients post.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Route {
    /// CloudEvents with fixed ids and an Idempotency-Key.
    Events,
    /// Native goods issues: the hub mints the event ids, so only the
    /// idempotency record (keyed by the posting number) prevents duplicates.
    Native,
}

fn goods_issue(n: u64) -> Value {
    json!({"MBLNR": format!("49{n:08}"), "WERKS": "1010", "AUFNR": "100012345", "VORNR": "0010",
           "MATNR": "RM-4711", "MENGE": "2.5", "MEINS": "KG", "BUDAT": "2026-11-26T08:00:00Z"})
}

/// Posts distinct messages; a request whose outcome is unknown (connection
/// error) is retried unchanged until it gets an answer.
async fn client(
    route: Route,
    id: u64,
    base: Arc<Mutex<String>>,
    ledger: Arc<Mutex<Ledger>>,
    stop: Arc<Mutex<bool>>,
) {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(3))
        .build()
        .unwrap();
    let mut n = id * 1_000_000;
    while !*stop.lock().unwrap() {
        n += 1;
        ledger.lock().unwrap().sent.insert(n);
        let (path, media, body) = match route {
            Route::Events => (
                "/v1/events",
                "application/cloudevents+json",
                event(n).to_string(),
            ),
            Route::Native => (
                "/v1/interfaces/mes1010-production/messages",
                "application/json",
                goods_issue(n).to_string(),
            ),
        };
        loop {
            let url = format!("{}{path}", base.lock().unwrap());
            let mut request = http
                .post(url)
                .bearer_auth(KEY)
                .header("content-type", media)
                .body(body.clone());
            if route == Route::Events {
                request = request.header("idempotency-key", format!("ev-{n}"));
            }
            match request.send().await {
                Ok(r) if r.status().is_success() => {
                    ledger.lock().unwrap().acked.insert(n);
                    break;
                }
                Ok(r) if r.status() == 409 || r.status() == 503 => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                Ok(r) => panic!("unexpected answer {} for posting {n}", r.status()),
                // Unknown outcome: the server may have died before or after committing.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

async fn stored_by_key(admin: &str, route: Route) -> BTreeMap<String, usize> {
    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    let mut after = 0;
    loop {
        let page = get_json(
            &format!("{admin}/v1/messages?limit=1000&after={after}"),
            OPS,
        )
        .await;
        for item in page["items"].as_array().unwrap() {
            let key = match route {
                Route::Events => item["id"].as_str().unwrap(),
                Route::Native => item["message"]["data"]["consumptionId"].as_str().unwrap(),
            };
            *stored.entry(key.to_owned()).or_default() += 1;
        }
        match page["next_after"].as_i64() {
            Some(next) => after = next,
            None => break,
        }
    }
    stored
}

/// Kills the server with SIGKILL at random instants while clients post on
/// `route`, then checks: every acknowledged posting is stored exactly once,
/// nothing is stored twice or unsent, and the audit chain verifies.
async fn kill_nine_under_load(route: Route, key: impl Fn(u64) -> String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("takt.db");
    let mut server = start(&db);
    let base = Arc::new(Mutex::new(server.data.clone()));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(Mutex::new(false));
    let clients: Vec<_> = (1..=CLIENTS as u64)
        .map(|id| {
            tokio::spawn(client(
                route,
                id,
                base.clone(),
                ledger.clone(),
                stop.clone(),
            ))
        })
        .collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15 ^ u64::from(std::process::id());
    for _ in 0..KILLS {
        tokio::time::sleep(Duration::from_millis(150 + next(&mut seed) % 400)).await;
        server.child.kill().unwrap(); // SIGKILL
        server.child.wait().unwrap();
        server = start(&db);
        *base.lock().unwrap() = server.data.clone();
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    *stop.lock().unwrap() = true;
    let deadline = Instant::now() + Duration::from_secs(30);
    for task in clients {
        tokio::time::timeout(deadline - Instant::now(), task)
            .await
            .unwrap()
            .unwrap();
    }

    let stored = stored_by_key(&server.admin, route).await;
    let ledger = std::mem::take(&mut *ledger.lock().unwrap());
    eprintln!(
        "kills: {KILLS}, sent: {}, acknowledged: {}, stored: {}",
        ledger.sent.len(),
        ledger.acked.len(),
        stored.len()
    );
    assert!(
        ledger.acked.len() > 50,
        "the test must accept a real load, got {}",
        ledger.acked.len()
    );
    for n in &ledger.acked {
        assert_eq!(
            stored.get(&key(*n)),
            Some(&1),
            "acknowledged posting {} must be stored exactly once",
            key(*n)
        );
    }
    assert!(
        stored.values().all(|&count| count == 1),
        "no posting is stored twice"
    );
    let sent: BTreeSet<String> = ledger.sent.iter().map(|n| key(*n)).collect();
    assert!(
        stored.keys().all(|k| sent.contains(k)),
        "nothing is stored that was not sent"
    );

    let verify = get_json(&format!("{}/v1/audit/verify", server.admin), OPS).await;
    assert_eq!(verify["intact"], true, "{verify}");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    let offline = Command::new(env!("CARGO_BIN_EXE_takt"))
        .args(["audit", "verify", "--db"])
        .arg(&db)
        .output()
        .unwrap();
    assert!(
        offline.status.success(),
        "{}",
        String::from_utf8_lossy(&offline.stdout)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_loses_nothing_acknowledged_and_duplicates_nothing() {
    kill_nine_under_load(Route::Events, |n| {
        event(n)["id"].as_str().unwrap().to_owned()
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_native_postings_are_stored_once_by_their_idempotency_record() {
    kill_nine_under_load(Route::Native, |n| {
        goods_issue(n)["MBLNR"].as_str().unwrap().to_owned()
    })
    .await;
}
