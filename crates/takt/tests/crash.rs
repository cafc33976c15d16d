//! `kill -9` at random instants while clients post: nothing acknowledged is
//! lost, nothing is stored twice, and the audit chain still verifies.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

const KILLS: usize = 12;
const CLIENTS: usize = 8;
const KEY: &str = "acme-demo-mes-plant1010";
const OPS: &str = "acme-demo-ops-oncall";

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A `takt serve` child on ephemeral ports, and its addresses.
struct Server {
    child: Child,
    data: String,
    admin: String,
}

fn start(db: &Path) -> Server {
    let mut child = Command::new(env!("CARGO_BIN_EXE_takt"))
        .args(["serve", "--config"])
        .arg(root().join("examples/acme"))
        .arg("--db")
        .arg(db)
        .args([
            "--data-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .env("TAKT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    // "listening data=127.0.0.1:PORT admin=127.0.0.1:PORT"
    let addr = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .unwrap()
            .to_owned()
    };
    Server {
        data: format!("http://{}", addr("data=")),
        admin: format!("http://{}", addr("admin=")),
        child,
    }
}

/// A tiny xorshift: the test needs varied instants, not cryptography.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

fn event(n: u64) -> Value {
    let text = std::fs::read_to_string(
        root().join("contracts/mfg.material.consumed.v1/examples/valid-lot-managed.json"),
    )
    .unwrap();
    let mut message: Value = serde_json::from_str(&text).unwrap();
    message["id"] = json!(format!("0193a3f0-6c2e-7b1a-9d4e-{n:012x}"));
    message
}

/// What the clients saw: ids answered 2xx, and ids ever sent.
#[derive(Default)]
struct Ledger {
    acked: BTreeSet<u64>,
    sent: BTreeSet<u64>,
}

/// Posts distinct events; a request whose outcome is unknown (connection
/// error) is retried with the same Idempotency-Key until it gets an answer.
async fn client(
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
        let body = event(n).to_string();
        loop {
            let url = format!("{}/v1/events", base.lock().unwrap());
            let sent = http
                .post(url)
                .bearer_auth(KEY)
                .header("content-type", "application/cloudevents+json")
                .header("idempotency-key", format!("ev-{n}"))
                .body(body.clone())
                .send()
                .await;
            match sent {
                Ok(r) if r.status().is_success() => {
                    ledger.lock().unwrap().acked.insert(n);
                    break;
                }
                Ok(r) if r.status() == 409 || r.status() == 503 => {
                    tokio::time::sleep(Duration::from_millis(20)).await
                }
                Ok(r) => panic!("unexpected answer {} for event {n}", r.status()),
                // Unknown outcome: the server may have died before or after committing.
                Err(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_nine_loses_nothing_acknowledged_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("takt.db");
    let mut server = start(&db);
    let base = Arc::new(Mutex::new(server.data.clone()));
    let ledger = Arc::new(Mutex::new(Ledger::default()));
    let stop = Arc::new(Mutex::new(false));
    let clients: Vec<_> = (1..=CLIENTS as u64)
        .map(|id| tokio::spawn(client(id, base.clone(), ledger.clone(), stop.clone())))
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

    // Read back everything the hub stored.
    let http = reqwest::Client::new();
    let mut stored: BTreeMap<String, usize> = BTreeMap::new();
    let mut after = 0;
    loop {
        let url = format!("{}/v1/messages?limit=1000&after={after}", server.admin);
        let page: Value = http
            .get(url)
            .bearer_auth(OPS)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        for item in page["items"].as_array().unwrap() {
            *stored
                .entry(item["id"].as_str().unwrap().to_owned())
                .or_default() += 1;
        }
        match page["next_after"].as_i64() {
            Some(next) => after = next,
            None => break,
        }
    }
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
        let id = event(*n)["id"].as_str().unwrap().to_owned();
        assert_eq!(
            stored.get(&id),
            Some(&1),
            "acknowledged event {id} must be stored exactly once"
        );
    }
    assert!(
        stored.values().all(|&count| count == 1),
        "no event is stored twice"
    );
    let sent_ids: BTreeSet<String> = ledger
        .sent
        .iter()
        .map(|n| event(*n)["id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        stored.keys().all(|id| sent_ids.contains(id)),
        "nothing is stored that was not sent"
    );

    let verify: Value = http
        .get(format!("{}/v1/audit/verify", server.admin))
        .bearer_auth(OPS)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
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
