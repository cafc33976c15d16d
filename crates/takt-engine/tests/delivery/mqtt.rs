//! The MQTT connector against the machine's Mosquitto (`TAKT_TEST_MQTT`,
//! default 127.0.0.1:1883), and against a Mosquitto of the test's own that
//! starts late, for an unreachable broker.

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};

use rumqttc::{AsyncClient, Event, MqttOptions, Packet, QoS};
use takt_core::store::DeliveryState;
use takt_testkit::eventually;

use crate::hub::{Hub, WAIT, eventually_async, is_sorted, subscription};

fn broker() -> (String, u16) {
    let address = std::env::var("TAKT_TEST_MQTT").unwrap_or_else(|_| "127.0.0.1:1883".into());
    let (host, port) = address
        .rsplit_once(':')
        .expect("TAKT_TEST_MQTT is host:port");
    (host.to_owned(), port.parse().expect("a port number"))
}

/// Every message published under `filter`, as (topic, JSON body), in arrival order.
async fn listen(
    host: &str,
    port: u16,
    filter: &str,
) -> Arc<Mutex<Vec<(String, serde_json::Value)>>> {
    let id = format!("takt-test-listener-{}", uuid::Uuid::now_v7());
    let (client, mut events) = AsyncClient::new(MqttOptions::new(id, host, port), 64);
    let received = Arc::new(Mutex::new(Vec::new()));
    let (subscribed, is_subscribed) = tokio::sync::oneshot::channel();
    client.subscribe(filter, QoS::AtLeastOnce).await.unwrap();
    let sink = received.clone();
    tokio::spawn(async move {
        let _client = client;
        let mut subscribed = Some(subscribed);
        while let Ok(event) = events.poll().await {
            match event {
                Event::Incoming(Packet::SubAck(_)) => {
                    subscribed.take().map(|s| s.send(()));
                }
                Event::Incoming(Packet::Publish(p)) => {
                    let body = serde_json::from_slice(&p.payload).unwrap();
                    sink.lock().unwrap().push((p.topic.clone(), body));
                }
                _ => {}
            }
        }
    });
    tokio::time::timeout(WAIT, is_subscribed)
        .await
        .unwrap()
        .unwrap();
    received
}

fn connector(host: &str, port: u16, run: &str) -> String {
    format!(
        "kind = \"mqtt\"\nhost = \"{host}\"\nport = {port}\ntopic = \"takt-test/{run}/{{siteid}}/{{partitionkey}}\"\nclient_id = \"takt-{run}\""
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_are_published_at_qos1_in_order_per_key() {
    let (host, port) = broker();
    let run = uuid::Uuid::now_v7().simple().to_string();
    let received = listen(&host, port, &format!("takt-test/{run}/#")).await;
    let mut hub = Hub::new(subscription(&connector(&host, port, &run), true, "")).await;
    for _ in 0..10 {
        hub.accept(&["A", "B"]).await;
    }
    assert!(
        eventually(WAIT, || received.lock().unwrap().len() >= 20).await,
        "{} of 20 published",
        received.lock().unwrap().len()
    );
    let received = received.lock().unwrap().clone();
    assert_eq!(received.len(), 20, "each message published once");
    for key in ["A", "B"] {
        let numbers: Vec<u64> = received
            .iter()
            .filter(|(topic, _)| *topic == format!("takt-test/{run}/1010/{key}"))
            .map(|(_, body)| body["data"]["n"].as_u64().unwrap())
            .collect();
        assert_eq!(numbers.len(), 10, "key {key} on its own topic");
        assert!(is_sorted(&numbers), "key {key} out of order: {numbers:?}");
    }
    assert!(
        received.iter().all(|(_, body)| body["id"].is_string()),
        "the id travels in the body"
    );
    assert!(
        eventually_async(WAIT, || async {
            hub.records(DeliveryState::Pending).await.is_empty()
        })
        .await
    );
}

/// A Mosquitto of the test's own on `port`, stopped when dropped.
struct OwnBroker(Child);

impl OwnBroker {
    fn start(port: u16) -> Self {
        // Debian installs it in /usr/sbin, which not every PATH holds.
        let binary = ["/usr/sbin/mosquitto", "/usr/bin/mosquitto"]
            .into_iter()
            .find(|p| std::path::Path::new(p).exists())
            .unwrap_or("mosquitto");
        let child = Command::new(binary)
            .args(["-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto is installed (apt-get install mosquitto)");
        Self(child)
    }
}

impl Drop for OwnBroker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_broker_is_retried_until_it_comes_up() {
    let port = free_port();
    let run = uuid::Uuid::now_v7().simple().to_string();
    // A long enough pause between attempts to subscribe before the retries go.
    let policy = "max_attempts = 100\nbackoff = { base_ms = 1500, max_ms = 1500, jitter = 0.0 }";
    let config = subscription(&connector("127.0.0.1", port, &run), false, policy);
    let mut hub = Hub::new(config).await;
    hub.accept(&["A", "A", "B"]).await;
    let waiting = eventually_async(WAIT, || async {
        let pending = hub.records(DeliveryState::Pending).await;
        pending
            .iter()
            .any(|r| r.reason.contains("not connected to the MQTT broker"))
    })
    .await;
    assert!(
        waiting,
        "attempts are recorded as not sent while the broker is down"
    );
    assert!(
        hub.records(DeliveryState::InDoubt).await.is_empty(),
        "nothing was sent"
    );

    let _broker = OwnBroker::start(port);
    let connected = eventually_async(WAIT, || async {
        tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
    })
    .await;
    assert!(connected, "the test's broker listens");
    let received = listen("127.0.0.1", port, &format!("takt-test/{run}/#")).await;
    hub.accept(&["A"]).await;
    assert!(
        eventually_async(WAIT, || async {
            hub.records(DeliveryState::Pending).await.is_empty()
                && received.lock().unwrap().len() == 4
        })
        .await,
        "everything delivered once the broker is up: {:?}",
        received.lock().unwrap()
    );
    let order: Vec<u64> = received
        .lock()
        .unwrap()
        .iter()
        .filter(|(topic, _)| topic.ends_with("/A"))
        .map(|(_, body)| body["data"]["n"].as_u64().unwrap())
        .collect();
    assert_eq!(order, [1, 2, 4], "key A in accepted order, each once");
    let delivered = hub.records(DeliveryState::Delivered).await;
    assert!(
        delivered.len() >= 3,
        "the retried messages are recorded delivered"
    );
    assert!(hub.records(DeliveryState::InDoubt).await.is_empty());
}
