//! `takt dlq …` and `takt status`: the operator's view of the dead-letter
//! queue.

use std::time::Duration;

use serde_json::Value;
use takt_testkit::{Erp, Fault, Hub, eventually};

use crate::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_list_inspect_redrive_and_discard_dead_letters_with_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let (mut hub, erp) = hub_and_erp(dir.path(), false).await;
    erp.fail_all(Fault::Status(422));
    post_consumptions(&hub, 4).await;
    dead_lettered(&hub, 4).await;

    let seqs = list_shows_every_dead_letter(&hub).await;
    list_filters_and_pages(&hub, &seqs).await;
    show_gives_the_history_and_the_answer(&hub, seqs[0]).await;
    discard_needs_a_reason(&hub, seqs[0]).await;
    assert_eq!(listed_seqs(&hub, "").await, seqs[1..]);

    erp.heal();
    redrive_delivers_each_message_once(&hub, &erp, &seqs[1..]).await;
    assert_eq!(
        postings(&erp, &id_of(1)),
        0,
        "the discarded message is never posted"
    );
    assert!(listed_seqs(&hub, "").await.is_empty());

    hub.child.kill().unwrap();
    hub.child.wait().unwrap();
}

/// `dlq list` as JSON and as a table; the seqs, in order.
async fn list_shows_every_dead_letter(hub: &Hub) -> Vec<i64> {
    let listed = run_json(hub, "dlq list").await;
    let items = listed.as_array().unwrap();
    assert_eq!(items.len(), 4, "{listed}");
    for (item, order) in items.iter().zip(1..) {
        assert_eq!(item["subscription"], SUBSCRIPTION);
        assert_eq!(item["state"], "dead_lettered");
        assert_eq!(item["id"], id_of(order));
        assert_eq!(item["last_status"], 422);
        assert!(item["reason"].as_str().unwrap().contains("422"), "{item}");
    }
    let seqs: Vec<i64> = items.iter().map(|i| i["seq"].as_i64().unwrap()).collect();

    let text = run(hub, "dlq list", 0).await;
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        6,
        "a header, a row per message, a count: {text}"
    );
    let header: Vec<&str> = lines[0].split_whitespace().collect();
    assert_eq!(header[..3], ["SUBSCRIPTION", "SEQ", "STATE"], "{text}");
    assert_eq!(header.last(), Some(&"REASON"), "{text}");
    let row: Vec<&str> = lines[1].split_whitespace().collect();
    let seq = seqs[0].to_string();
    assert_eq!(row[..3], [SUBSCRIPTION, &seq, "dead_lettered"], "{text}");
    assert!(
        lines[1].ends_with("the destination refused the message with 422"),
        "{text}"
    );
    assert_eq!(lines[5], "4 messages");
    seqs
}

async fn list_filters_and_pages(hub: &Hub, seqs: &[i64]) {
    assert_eq!(
        listed_seqs(hub, "--page-size 1").await,
        seqs,
        "one record per request"
    );
    assert_eq!(listed_seqs(hub, "--page-size 2 --limit 3").await, seqs[..3]);
    assert_eq!(listed_seqs(hub, "--site 1010 --reason 422").await, seqs);
    assert_eq!(
        listed_seqs(
            hub,
            "--destination erp-central --type mfg.material.consumed.v1"
        )
        .await,
        seqs
    );
    assert_eq!(listed_seqs(hub, "--older-than-secs 0").await, seqs);
    for nothing in [
        "--site 2020",
        "--reason-contains timeout",
        "--state pending,in_doubt",
        "--destination wms-central",
        "--subscription other",
        "--older-than-secs 3600",
    ] {
        assert!(listed_seqs(hub, nothing).await.is_empty(), "{nothing}");
    }
    assert_eq!(
        run(hub, "dlq list --site 2020", 0).await,
        "no dead_lettered or in_doubt message matches\n"
    );
}

