//! The AMQP 0.9.1 connector (RabbitMQ and other brokers): every message is
//! published to an exchange with publisher confirms.
//!
//! The broker's ack is delivered; its nack is retried (the broker could not
//! store the message); a `mandatory` message that no queue takes comes back
//! and is refused, so it is dead-lettered instead of dropped; a missing
//! exchange is refused too. A failure before the publish is written is *not
//! sent*; a connection lost while waiting for the confirm is *no answer*.
//!
//! The message id property and the subscription's idempotency header carry
//! the CloudEvents id, for consumers that de-duplicate.

use std::time::Duration;

use lapin::options::{BasicPublishOptions, ConfirmSelectOptions};
use lapin::types::{AMQPValue, FieldTable, LongString, ShortString};
use lapin::uri::AMQPUri;
use lapin::{BasicProperties, Channel, Confirmation, Connection, ConnectionProperties, ErrorKind};
use takt_core::delivery::AttemptOutcome;
use takt_core::store::BoxFuture;
use takt_model::delivery::{AmqpConnector, SubscriptionConfig};
use tokio::sync::Mutex;

use super::DeliveryError;
use super::connector::{Connector, Outgoing, REPLAY_HEADER, Report, config_error, credentials};
use super::http::Secrets;

/// An AMQP exchange, ready to publish to.
pub struct AmqpDelivery {
    uri: AMQPUri,
    exchange: String,
    routing_key: String,
    mandatory: bool,
    persistent: bool,
    idempotency_header: String,
    timeout: Duration,
    /// The open connection and its confirm-mode channel; reopened when lost.
    open: Mutex<Option<(Connection, Channel)>>,
}

impl AmqpDelivery {
    /// Builds the connector of `subscription`; it connects on first use.
    pub fn new(
        subscription: &SubscriptionConfig,
        config: &AmqpConnector,
        secrets: Secrets<'_>,
    ) -> Result<Self, DeliveryError> {
        let mut uri: AMQPUri = config.url.parse().map_err(|e| {
            let reason = format!("{:?} is not an AMQP URI: {e}", config.url);
            config_error(subscription, "connector.url", reason)
        })?;
        let login = credentials(
            secrets,
            subscription,
            config.username.as_ref(),
            config.password_env.as_ref(),
        )?;
        if let Some((username, password)) = login {
            uri.authority.userinfo.username = username;
            uri.authority.userinfo.password = password;
        }
        Ok(Self {
            uri,
            exchange: config.exchange.clone(),
            routing_key: config.routing_key.clone(),
            mandatory: config.mandatory,
            persistent: config.persistent,
            idempotency_header: subscription.idempotency_header.clone(),
            timeout: Duration::from_millis(subscription.policy.timeout_ms),
            open: Mutex::new(None),
        })
    }

    /// The open channel, connecting first if there is none.
    async fn channel(&self) -> Result<Channel, String> {
        let mut open = self.open.lock().await;
        if let Some((connection, channel)) = open.as_ref()
            && connection.status().connected()
            && channel.status().connected()
        {
            return Ok(channel.clone());
        }
        *open = None;
        let connection = Connection::connect_uri(self.uri.clone(), ConnectionProperties::default())
            .await
            .map_err(|e| format!("cannot connect to the AMQP broker: {e}"))?;
        let channel = connection
            .create_channel()
            .await
            .map_err(|e| format!("cannot open an AMQP channel: {e}"))?;
        channel
            .confirm_select(ConfirmSelectOptions::default())
            .await
            .map_err(|e| format!("the broker refused publisher confirms: {e}"))?;
        *open = Some((connection, channel.clone()));
        Ok(channel)
    }

