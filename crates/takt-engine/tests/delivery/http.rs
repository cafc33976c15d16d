//! The delivery engine against the simulated ERP over real HTTP, on a real
//! SQLite store: order per key, retries, Retry-After, dead letters, parked
//! keys, in-doubt messages, redrive and discard, auth and signatures, and
//! resuming after a stop.

use std::time::Duration;

use takt_core::store::{DeliveryState, Store};
use takt_engine::delivery::{HttpDelivery, sign};
use takt_model::delivery::ConnectorConfig;
use takt_testkit::{Erp, Fault, eventually};

use crate::hub::{Hub, WAIT, config, eventually_async, is_sorted, numbers_of, postings};
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_arrive_in_accepted_order_while_different_keys_go_in_parallel() {
    let erp = Erp::start(false).await;
    erp.fail_all(Fault::Slow(Duration::from_millis(5)));
    let mut hub = Hub::new(config(&erp.url(), true, "")).await;
    for _ in 0..15 {
        hub.accept(&["A", "B", "C", "D"]).await;
    }
    assert!(
        eventually(WAIT, || erp.effects().len() == 60).await,
        "{} of 60 delivered",
        erp.effects().len()
    );
    let all = postings(&erp);
    for key in ["A", "B", "C", "D"] {
        let numbers = numbers_of(&all, key);
        assert_eq!(numbers.len(), 15, "key {key} delivered once each");
        assert!(is_sorted(&numbers), "key {key} out of order: {numbers:?}");
    }
    assert!(
        erp.most_concurrent() > 1,
        "different keys are delivered in parallel"
    );
    assert!(
        erp.most_concurrent() <= 4,
        "never more than the policy's concurrency"
    );
    for attempt in erp.attempts() {
        assert_eq!(attempt.uri, "/postings/1010", "the URL template is filled");
        assert_eq!(
            attempt.headers["idempotency-key"], attempt.body["id"],
            "the message id goes along as the idempotency key"
        );
    }
    // Nothing needed a record: the cursor alone moved.
    assert!(eventually(WAIT, || hub.engine().subscriptions().count() == 1).await);
    assert!(hub.records(DeliveryState::Pending).await.is_empty());
    hub.engine().stop().await;
    assert_eq!(
        hub.store.delivery_cursor("erp-postings").await.unwrap(),
        60,
        "the cursor is written at stop"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_key_holds_back_only_its_own_key_and_retry_after_is_honoured() {
    let erp = Erp::start(true).await;
    erp.fail_matching(
        "\"key\":\"A\"",
        Fault::Unavailable {
            retry_after_secs: 1,
        },
        2,
    );
    let mut hub = Hub::new(config(&erp.url(), true, "")).await;
    hub.accept(&["A", "B", "A", "B", "B"]).await;
    assert!(eventually(WAIT, || erp.effects().len() == 5).await);
    let all = postings(&erp);
    assert_eq!(
        numbers_of(&all, "A"),
        [1, 3],
        "A in order after its retries"
    );
    assert_eq!(numbers_of(&all, "B"), [2, 4, 5]);
    let first_b = all.iter().position(|(k, _)| k == "B").unwrap();
    assert_eq!(first_b, 0, "B did not wait for A: {all:?}");
    let a_attempts: Vec<_> = erp
        .attempts()
        .into_iter()
        .filter(|a| a.body["data"]["n"] == 1)
        .collect();
    assert_eq!(a_attempts.len(), 3, "two refusals, then delivered");
    let gap = a_attempts[1].at - a_attempts[0].at;
    assert!(
        gap >= Duration::from_millis(950),
        "Retry-After: 1 is honoured (waited {gap:?})"
    );
    let delivered = hub.records(DeliveryState::Delivered).await;
    let history = hub
        .store
        .delivery_attempts("erp-postings", delivered[0].seq)
        .await
        .unwrap();
    assert_eq!(
        history
            .iter()
            .map(|a| (a.attempt, a.outcome.as_str(), a.status))
            .collect::<Vec<_>>(),
        [
            (1, "retry", Some(503)),
            (2, "retry", Some(503)),
            (3, "delivered", Some(201)),
        ]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_messages_are_dead_lettered_and_a_repeated_redrive_delivers_once() {
    let erp = Erp::start(false).await;
    erp.fail_matching("\"n\":1,", Fault::Status(422), 1);
    let mut hub = Hub::new(config(&erp.url(), true, "")).await;
    hub.accept(&["A", "A"]).await;
    assert!(eventually(WAIT, || erp.effects().len() == 1).await);
    assert_eq!(
        numbers_of(&postings(&erp), "A"),
        [2],
        "dead_letter: the key goes on"
    );
    // The key's next message may go out before the dead letter's record is committed.
    let recorded = eventually_async(WAIT, || async {
        hub.records(DeliveryState::DeadLettered).await.len() == 1
    });
    assert!(recorded.await, "the dead letter is recorded");
    let dead = hub.records(DeliveryState::DeadLettered).await;
    assert_eq!(dead[0].last_status, Some(422));
    assert!(
        dead[0].last_response.contains("simulated 422"),
        "the answer is kept: {}",
        dead[0].last_response
    );
    assert!(dead[0].reason.contains("refused"), "{}", dead[0].reason);

    // Two operators redrive at once, each naming the message twice, then
    // once more: one delivery.
    let seq = dead[0].seq;
    let engine = hub.engine();
    let (first, second) = tokio::join!(
        engine.redrive("erp-postings", vec![seq, seq], "ops-anna"),
        engine.redrive("erp-postings", vec![seq, seq], "ops-ben"),
    );
    let outcomes: Vec<_> = [first.unwrap(), second.unwrap()]
        .iter()
        .flatten()
        .map(|r| r.outcome)
        .collect();
    assert_eq!(outcomes.len(), 4);
    let redriven = outcomes.iter().filter(|o| **o == "redriven").count();
    assert_eq!(redriven, 1, "{outcomes:?}");
    assert!(eventually(WAIT, || erp.effects().len() == 2).await);
    let again = engine
        .redrive("erp-postings", vec![seq], "ops-anna")
        .await
        .unwrap();
    assert_eq!(again[0].outcome, "skipped", "{again:?}");
    assert!(
        matches!(again[0].state, Some("pending" | "delivered")),
        "{again:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(erp.effects().len(), 2, "redriving twice delivers once");
    assert_eq!(
        engine
            .redrive("erp-postings", vec![999], "ops-anna")
            .await
            .unwrap()[0]
            .outcome,
        "not_found"
    );
    let audit = hub.store.audit_entries(1, 100).await.unwrap();
    let actions: Vec<_> = audit
        .iter()
        .map(|e| (e.draft.action.as_str(), e.draft.principal.as_str()))
        .collect();
    assert!(
        actions.contains(&("delivery.dead_letter", "system")),
        "{actions:?}"
    );
    assert_eq!(
        actions.iter().filter(|a| a.0 == "delivery.redrive").count(),
        1,
        "one redrive happened: {actions:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_is_dead_lettered_with_its_location_not_followed() {
    let erp = Erp::start(false).await;
    // Followed, a 301 would come back as a GET without the posting, and the
    // simulated ERP answers every request 201: delivered, with nothing posted.
    let elsewhere = format!("{}/moved", erp.url());
    erp.fail_matching(
        "\"n\":1,",
        Fault::Redirect {
            status: 301,
            location: elsewhere.clone(),
        },
        1,
    );
    let mut hub = Hub::new(config(&erp.url(), true, "")).await;
    hub.accept(&["A", "A"]).await;
    assert!(eventually(WAIT, || erp.effects().len() == 1).await);
    // The key's next message may go out before the dead letter's record is committed.
    let recorded = eventually_async(WAIT, || async {
        hub.records(DeliveryState::DeadLettered).await.len() == 1
    });
    assert!(recorded.await, "the dead letter is recorded");
    let dead = hub.records(DeliveryState::DeadLettered).await;
    assert_eq!(dead[0].last_status, Some(301));
    assert!(dead[0].reason.contains("redirect"), "{}", dead[0].reason);
    assert!(
        dead[0]
            .last_response
            .contains(&format!("Location: {elsewhere}")),
        "{}",
        dead[0].last_response
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    let methods: Vec<String> = erp.attempts().into_iter().map(|a| a.method).collect();
    assert_eq!(methods, ["POST", "POST"], "nothing followed the redirect");
    assert_eq!(numbers_of(&postings(&erp), "A"), [2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_parked_key_waits_until_its_message_is_discarded() {
    let erp = Erp::start(false).await;
    erp.fail_matching("\"n\":1,", Fault::Status(500), 10);
    let policy = "max_attempts = 2\non_exhausted = \"park_key\"";
    let mut hub = Hub::new(config(&erp.url(), true, policy)).await;
    hub.accept(&["A", "A", "B", "A"]).await;
    assert!(eventually(WAIT, || erp.effects().len() == 1).await);
    assert!(eventually(WAIT, || erp.attempts().len() == 3).await);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        postings(&erp),
        [("B".to_owned(), 3)],
        "A is parked behind its dead letter"
    );
    let dead = hub.records(DeliveryState::DeadLettered).await;
    assert!(
        dead[0].holds_key && dead[0].reason.starts_with("gave up after 2 attempts"),
        "{dead:?}"
    );
    let result = hub
        .engine()
        .discard(
            "erp-postings",
            vec![dead[0].seq],
            "posted by hand in the ERP",
            "ops-anna",
        )
        .await
        .unwrap();
    assert_eq!(result[0].outcome, "discarded");
    assert!(eventually(WAIT, || erp.effects().len() == 3).await);
    assert_eq!(
        numbers_of(&postings(&erp), "A"),
        [2, 4],
        "A goes on in order once its head is discarded"
    );
    let discarded = hub.records(DeliveryState::Discarded).await;
    assert!(
        discarded[0].reason.contains("ops-anna: posted by hand"),
        "{}",
        discarded[0].reason
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_outcome_is_in_doubt_for_a_destination_that_cannot_deduplicate() {
    let erp = Erp::start(false).await;
    erp.fail_matching("\"n\":1,", Fault::ResetAfterCommit, 1);
    let mut hub = Hub::new(config(&erp.url(), false, "")).await;
    hub.accept(&["A", "A", "B"]).await;
    assert!(eventually(WAIT, || erp.effects().len() == 2).await);
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(
        erp.effects().len(),
        2,
        "the message is not sent again, and A's next waits"
    );
    assert_eq!(numbers_of(&postings(&erp), "B"), [3]);
    let doubt = hub.records(DeliveryState::InDoubt).await;
    assert_eq!(doubt.len(), 1);
    assert!(
        doubt[0].reason.contains("may have received"),
        "{}",
        doubt[0].reason
    );
    // The operator checked the ERP: it was posted. Discarding lets A go on.
    hub.engine()
        .discard(
            "erp-postings",
            vec![doubt[0].seq],
            "found in the ERP",
            "ops-anna",
        )
        .await
        .unwrap();
    assert!(eventually(WAIT, || erp.effects().len() == 3).await);
    assert_eq!(numbers_of(&postings(&erp), "A"), [1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_outcome_is_resent_to_a_destination_that_deduplicates() {
    let erp = Erp::start(true).await;
    erp.fail_matching("\"n\":1,", Fault::ResetAfterCommit, 1);
    erp.fail_matching("\"n\":2,", Fault::Hang, 1);
    let mut hub = Hub::new(config(&erp.url(), true, "")).await;
    hub.accept(&["A", "B"]).await;
    assert!(
        eventually(WAIT, || erp.attempts().len() == 4).await,
        "{} attempts",
        erp.attempts().len()
    );
    assert!(eventually(WAIT, || erp.effects().len() == 2).await);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        erp.effects().len(),
        2,
        "resent after a reset and after a timeout; one effect each"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_circuit_opens_after_failures_in_a_row() {
    let erp = Erp::start(true).await;
    erp.fail_all(Fault::Status(503));
    let policy = "circuit = { failures = 3, open_ms = 1500 }\nconcurrency = 1";
    let mut hub = Hub::new(config(&erp.url(), true, policy)).await;
    hub.accept(&["A", "B", "C", "D"]).await;
    assert!(eventually(WAIT, || erp.attempts().len() >= 3).await);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(
        erp.attempts().len(),
        3,
        "no calls while the circuit is open"
    );
    let status = hub.engine().status().await.unwrap();
    assert_eq!(status[0].circuit, "open");
    let pending = hub.records(DeliveryState::Pending).await;
    assert!(
        pending[0]
            .reason
            .starts_with("attempt 1 failed: the destination answered 503; next attempt at 20"),
        "a pending message says why and when: {}",
        pending[0].reason
    );
    erp.heal();
    assert!(
        eventually(WAIT, || erp.effects().len() == 4).await,
        "a probe closes it again"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_basic_and_signature_headers_are_sent() {
    let erp = Erp::start(true).await;
    let mut with_bearer = config(&erp.url(), true, "");
    let ConnectorConfig::Http(http) = &mut with_bearer.connector else {
        unreachable!("an HTTP subscription")
    };
    http.auth = Some(toml::from_str("kind = \"bearer\"\ntoken_env = \"ERP_TOKEN\"").unwrap());
    http.signature = Some(toml::from_str("secret_env = \"ERP_SIGNING\"").unwrap());
    http.headers.insert("X-ERP-Client".into(), "takt".into());
    let mut hub = Hub::new(with_bearer).await;
    hub.accept(&["A"]).await;
    assert!(eventually(WAIT, || erp.effects().len() == 1).await);
    let attempt = &erp.attempts()[0];
    assert_eq!(attempt.headers["authorization"], "Bearer t0ken");
    assert_eq!(attempt.headers["x-erp-client"], "takt");
    let body = serde_json::to_vec(&attempt.body).unwrap();
    assert_eq!(
        attempt.headers["x-takt-signature"],
        sign(b"signing-key", &body),
        "HMAC-SHA256 over the body"
    );

    let mut with_basic = config(&erp.url(), true, "");
    let ConnectorConfig::Http(http) = &mut with_basic.connector else {
        unreachable!("an HTTP subscription")
    };
    http.auth = Some(
        toml::from_str("kind = \"basic\"\nusername = \"takt\"\npassword_env = \"ERP_PASSWORD\"")
            .unwrap(),
    );
    let no_secrets = |_: &str| None;
    let ConnectorConfig::Http(http) = &with_basic.connector else {
        unreachable!("an HTTP subscription")
    };
    let missing = HttpDelivery::new(&with_basic, http, &no_secrets)
        .err()
        .unwrap();
    assert_eq!(
        missing.to_string(),
        "subscription erp-postings: field `connector.auth.password_env`: the environment variable ERP_PASSWORD is not set"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_engine_resumes_where_it_stopped_without_losing_a_message() {
    let erp = Erp::start(true).await;
    erp.fail_all(Fault::Slow(Duration::from_millis(20)));
    let mut hub = Hub::new(config(&erp.url(), true, "")).await;
    for _ in 0..10 {
        hub.accept(&["A", "B", "C"]).await;
    }
    assert!(eventually(WAIT, || erp.effects().len() >= 5).await);
    // Stopped abruptly: the engine is dropped with attempts under way.
    drop(hub.engine.take());
    let config = config(&erp.url(), true, "");
    hub.start(config);
    assert!(
        eventually(WAIT, || erp.effects().len() == 30).await,
        "{} of 30",
        erp.effects().len()
    );
    let all = postings(&erp);
    for key in ["A", "B", "C"] {
        let numbers = numbers_of(&all, key);
        assert_eq!(numbers.len(), 10, "each message once at the ERP");
        assert!(is_sorted(&numbers), "{key}: {numbers:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_larger_than_the_window_stays_in_the_log_and_drains_once() {
    let erp = Erp::start(true).await;
    erp.fail_all(Fault::Hang);
    let mut hub = Hub::new(config(&erp.url(), true, "timeout_ms = 300")).await;
    let keys: Vec<String> = (0..1_500).map(|k| format!("K{k}")).collect();
    for chunk in keys.chunks(250) {
        let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
        hub.accept(&chunk).await;
    }
    assert!(eventually(WAIT, || erp.attempts().len() >= 4).await);
    let status = hub.engine().status().await.unwrap();
    assert!(
        (1..=1_024).contains(&status[0].unsettled),
        "at most the window (1,024) of 1,500 is held in memory, got {}",
        status[0].unsettled
    );
    assert_eq!(
        status[0].cursor, 0,
        "nothing is settled while the ERP hangs"
    );
    erp.heal();
    assert!(
        eventually(Duration::from_secs(60), || erp.effects().len() == 1_500).await,
        "{} of 1,500 delivered",
        erp.effects().len()
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(erp.effects().len(), 1_500, "each message once");
}