async fn show_gives_the_history_and_the_answer(hub: &Hub, seq: i64) {
    let shown = run_json(hub, &format!("dlq show {SUBSCRIPTION} {seq}")).await;
    assert_eq!(shown["state"], "dead_lettered");
    assert_eq!(
        shown["history"].as_array().unwrap().len(),
        1,
        "one attempt: {shown}"
    );
    assert_eq!(shown["history"][0]["attempt"], 1);
    assert_eq!(shown["history"][0]["outcome"], "refused");
    assert_eq!(shown["history"][0]["status"], 422);

    let text = run(hub, &format!("dlq show {SUBSCRIPTION} {seq}"), 0).await;
    assert!(
        text.starts_with(&format!("{SUBSCRIPTION} {seq}: dead_lettered\n")),
        "{text}"
    );
    assert!(
        text.contains("  last answer:   422\n    {\"error\":\"simulated 422\"}\n"),
        "{text}"
    );
    let (_, history) = text.split_once("\n\n").unwrap();
    let lines: Vec<&str> = history.lines().collect();
    assert_eq!(lines.len(), 2, "{text}");
    assert!(lines[0].starts_with("ATTEMPT  STARTED"), "{text}");
    let cells: Vec<&str> = lines[1]
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(cells[0], "1", "{text}");
    assert_eq!(cells[3..5], ["refused", "422"], "{text}");
}

async fn discard_needs_a_reason(hub: &Hub, seq: i64) {
    let seq_text = seq.to_string();
    let refused = takt(hub, OPS, &["dlq", "discard", SUBSCRIPTION, &seq_text]).await;
    exits(&refused, 2);
    assert!(
        stderr(&refused).contains("required arguments were not provided:\n  --reason <TEXT>"),
        "{}",
        stderr(&refused)
    );
    let args = [
        "dlq",
        "discard",
        SUBSCRIPTION,
        &seq_text,
        "--reason",
        "posted by hand in the ERP",
    ];
    let discarded = takt(hub, OPS, &args).await;
    exits(&discarded, 0);
    assert_eq!(
        stdout(&discarded),
        format!("{SUBSCRIPTION} {seq}: discarded\ndiscarded 1, skipped 0, not found 0\n")
    );
    let shown = run_json(hub, &format!("dlq show {SUBSCRIPTION} {seq}")).await;
    assert_eq!(shown["state"], "discarded");
    assert_eq!(
        shown["reason"],
        "discarded by ops-oncall: posted by hand in the ERP"
    );
}