    fn properties(&self, message: &Outgoing) -> BasicProperties {
        let mut headers = FieldTable::default();
        for (name, value) in [
            (self.idempotency_header.as_str(), &message.id),
            ("ce-type", &message.contract),
            ("ce-subject", &message.subject),
            ("ce-siteid", &message.site),
        ] {
            headers.insert(
                ShortString::from(name),
                AMQPValue::LongString(LongString::from(value.as_str())),
            );
        }
        if message.replay {
            headers.insert(ShortString::from(REPLAY_HEADER), AMQPValue::Boolean(true));
        }
        BasicProperties::default()
            .with_message_id(ShortString::from(message.id.as_str()))
            .with_content_type(ShortString::from("application/json"))
            .with_type(ShortString::from(message.contract.as_str()))
            .with_delivery_mode(if self.persistent { 2 } else { 1 })
            .with_headers(headers)
    }

    /// Publishes on `channel` and waits for the broker's confirm.
    async fn publish(&self, channel: Channel, message: &Outgoing) -> Report {
        let routing_key = message.expand(&self.routing_key, str::to_owned);
        let options = BasicPublishOptions {
            mandatory: self.mandatory,
            ..BasicPublishOptions::default()
        };
        let confirm = match channel
            .basic_publish(
                ShortString::from(self.exchange.as_str()),
                ShortString::from(routing_key.as_str()),
                options,
                &message.body,
                self.properties(message),
            )
            .await
        {
            Ok(confirm) => confirm,
            Err(e) => return self.failed(&e, false).await,
        };
        match confirm.await {
            Ok(Confirmation::Ack(None) | Confirmation::NotRequested) => report(
                answered(200),
                format!(
                    "confirmed by the broker (exchange {:?}, routing key {routing_key:?})",
                    self.exchange
                ),
            ),
            Ok(Confirmation::Ack(Some(returned))) => report(
                answered(404),
                format!(
                    "returned unroutable: {} {} (exchange {:?}, routing key {routing_key:?}): no queue takes it",
                    returned.reply_code, returned.reply_text, self.exchange
                ),
            ),
            Ok(Confirmation::Nack(_)) => report(
                answered(503),
                "the broker could not take the message (nack)".into(),
            ),
            Err(e) => self.failed(&e, true).await,
        }
    }

    /// A publish or its confirm failed: the channel is dropped so the next
    /// attempt opens a new one. The broker closing the channel because the
    /// exchange does not exist is a refusal, not a transient failure.
    async fn failed(&self, error: &lapin::Error, written: bool) -> Report {
        *self.open.lock().await = None;
        let text = error.to_string();
        if let ErrorKind::ProtocolError(amqp) = error.kind()
            && amqp.get_id() == 404
        {
            return report(answered(404), text);
        }
        let outcome = if written {
            AttemptOutcome::NoAnswer {
                reason: format!("no confirm from the broker: {text}"),
            }
        } else {
            AttemptOutcome::NotSent {
                reason: format!("cannot publish: {text}"),
            }
        };
        report(outcome, String::new())
    }
}

impl Connector for AmqpDelivery {
    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Report> {
        Box::pin(async move {
            let channel = match tokio::time::timeout(self.timeout, self.channel()).await {
                Ok(Ok(channel)) => channel,
                Ok(Err(reason)) => {
                    return report(AttemptOutcome::NotSent { reason }, String::new());
                }
                Err(_) => {
                    let reason = format!("cannot connect within {} ms", self.timeout.as_millis());
                    return report(AttemptOutcome::NotSent { reason }, String::new());
                }
            };
            match tokio::time::timeout(self.timeout, self.publish(channel, message)).await {
                Ok(report) => report,
                Err(_) => {
                    // The publish may be written and its confirm lost: start
                    // over on a new channel.
                    *self.open.lock().await = None;
                    let reason = format!("no confirm within {} ms", self.timeout.as_millis());
                    report(AttemptOutcome::NoAnswer { reason }, String::new())
                }
            }
        })
    }
}

fn answered(status: u16) -> AttemptOutcome {
    AttemptOutcome::Answered {
        status,
        retry_after_ms: None,
    }
}

fn report(outcome: AttemptOutcome, response: String) -> Report {
    Report { outcome, response }
}
