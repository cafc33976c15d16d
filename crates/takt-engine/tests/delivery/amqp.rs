//! The AMQP connector against the machine's RabbitMQ (`TAKT_TEST_AMQP`,
//! default amqp://127.0.0.1:5672/%2f as guest/guest).

use lapin::options::{BasicGetOptions, QueueBindOptions, QueueDeclareOptions};
use lapin::types::{AMQPValue, FieldTable};
use lapin::{Channel, Connection, ConnectionProperties};
use takt_core::store::DeliveryState;

use crate::hub::{Hub, WAIT, eventually_async, is_sorted, subscription};

fn broker_url() -> String {
    std::env::var("TAKT_TEST_AMQP").unwrap_or_else(|_| "amqp://127.0.0.1:5672/%2f".into())
}

/// A `[connector]` publishing to `exchange` with `routing_key`, as guest.
fn connector(exchange: &str, routing_key: &str) -> String {
    format!(
        "kind = \"amqp\"\nurl = \"{}\"\nusername = \"guest\"\npassword_env = \"AMQP_PASSWORD\"\nexchange = \"{exchange}\"\nrouting_key = \"{routing_key}\"",
        broker_url()
    )
}

/// A channel of the test's own, and an exclusive queue bound to `amq.topic` with `binding`.
async fn queue(binding: &str) -> (Connection, Channel, String) {
    let url = broker_url().replacen("amqp://", "amqp://guest:guest@", 1);
    let connection = Connection::connect(&url, ConnectionProperties::default())
        .await
        .expect("RabbitMQ listens (TAKT_TEST_AMQP)");
    let channel = connection.create_channel().await.unwrap();
    let options = QueueDeclareOptions {
        exclusive: true,
        auto_delete: true,
        ..QueueDeclareOptions::default()
    };
    let declared = channel
        .queue_declare("".into(), options, FieldTable::default())
        .await
        .unwrap();
    let name = declared.name().to_string();
    channel
        .queue_bind(
            name.as_str().into(),
            "amq.topic".into(),
            binding.into(),
            QueueBindOptions::default(),
            FieldTable::default(),
        )
        .await
        .unwrap();
    (connection, channel, name)
}

/// Every message waiting in `queue`, as (JSON body, message id, idempotency header).
async fn drain(channel: &Channel, queue: &str) -> Vec<(serde_json::Value, String, String)> {
    let mut messages = Vec::new();
    while let Some(got) = channel
        .basic_get(queue.into(), BasicGetOptions { no_ack: true })
        .await
        .unwrap()
    {
        let properties = &got.delivery.properties;
        let id = properties.message_id().as_ref().unwrap().to_string();
        let headers = properties.headers().as_ref().unwrap();
        let key = match headers.inner().get("Idempotency-Key") {
            Some(AMQPValue::LongString(value)) => value.to_string(),
            other => panic!("no idempotency header: {other:?}"),
        };
        let body = serde_json::from_slice(&got.delivery.data).unwrap();
        messages.push((body, id, key));
    }
    messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_confirmed_and_reach_the_bound_queue_in_order() {
    let run = uuid::Uuid::now_v7().simple().to_string();
    let (_connection, channel, queue) = queue(&format!("takt-test.{run}.#")).await;
    let config = subscription(
        &connector("amq.topic", &format!("takt-test.{run}.{{partitionkey}}")),
        true,
        "",
    );
    let mut hub = Hub::new(config).await;
    for _ in 0..8 {
        hub.accept(&["A", "B"]).await;
    }
    let mut received = Vec::new();
    let deadline = tokio::time::Instant::now() + WAIT;
    while received.len() < 16 && tokio::time::Instant::now() < deadline {
        received.extend(drain(&channel, &queue).await);
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert_eq!(received.len(), 16, "each message published once");
    for (body, id, key) in &received {
        assert_eq!(
            body["id"].as_str(),
            Some(id.as_str()),
            "message id is the CloudEvents id"
        );
        assert_eq!(key, id, "the idempotency header carries the id");
    }
    for key in ["A", "B"] {
        let numbers: Vec<u64> = received
            .iter()
            .filter(|(body, ..)| body["data"]["key"] == key)
            .map(|(body, ..)| body["data"]["n"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers.len(), 8);
        assert!(is_sorted(&numbers), "key {key} out of order: {numbers:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unroutable_message_and_a_missing_exchange_are_dead_lettered() {
    let run = uuid::Uuid::now_v7().simple().to_string();
    let unroutable = subscription(
        &connector("amq.topic", &format!("nobody-listens.{run}")),
        true,
        "",
    );
    let mut hub = Hub::new(unroutable).await;
    hub.accept(&["A"]).await;
    let dead = eventually_async(WAIT, || async {
        !hub.records(DeliveryState::DeadLettered).await.is_empty()
    })
    .await;
    assert!(dead, "a mandatory message no queue takes is dead-lettered");
    let record = &hub.records(DeliveryState::DeadLettered).await[0];
    assert_eq!(record.attempts, 1, "refused at once, not retried");
    assert!(record.last_response.contains("unroutable"), "{record:?}");

    let missing = subscription(&connector(&format!("takt-missing-{run}"), "x"), true, "");
    let mut hub = Hub::new(missing).await;
    hub.accept(&["A"]).await;
    let dead = eventually_async(WAIT, || async {
        !hub.records(DeliveryState::DeadLettered).await.is_empty()
    })
    .await;
    assert!(dead, "a missing exchange is a refusal");
    let record = &hub.records(DeliveryState::DeadLettered).await[0];
    assert!(
        record.last_response.contains("NOT_FOUND") || record.last_response.contains("404"),
        "{record:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_is_not_sent_and_retried() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let text = format!(
        "kind = \"amqp\"\nurl = \"amqp://127.0.0.1:{port}/%2f\"\nexchange = \"amq.topic\"\nrouting_key = \"x\""
    );
    let mut hub = Hub::new(subscription(&text, false, "max_attempts = 100")).await;
    hub.accept(&["A"]).await;
    let waiting = eventually_async(WAIT, || async {
        let pending = hub.records(DeliveryState::Pending).await;
        pending
            .iter()
            .any(|r| r.attempts >= 2 && r.reason.contains("cannot connect"))
    })
    .await;
    assert!(waiting, "{:?}", hub.records(DeliveryState::Pending).await);
    assert!(
        hub.records(DeliveryState::InDoubt).await.is_empty(),
        "nothing was sent, so nothing is in doubt"
    );
}