/// Redrives the first message by name (named twice, then again), the rest
/// with --all-matching; the ERP posts each exactly once.
async fn redrive_delivers_each_message_once(hub: &Hub, erp: &Erp, seqs: &[i64]) {
    let first = seqs[0];
    let once = run_json(hub, &format!("dlq redrive {SUBSCRIPTION} {first} {first}")).await;
    assert_eq!(
        once["results"],
        json!([{"subscription": SUBSCRIPTION, "seq": first, "outcome": "redriven", "state": "pending"}]),
        "named twice, acted on once"
    );
    assert_eq!(once["counts"]["redriven"], 1);
    let again = run(hub, &format!("dlq redrive {SUBSCRIPTION} {first}"), 0).await;
    assert!(
        again.starts_with(&format!("{SUBSCRIPTION} {first}: skipped: it is ")),
        "{again}"
    );
    let rest = format!(
        "dlq redrive --all-matching --subscription {SUBSCRIPTION} --reason-contains 422 --page-size 1"
    );
    let text = run(hub, &rest, 0).await;
    assert!(
        text.ends_with("redriven 2, skipped 0, not found 0\n"),
        "{text}"
    );

    let ids: Vec<String> = (2..=4).map(id_of).collect();
    let delivered = eventually(Duration::from_secs(20), || {
        ids.iter().all(|id| postings(erp, id) > 0)
    })
    .await;
    assert!(delivered, "the redriven messages reach the ERP");
    assert_eq!(
        run(hub, "dlq redrive --all-matching", 0).await,
        "no dead-lettered or in-doubt message matches\n"
    );
    run(hub, &format!("dlq redrive {SUBSCRIPTION} {}", seqs[1]), 0).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    for id in &ids {
        assert_eq!(postings(erp, id), 1, "{id} is posted exactly once");
    }
    let missing = run(hub, &format!("dlq redrive {SUBSCRIPTION} 999999"), 1).await;
    assert!(missing.contains("999999: not found"), "{missing}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_paging_across_subscriptions_and_the_hubs_problems() {
    let dir = tempfile::tempdir().unwrap();
    let (mut hub, erp) = hub_and_erp(dir.path(), true).await;
    erp.fail_all(Fault::Status(422));
    post_consumptions(&hub, 3).await;
    dead_lettered(&hub, 6).await;

    status_shows_every_subscription(&hub).await;
    // Each event has a record per subscription under one seq: a page must
    // not end between them, or the next one (after that seq) skips the rest.
    let all = listed(&hub, "").await;
    assert_eq!(all.len(), 6, "{all:?}");
    for size in 2..=5 {
        let paged = listed(&hub, &format!("--page-size {size}")).await;
        assert_eq!(paged, all, "pages of {size}");
    }
    problems_reach_the_operator(&hub).await;

    // --all-matching across subscriptions: a request per subscription and page
    erp.heal();
    let text = run(&hub, "dlq redrive --all-matching --page-size 3", 0).await;
    assert!(
        text.ends_with("redriven 6, skipped 0, not found 0\n"),
        "{text}"
    );
    let ids: Vec<String> = (1..=3).map(id_of).collect();
    let delivered = eventually(Duration::from_secs(20), || {
        ids.iter().all(|id| postings(&erp, id) == 2)
    })
    .await;
    assert!(
        delivered,
        "each message reaches the ERP once per subscription"
    );

    hub.child.kill().unwrap();
    hub.child.wait().unwrap();
    let gone = takt(&hub, OPS, &["status"]).await;
    exits(&gone, 3);
    assert!(
        stderr(&gone).starts_with(&format!(
            "error: cannot reach the hub's admin API at {}/v1/deliveries/status: ",
            hub.admin
        )),
        "{}",
        stderr(&gone)
    );
    let gone = takt(&hub, OPS, &["--json", "dlq", "list"]).await;
    exits(&gone, 3);
    let error: Value = serde_json::from_slice(&gone.stdout).unwrap();
    assert_eq!(error["error"]["code"], "unreachable");
}

/// `takt status`, with the admin settings from the environment.
async fn status_shows_every_subscription(hub: &Hub) {
    let env = [("TAKT_ADMIN_URL", hub.admin.as_str()), ("TAKT_TOKEN", OPS)];
    let text = takt_env(&["status"], &env).await;
    exits(&text, 0);
    let text = stdout(&text);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    let header: Vec<&str> = lines[0]
        .split("  ")
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(
        header,
        [
            "SUBSCRIPTION",
            "DESTINATION",
            "CURSOR",
            "IN FLIGHT",
            "PENDING",
            "DEAD-LETTERED",
            "IN DOUBT",
            "BACKLOG",
            "CIRCUIT",
            "LAG"
        ]
    );
    for (line, name) in lines[1..].iter().zip([SUBSCRIPTION, MIRROR]) {
        let row: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(row[..2], [name, "erp-central"], "{text}");
        assert_eq!(row[3..9], ["0", "0", "3", "0", "0", "closed"], "{text}");
    }
    let status = takt_env(&["--json", "status"], &env).await;
    exits(&status, 0);
    let status: Value = serde_json::from_slice(&status.stdout).unwrap();
    let first = &status["subscriptions"][0];
    assert_eq!(first["subscription"], SUBSCRIPTION);
    assert_eq!(first["dead_lettered"], 3);
    assert_eq!(first["in_doubt"], 0);
}

/// The hub's problems: title and detail on standard error (or the code
/// with --json), exit code 3.
async fn problems_reach_the_operator(hub: &Hub) {
    let wrong = takt(hub, "not-a-key", &["dlq", "list"]).await;
    exits(&wrong, 3);
    assert!(
        stderr(&wrong).starts_with("error: Authentication required (HTTP 401)"),
        "{}",
        stderr(&wrong)
    );
    assert!(stdout(&wrong).is_empty());
    let wrong = takt(hub, "not-a-key", &["--json", "status"]).await;
    exits(&wrong, 3);
    let error: Value = serde_json::from_slice(&wrong.stdout).unwrap();
    assert_eq!(error["error"]["code"], "unauthenticated", "{error}");

    let system = takt(hub, MES, &["dlq", "redrive", SUBSCRIPTION, "1"]).await;
    exits(&system, 3);
    assert!(
        stderr(&system).contains("error: Not allowed: mes-plant1010 has no admin API role"),
        "{}",
        stderr(&system)
    );
    let anonymous = takt_env(&["status", "--admin-url", &hub.admin], &[]).await;
    exits(&anonymous, 3);
    assert!(stderr(&anonymous).contains("--token or TAKT_TOKEN"));

    let unknown = takt(hub, OPS, &["dlq", "redrive", "no-such-subscription", "1"]).await;
    exits(&unknown, 3);
    let message = stderr(&unknown);
    assert!(
        message.starts_with("error: Not found: ") && message.contains("(HTTP 404)"),
        "{message}"
    );
    let unknown = takt(hub, OPS, &["dlq", "show", SUBSCRIPTION, "999999"]).await;
    exits(&unknown, 3);
    assert!(stderr(&unknown).contains("has no record of message 999999"));
}
