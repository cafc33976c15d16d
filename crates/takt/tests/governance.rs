//! The governed catalog through `takt serve` and the `takt catalog` CLI: a
//! proposal needs an approver other than its proposer; activation changes
//! what the running hub does from the next request on; a rollback restores
//! exactly the earlier catalog (same files, same digest, same behaviour); history and audit record every step; and at a restart a
//! directory edited by hand does not silently replace a reviewed version.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

use takt_testkit::{
    Hub, copy_dir, example, get_json, post_json, repository, start_hub, start_hub_with, start_serve,
};

const ADMIN: &str = "acme-demo-integration-admin";
const MES: &str = "acme-demo-mes-plant2020";

/// `takt --json <args>` against `hub`'s admin API as `token`.
fn takt(hub: &Hub, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_takt"))
        .arg("--json")
        .args(args)
        .env("TAKT_ADMIN_URL", &hub.admin)
        .env("TAKT_TOKEN", token)
        .output()
        .unwrap()
}

/// What a failed command said (`--json` puts the error on standard output).
fn failure(output: &Output) -> String {
    assert!(!output.status.success(), "expected a failure");
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "takt failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// A new API key and its SHA-256, from `takt key new`.
fn new_key() -> (String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_takt"))
        .args(["--json", "key", "new"])
        .output()
        .unwrap();
    let answer = json_of(&output);
    (
        answer["key"].as_str().unwrap().to_owned(),
        answer["sha256"].as_str().unwrap().to_owned(),
    )
}

/// The acme deployment where the integration admin may also approve (so
/// that refusing its own proposal is the four-eyes rule, not a missing
/// role), plus a quality lead who only approves. Returns the directory
/// and the quality lead's key.
fn deployment(dir: &Path) -> (PathBuf, String) {
    let config = dir.join("acme");
    copy_dir(&repository().join("examples/acme"), &config).unwrap();
    let admin = config.join("operators/integration-admin.toml");
    let text = std::fs::read_to_string(&admin).unwrap().replace(
        r#"roles = ["admin", "operator"]"#,
        r#"roles = ["admin", "operator", "approver"]"#,
    );
    std::fs::write(&admin, text).unwrap();
    let (key, sha256) = new_key();
    std::fs::write(
        config.join("operators/quality-lead.toml"),
        format!(
            "name = \"quality-lead\"\nroles = [\"approver\"]\n\n[[credentials]]\nkind = \"api_key\"\nid = \"quality-lead-1\"\nsha256 = \"{sha256}\"\n"
        ),
    )
    .unwrap();
    (config, key)
}

/// The same deployment, edited: plant 2020's interface no longer carries
/// operation confirmations.
fn without_confirmations(config: &Path, into: &Path) -> PathBuf {
    let edited = into.join("edited");
    copy_dir(config, &edited).unwrap();
    let interface = edited.join("interfaces/mes2020-production.toml");
    let text = std::fs::read_to_string(&interface)
        .unwrap()
        .replace("    \"mfg.operation.completed.v1\",\n", "");
    std::fs::write(&interface, text).unwrap();
    edited
}

/// Posts confirmation `n` from plant 2020's MES: the HTTP status.
async fn confirm(hub: &Hub, n: u64) -> u16 {
    let mut event = example("mfg.operation.completed.v1", "valid-final-no-scrap.json");
    event["id"] = json!(format!("0193a3f0-6c2e-7b1a-9d4e-{n:012x}"));
    post_json(&format!("{}/v1/events", hub.data), MES, &event)
        .await
        .0
}

async fn catalog_version(hub: &Hub, n: u32) -> Value {
    get_json(&format!("{}/v1/catalog/versions/{n}", hub.admin), ADMIN).await
}

async fn versions(hub: &Hub) -> Value {
    get_json(&format!("{}/v1/catalog/versions", hub.admin), ADMIN).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reviewed_change_goes_live_and_a_rollback_restores_exactly_what_ran() {
    let dir = tempfile::tempdir().unwrap();
    let (config, approver) = deployment(dir.path());
    let db = dir.path().join("takt.db");
    let bin = Path::new(env!("CARGO_BIN_EXE_takt"));
    let hub = start_hub(bin, &config, &db);

    // The directory became version 1.
    let history = versions(&hub).await;
    assert_eq!(history["active"], 1);
    assert_eq!(history["versions"][0]["kind"], "imported");
    let first_digest = history["versions"][0]["digest"].clone();
    assert_eq!(confirm(&hub, 1).await, 202);

    // The integration admin proposes the edited directory.
    let edited = without_confirmations(&config, dir.path());
    let edited_arg = edited.to_str().unwrap();
    let proposed = json_of(&takt(
        &hub,
        ADMIN,
        &[
            "catalog",
            "propose",
            edited_arg,
            "--title",
            "plant 2020 stops confirming operations",
        ],
    ));
    let id = proposed["id"].as_i64().unwrap();
    assert_eq!(proposed["state"], "proposed");
    assert_eq!(proposed["base_version"], 1);
    assert_eq!(
        proposed["changes"]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["interfaces/mes2020-production.toml"]
    );
    let review = json_of(&takt(&hub, ADMIN, &["catalog", "diff", &id.to_string()]));
    let diff = review["diff"].as_str().unwrap();
    assert!(
        diff.contains("--- a/interfaces/mes2020-production.toml")
            && diff.contains("-    \"mfg.operation.completed.v1\","),
        "{diff}"
    );
    assert_eq!(review["conflicts"], json!([]));

    // Not live before approval; its proposer cannot approve it, even with
    // the approver role; the quality lead can, once.
    let early = failure(&takt(
        &hub,
        ADMIN,
        &["catalog", "activate", &id.to_string()],
    ));
    assert!(early.contains("not approved yet"), "{early}");
    let own = failure(&takt(&hub, ADMIN, &["catalog", "approve", &id.to_string()]));
    assert!(
        own.contains("forbidden") && own.contains("cannot approve it"),
        "{own}"
    );
    assert_eq!(confirm(&hub, 2).await, 202, "nothing changed yet");
    let approved = json_of(&takt(
        &hub,
        &approver,
        &[
            "catalog",
            "approve",
            &id.to_string(),
            "--comment",
            "agreed with the MES team",
        ],
    ));
    assert_eq!(approved["state"], "approved");
    assert_eq!(approved["decided_by"], "quality-lead");
    let twice = failure(&takt(
        &hub,
        &approver,
        &["catalog", "approve", &id.to_string()],
    ));
    assert!(twice.contains("is approved, not proposed"), "{twice}");

    // Activation: the next request meets version 2.
    let activated = json_of(&takt(
        &hub,
        ADMIN,
        &["catalog", "activate", &id.to_string()],
    ));
    assert_eq!(activated["version"], 2);
    assert_eq!(activated["proposal"], id);
    let refused = confirm(&hub, 3).await;
    assert!(
        (400..500).contains(&refused),
        "confirmations are no longer carried: {refused}"
    );

    // Rollback to version 1: version 3, the same files, the same behaviour.
    let rolled = json_of(&takt(
        &hub,
        ADMIN,
        &[
            "catalog",
            "rollback",
            "1",
            "--reason",
            "the MES team is not ready",
        ],
    ));
    assert_eq!(rolled["version"], 3);
    assert_eq!(rolled["restores"], 1);
    assert_eq!(rolled["digest"], first_digest);
    assert_eq!(confirm(&hub, 4).await, 202);
    let (first, second, third) = (
        catalog_version(&hub, 1).await,
        catalog_version(&hub, 2).await,
        catalog_version(&hub, 3).await,
    );
    assert_eq!(
        first["files"], third["files"],
        "version 3 holds version 1's files"
    );
    assert_ne!(first["files"], second["files"]);
    let metrics = reqwest::get(format!("{}/metrics", hub.admin))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("takt_catalog_version 3"), "{metrics}");
    let again = failure(&takt(&hub, ADMIN, &["catalog", "rollback", "1"]));
    assert!(again.contains("nothing to roll back"), "{again}");

    // History, newest first, and an intact audit chain.
    let history = json_of(&takt(&hub, ADMIN, &["catalog", "history"]));
    let kinds: Vec<&str> = history["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["kind"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["rolled_back", "activated", "imported"]);
    assert_eq!(history["versions"][1]["principal"], "integration-admin");
    let proposals = json_of(&takt(&hub, ADMIN, &["catalog", "proposals"]));
    assert_eq!(proposals["proposals"][0]["state"], "activated");
    assert_eq!(proposals["proposals"][0]["activated_version"], 2);
    let audit = get_json(&format!("{}/v1/audit/verify", hub.admin), ADMIN).await;
    assert_eq!(audit["intact"], true, "{audit}");
    // The import, four postings (one refused), the proposal, two refused
    // approvals and a refused activation, the approval, the activation,
    // the rollback and the refused second rollback.
    assert_eq!(audit["entries"], 13, "{audit}");
    drop(hub);

    // A restart with the hand-edited directory keeps the reviewed version 3…
    let hub = start_hub(bin, &edited, &db);
    assert_eq!(versions(&hub).await["active"], 3);
    assert_eq!(confirm(&hub, 5).await, 202);
    drop(hub);
    // …unless the operator adopts the directory.
    let hub = start_hub_with(bin, &edited, &db, &["--adopt"]);
    let history = versions(&hub).await;
    assert_eq!(history["active"], 4);
    assert_eq!(history["versions"][0]["kind"], "adopted");
    assert_ne!(confirm(&hub, 6).await, 202);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_proposals_are_refused_naming_the_file_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let (config, approver) = deployment(dir.path());
    let hub = start_hub(
        Path::new(env!("CARGO_BIN_EXE_takt")),
        &config,
        &dir.path().join("takt.db"),
    );
    let url = format!("{}/v1/catalog/proposals", hub.admin);
    let change = |path: &str, content: Value| json!({"title": "t", "changes": {path: content}});

    // A reference to an unknown system: 422 naming file and field.
    let broken = std::fs::read_to_string(config.join("interfaces/mes1010-production.toml"))
        .unwrap()
        .replace(
            "producers = [\"mes-plant1010\"]",
            "producers = [\"mes-plant9999\"]",
        );
    let (status, problem) = post_json(
        &url,
        ADMIN,
        &change("interfaces/mes1010-production.toml", json!(broken)),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let message = problem["errors"][0]["message"].as_str().unwrap();
    assert!(
        message.starts_with("interfaces/mes1010-production.toml")
            && message.contains("field `producers`")
            && message.contains("mes-plant9999"),
        "{message}"
    );
    // Refused with 400 and a detail that says why: outside the catalog, no
    // change, no title, an unknown base, a control character in a path.
    let refused = |body: Value, says: &'static str| {
        let url = url.clone();
        async move {
            let (status, problem) = post_json(&url, ADMIN, &body).await;
            assert_eq!(status, 400, "{body}: {problem}");
            let detail = problem["detail"].as_str().unwrap_or_default().to_owned();
            assert!(detail.contains(says), "{body}: {detail}");
        }
    };
    refused(change("takt.toml", json!("x")), "not a catalog file").await;
    refused(json!({"title": "t", "changes": {}}), "changes nothing").await;
    refused(json!({"changes": {}}), "title").await;
    refused(
        json!({"title": "t", "changes": {"lifecycle.toml": ""}, "base_version": 99}),
        "field `base_version`: there is no catalog version 99",
    )
    .await;
    refused(
        change("interfaces/a\n+++ b/x.toml", json!("")),
        "control character",
    )
    .await;
    let (status, _) = post_json(&url, &approver, &change("lifecycle.toml", json!(""))).await;
    assert_eq!(status, 403, "approvers review; admins propose");
    // An approval can be withdrawn by the proposer before activation.
    let (_, approved) = post_json(
        &url,
        ADMIN,
        &change("lifecycle.toml", json!("# reviewed\n")),
    )
    .await;
    let id = approved["id"].as_i64().unwrap();
    let (status, _) = post_json(&format!("{url}/{id}/approve"), &approver, &json!({})).await;
    assert_eq!(status, 200);
    let (status, withdrawn) = post_json(
        &format!("{url}/{id}/reject"),
        ADMIN,
        &json!({"reason": "the plant asked to wait"}),
    )
    .await;
    assert_eq!(
        (status, withdrawn["state"].as_str()),
        (200, Some("rejected")),
        "{withdrawn}"
    );
    let (status, _) = post_json(&format!("{url}/{id}/activate"), ADMIN, &json!({})).await;
    assert_eq!(status, 409, "a withdrawn approval cannot be activated");
    // Rejected proposals cannot be activated.
    let (status, proposal) = post_json(&url, ADMIN, &change("lifecycle.toml", json!(""))).await;
    assert_eq!(status, 201, "{proposal}");
    let id = proposal["id"].as_i64().unwrap();
    let (status, rejected) = post_json(
        &format!("{url}/{id}/reject"),
        &approver,
        &json!({"reason": "not now"}),
    )
    .await;
    assert_eq!(
        (status, rejected["state"].as_str()),
        (200, Some("rejected"))
    );
    let (status, problem) = post_json(&format!("{url}/{id}/activate"), ADMIN, &json!({})).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["type"], "urn:takt:problem:catalog_conflict");
}

/// The machine's PostgreSQL (`TAKT_TEST_POSTGRES`, default: loopback, trust
/// auth, database `test`). It must be reachable: a missing server fails.
fn postgres_url() -> String {
    std::env::var("TAKT_TEST_POSTGRES")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into())
}

