//! The MQTT connector: every message is published at QoS 1 and counts as
//! delivered when the broker's PUBACK for it arrives.
//!
//! One connection per subscription, driven by a task that polls rumqttc's
//! event loop. rumqttc numbers publishes itself and reports each number as
//! the publish goes out, in the order they were queued; the connector keeps
//! a queue of waiters in that same order, so it learns each message's packet
//! id and can hand its PUBACK to the right attempt.
//!
//! When the connection drops, the whole client is replaced (its queue with
//! it), so a message is never sent later behind the connector's back:
//! messages already written to the broker are reported as *no answer* (they
//! may have arrived), messages still queued as *not sent*. While the broker
//! cannot be reached, attempts answer *not sent* after a short wait.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Outgoing as Sent, Packet, QoS};
use takt_core::delivery::AttemptOutcome;
use takt_core::store::BoxFuture;
use takt_model::delivery::{MqttConnector, SubscriptionConfig};
use tokio::sync::{oneshot, watch};

use super::DeliveryError;
use super::connector::{Connector, Outgoing, Report, credentials};
use super::http::Secrets;

/// The largest message the connector publishes.
const MAX_PACKET_BYTES: usize = 4 * 1024 * 1024;

/// An MQTT broker, ready to publish to.
pub struct MqttDelivery {
    topic: String,
    retain: bool,
    timeout: Duration,
    link: Arc<Link>,
    driver: tokio::task::JoinHandle<()>,
}

/// What the publishing side and the event-loop task share.
struct Link {
    state: Mutex<LinkState>,
    connected: watch::Sender<bool>,
}

#[derive(Default)]
struct LinkState {
    /// The current connection's client; none while disconnected.
    client: Option<AsyncClient>,
    /// Queued publishes not yet written, in queue order.
    queued: VecDeque<oneshot::Sender<Ack>>,
    /// Written publishes waiting for their PUBACK, by packet id.
    written: HashMap<u16, oneshot::Sender<Ack>>,
    /// Why the last connection attempt failed.
    last_error: String,
}

/// How a publish ended, as the event-loop task saw it.
enum Ack {
    Acked,
    NotSent(String),
    Lost(String),
}

impl MqttDelivery {
    /// Builds the connector of `subscription` and starts connecting (needs a
    /// tokio runtime).
    pub fn new(
        subscription: &SubscriptionConfig,
        config: &MqttConnector,
        secrets: Secrets<'_>,
    ) -> Result<Self, DeliveryError> {
        let client_id = config
            .client_id
            .clone()
            .unwrap_or_else(|| format!("takt-{}", subscription.name));
        let mut options = MqttOptions::new(client_id, config.host.clone(), config.port);
        options
            .set_keep_alive(Duration::from_secs(config.keep_alive_secs))
            .set_clean_session(true)
            .set_max_packet_size(MAX_PACKET_BYTES, MAX_PACKET_BYTES)
            .set_inflight(
                u16::try_from(subscription.policy.concurrency.max(1)).unwrap_or(u16::MAX),
            );
        let login = credentials(
            secrets,
            subscription,
            config.username.as_ref(),
            config.password_env.as_ref(),
        )?;
        if let Some((username, password)) = login {
            options.set_credentials(username, password);
        }
        let link = Arc::new(Link {
            state: Mutex::new(LinkState::default()),
            connected: watch::channel(false).0,
        });
        let address = format!("{}:{}", config.host, config.port);
        let driver = tokio::spawn(drive(options, link.clone(), address));
        Ok(Self {
            topic: config.topic.clone(),
            retain: config.retain,
            timeout: Duration::from_millis(subscription.policy.timeout_ms),
            link,
            driver,
        })
    }

    /// Queues the publish and returns its waiter, or why it cannot be queued.
    fn queue(&self, topic: String, payload: Vec<u8>) -> Result<oneshot::Receiver<Ack>, String> {
        let mut state = self.link.lock();
        let Some(client) = state.client.clone() else {
            return Err(format!(
                "not connected to the MQTT broker: {}",
                state.last_error
            ));
        };
        let (done, waiter) = oneshot::channel();
        // Queued under the lock, so waiters and publishes keep one order.
        match client.try_publish(topic, QoS::AtLeastOnce, self.retain, payload) {
            Ok(()) => {
                state.queued.push_back(done);
                Ok(waiter)
            }
            Err(e) => Err(format!("cannot queue the publish: {e}")),
        }
    }