/// Runs `sql` on the test database.
async fn postgres(sql: &str) {
    let (client, connection) = tokio_postgres::connect(&postgres_url(), tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL at {:?} is required: {e}", postgres_url()));
    tokio::spawn(connection);
    client.batch_execute(sql).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_activated_on_one_instance_runs_on_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let (config, approver) = deployment(dir.path());
    let schema = format!("takt_follow_{}", std::process::id());
    postgres(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
    let settings = config.join("takt.toml");
    let text = std::fs::read_to_string(&settings).unwrap().replace(
        "kind = \"sqlite\"\npath = \"takt-data/takt.db\"",
        &format!(
            "kind = \"postgres\"\nurl = \"{}\"\nschema = \"{schema}\"",
            postgres_url()
        ),
    );
    assert!(text.contains(&schema), "the storage section was rewritten");
    std::fs::write(&settings, text).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_takt"));
    let args = [std::ffi::OsStr::new("--config"), config.as_os_str()];
    let (first, second) = (start_serve(bin, &args), start_serve(bin, &args));
    assert_eq!(confirm(&second, 1).await, 202);

    let edited = without_confirmations(&config, dir.path());
    let title = "plant 2020 stops confirming operations";
    let proposed = json_of(&takt(
        &first,
        ADMIN,
        &[
            "catalog",
            "propose",
            edited.to_str().unwrap(),
            "--title",
            title,
        ],
    ));
    let id = proposed["id"].as_i64().unwrap().to_string();
    json_of(&takt(&first, &approver, &["catalog", "approve", &id]));
    let version = json_of(&takt(&first, ADMIN, &["catalog", "activate", &id]));
    assert_eq!(version["version"], 2);
    assert_ne!(
        confirm(&first, 2).await,
        202,
        "the activating instance at once"
    );

    // The other instance looks every two seconds.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut n = 3;
    while confirm(&second, n).await == 202 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the second instance never followed"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        n += 1;
    }
    drop((first, second));
    postgres(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE")).await;
}