    async fn wait_for_connection(&self) {
        let mut connected = self.link.connected.subscribe();
        let wait = self.timeout.min(Duration::from_secs(2));
        let _ = tokio::time::timeout(wait, connected.wait_for(|c| *c)).await;
    }
}

impl Link {
    fn lock(&self) -> MutexGuard<'_, LinkState> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Connector for MqttDelivery {
    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Report> {
        Box::pin(async move {
            let topic = message.expand(&self.topic, |v| v.replace(['+', '#', '\0'], "_"));
            if !*self.link.connected.borrow() {
                self.wait_for_connection().await;
            }
            let waiter = match self.queue(topic.clone(), message.body.clone()) {
                Ok(waiter) => waiter,
                Err(reason) => return report(AttemptOutcome::NotSent { reason }, String::new()),
            };
            let outcome = match tokio::time::timeout(self.timeout, waiter).await {
                Ok(Ok(Ack::Acked)) => {
                    return report(
                        AttemptOutcome::Answered {
                            status: 200,
                            retry_after_ms: None,
                        },
                        format!("PUBACK on {topic}"),
                    );
                }
                Ok(Ok(Ack::NotSent(reason))) => AttemptOutcome::NotSent { reason },
                Ok(Ok(Ack::Lost(reason))) => AttemptOutcome::NoAnswer { reason },
                Ok(Err(_)) => AttemptOutcome::NoAnswer {
                    reason: "the MQTT connection task stopped".into(),
                },
                Err(_) => AttemptOutcome::NoAnswer {
                    reason: format!("no PUBACK within {} ms", self.timeout.as_millis()),
                },
            };
            report(outcome, String::new())
        })
    }
}

impl Drop for MqttDelivery {
    fn drop(&mut self) {
        self.driver.abort();
    }
}

fn report(outcome: AttemptOutcome, response: String) -> Report {
    Report { outcome, response }
}

/// Connects, pumps the event loop, settles waiters; on a lost connection
/// settles every waiter and starts over with a new client.
async fn drive(options: MqttOptions, link: Arc<Link>, address: String) {
    let mut pause = Duration::from_millis(100);
    loop {
        let (client, mut events) = AsyncClient::new(options.clone(), 64);
        match events.poll().await {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                tracing::info!(broker = %address, "connected to the MQTT broker");
                link.lock().client = Some(client);
                link.connected.send_replace(true);
                pause = Duration::from_millis(100);
                let error = pump(&mut events, &link).await;
                tracing::warn!(broker = %address, error = %error, "lost the MQTT connection");
                link.connected.send_replace(false);
                settle_all(&link, &error);
            }
            Ok(other) => link.lock().last_error = format!("unexpected first packet {other:?}"),
            Err(e) => link.lock().last_error = format!("{address}: {e}"),
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(5));
    }
}

/// Polls until the connection fails; returns why.
async fn pump(events: &mut EventLoop, link: &Link) -> String {
    loop {
        match events.poll().await {
            Ok(Event::Outgoing(Sent::Publish(packet_id))) => {
                let mut state = link.lock();
                if let Some(waiter) = state.queued.pop_front() {
                    state.written.insert(packet_id, waiter);
                }
            }
            Ok(Event::Incoming(Packet::PubAck(ack))) => {
                if let Some(waiter) = link.lock().written.remove(&ack.pkid) {
                    let _ = waiter.send(Ack::Acked);
                }
            }
            Ok(_) => {}
            Err(e) => return e.to_string(),
        }
    }
}

/// The connection is gone with its client and queue: written publishes may
/// have arrived, queued ones never will.
fn settle_all(link: &Link, error: &str) {
    let mut state = link.lock();
    state.client = None;
    state.last_error = error.to_owned();
    for (_, waiter) in state.written.drain() {
        let _ = waiter.send(Ack::Lost(format!("connection lost before PUBACK: {error}")));
    }
    for waiter in state.queued.drain(..) {
        let _ = waiter.send(Ack::NotSent(format!(
            "connection lost before sending: {error}"
        )));
    }
}
