//! How a subscription delivers: retries, backoff, circuit breaker, and what
//! happens when a message cannot be delivered (the `[policy]` table of a
//! subscription file).
//!
//! ```toml
//! [policy]
//! max_attempts = 8
//! timeout_ms = 10000
//! concurrency = 8
//! honour_retry_after = true
//! on_exhausted = "dead_letter"      # or "park_key"
//! backoff = { base_ms = 500, max_ms = 60000, jitter = 0.2 }
//! circuit = { failures = 5, open_ms = 30000 }
//! ```
//!
//! Every field has a default, so `[policy]` may be left out.

mod connector;
mod sync;

use std::path::PathBuf;

use serde::Deserialize;

pub use connector::{
    AmqpConnector, ConnectorConfig, CsvColumn, FileConnector, FileFormat, HttpAuth, HttpConnector,
    HttpSignature, MqttConnector,
};
pub use sync::{OnUnavailable, SyncConfig};

/// `subscriptions/<name>.toml`: an outbound interface. Accepted messages that
/// match its filter are mapped and delivered to one destination system.
///
/// ```toml
/// name = "erp-goods-movements"
/// description = "Material consumption posted as ERP goods movements"
/// owner = "team-erp"
/// destination = "erp-cloud"
/// contracts = ["mfg.material.consumed.v1"]
/// sites = ["1010", "2020"]
/// mapping = "mappings/erp-goods-movement.jq"
///
/// [connector]
/// kind = "http"
/// url = "https://erp.example.com/api/goods-movements"
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionConfig {
    /// Unique name.
    pub name: String,
    /// What it is for.
    pub description: String,
    /// The owning team.
    pub owner: String,
    /// The system receiving the messages (a file in `systems/`).
    pub destination: String,
    /// Contract types delivered.
    pub contracts: Vec<String>,
    /// Schema versions delivered (`"1.0"`, `"1.1"`); empty: every version.
    #[serde(default)]
    pub versions: Vec<String>,
    /// Plants whose messages are delivered; empty: every plant.
    #[serde(default)]
    pub sites: Vec<String>,
    /// A jq program from the canonical message to the destination's format,
    /// relative to the deployment directory; none: the CloudEvent as is.
    #[serde(default)]
    pub mapping: Option<PathBuf>,
    /// Which messages must arrive in accepted order relative to each other.
    #[serde(default)]
    pub ordering: Ordering,
    /// Whether the destination de-duplicates on the idempotency header. If
    /// not, a delivery whose outcome is unknown goes to the in-doubt list
    /// instead of being sent again.
    #[serde(default = "yes")]
    pub idempotent: bool,
    /// The header that carries the message id, for the destination to
    /// de-duplicate on.
    #[serde(default = "idempotency_header")]
    pub idempotency_header: String,
    /// How messages are handed over.
    pub connector: ConnectorConfig,
    /// Retries, backoff, circuit breaker and dead-lettering.
    #[serde(default)]
    pub policy: DeliveryPolicy,
}

fn yes() -> bool {
    true
}

fn idempotency_header() -> String {
    "Idempotency-Key".into()
}

/// Which messages of a subscription are delivered in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Ordering {
    /// Messages with the same `partitionkey` (the contract's ordering key,
    /// e.g. the production order) in accepted order; keys in parallel.
    #[default]
    Partitionkey,
    /// Messages with the same `subject`.
    Subject,
    /// No order: every message may go at once (up to the concurrency).
    None,
}

/// A subscription's delivery policy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryPolicy {
    /// Attempts per message before it is exhausted (at least 1).
    pub max_attempts: u32,
    /// Deadline of one attempt, connect to last response byte.
    pub timeout_ms: u64,
    /// Messages (of different ordering keys) in flight at once.
    pub concurrency: u32,
    /// Wait at least what a `Retry-After` header asks (up to `retry_after_max_ms`).
    pub honour_retry_after: bool,
    /// The longest `Retry-After` honoured; a longer one is cut to this.
    pub retry_after_max_ms: u64,
    /// What an exhausted or refused message does to its ordering key.
    pub on_exhausted: OnExhausted,
    /// Delay between attempts.
    pub backoff: Backoff,
    /// When to stop calling a failing destination for a while.
    pub circuit: CircuitPolicy,
    /// How many undelivered messages may wait, and what producers get past that.
    pub backlog: BacklogPolicy,
}

impl Default for DeliveryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 8,
            timeout_ms: 10_000,
            concurrency: 8,
            honour_retry_after: true,
            retry_after_max_ms: 3_600_000,
            on_exhausted: OnExhausted::DeadLetter,
            backoff: Backoff::default(),
            circuit: CircuitPolicy::default(),
            backlog: BacklogPolicy::default(),
        }
    }
}

/// Exponential backoff: attempt `n` (from 1) failed, so wait
/// `min(max_ms, base_ms · 2^(n-1))`, spread by ± `jitter` of itself.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Backoff {
    /// Delay after the first failed attempt.
    pub base_ms: u64,
    /// Longest delay.
    pub max_ms: u64,
    /// Fraction (0 to 1) by which each delay is spread at random, so that
    /// many waiting messages do not retry in the same instant.
    pub jitter: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            base_ms: 500,
            max_ms: 60_000,
            jitter: 0.2,
        }
    }
}

/// Circuit breaker: after `failures` retryable failures in a row, no call is
/// made for `open_ms`; then one probe decides whether to close it again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CircuitPolicy {
    /// Consecutive retryable failures that open the circuit (0: never opens).
    pub failures: u32,
    /// How long it stays open before a probe.
    pub open_ms: u64,
}

impl Default for CircuitPolicy {
    fn default() -> Self {
        Self {
            failures: 5,
            open_ms: 30_000,
        }
    }
}

/// `backlog = { max_messages = 100000, on_full = "reject" }`: a bound on
/// what waits for this subscription (messages accepted after its cursor,
/// plus those waiting for a retry), checked every second.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BacklogPolicy {
    /// Undelivered messages allowed before `on_full` applies (at least 1).
    pub max_messages: u64,
    /// What producers of the subscription's contracts get past the limit.
    pub on_full: OnBacklogFull,
}

impl Default for BacklogPolicy {
    fn default() -> Self {
        Self {
            max_messages: 1_000_000,
            on_full: OnBacklogFull::Reject,
        }
    }
}

/// What a full backlog does to the interfaces producing its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnBacklogFull {
    /// New messages for the subscription get 503 with `Retry-After` until
    /// the backlog is back under 90 % of the limit.
    #[default]
    Reject,
    /// Keep accepting into the durable log; only the store quota
    /// (`[quota] store_bytes` in takt.toml, then 507) stops producers.
    Accept,
}

/// What happens to the ordering key of a message that is dead-lettered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExhausted {
    /// The message goes to the dead-letter queue; later messages of its key
    /// go on being delivered.
    #[default]
    DeadLetter,
    /// The message goes to the dead-letter queue and its key is parked:
    /// later messages of that key wait until it is redriven or discarded.
    ParkKey,
}

impl DeliveryPolicy {
    /// The first field that makes no sense, as (field, reason).
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if self.max_attempts == 0 {
            return Some(("policy.max_attempts", "must be at least 1".into()));
        }
        if self.concurrency == 0 {
            return Some(("policy.concurrency", "must be at least 1".into()));
        }
        if self.timeout_ms == 0 {
            return Some(("policy.timeout_ms", "must be more than 0".into()));
        }
        if self.backoff.base_ms > self.backoff.max_ms {
            return Some((
                "policy.backoff.base_ms",
                format!(
                    "{} is more than backoff.max_ms ({})",
                    self.backoff.base_ms, self.backoff.max_ms
                ),
            ));
        }
        if self.backlog.max_messages == 0 {
            return Some(("policy.backlog.max_messages", "must be at least 1".into()));
        }
        if !(0.0..=1.0).contains(&self.backoff.jitter) {
            return Some((
                "policy.backoff.jitter",
                format!("{} is not between 0 and 1", self.backoff.jitter),
            ));
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_subscription_file_reads_with_its_defaults() {
        let file = r#"
            name = "erp-goods-movements"
            description = "Material consumption posted as ERP goods movements"
            owner = "team-erp"
            destination = "erp-cloud"
            contracts = ["mfg.material.consumed.v1"]
            [connector]
            kind = "http"
            url = "http://127.0.0.1:9000/goods-movements/{id}"
        "#;
        let sub: SubscriptionConfig = toml::from_str(file).unwrap();
        assert_eq!(sub.ordering, Ordering::Partitionkey);
        assert!(sub.idempotent);
        assert_eq!(sub.idempotency_header, "Idempotency-Key");
        assert_eq!(sub.policy, DeliveryPolicy::default());
        let ConnectorConfig::Http(http) = &sub.connector else {
            panic!("an HTTP connector")
        };
        assert_eq!(http.method, "POST");
        let unknown_kind = file.replace("kind = \"http\"", "kind = \"smtp\"");
        let error = toml::from_str::<SubscriptionConfig>(&unknown_kind).unwrap_err();
        assert!(error.to_string().contains("smtp"), "{error}");
    }

    #[test]
    fn every_connector_kind_reads_with_its_defaults() {
        let mqtt: ConnectorConfig =
            toml::from_str("kind = \"mqtt\"\nhost = \"127.0.0.1\"\ntopic = \"t/{siteid}\"")
                .unwrap();
        let ConnectorConfig::Mqtt(mqtt) = mqtt else {
            panic!("mqtt")
        };
        assert_eq!(
            (mqtt.port, mqtt.keep_alive_secs, mqtt.retain),
            (1883, 30, false)
        );
        let amqp: ConnectorConfig = toml::from_str(
            "kind = \"amqp\"\nurl = \"amqp://h/%2f\"\nexchange = \"x\"\nrouting_key = \"{type}\"\npassword_env = \"P\"",
        )
        .unwrap();
        assert_eq!(
            amqp.secret_variables(),
            vec![("connector.password_env", "P")]
        );
        let ConnectorConfig::Amqp(amqp) = amqp else {
            panic!("amqp")
        };
        assert!(amqp.mandatory && amqp.persistent);
        let file: ConnectorConfig = toml::from_str(
            "kind = \"file\"\ndir = \"out\"\nformat = \"csv\"\ncolumns = [{ name = \"m\", pointer = \"/MATNR\" }]",
        )
        .unwrap();
        let ConnectorConfig::File(file) = file else {
            panic!("file")
        };
        assert_eq!(file.format, FileFormat::Csv);
        assert_eq!(
            (file.delimiter, file.header, file.roll_records),
            (',', true, 1000)
        );
        let typo = toml::from_str::<ConnectorConfig>("kind = \"file\"\ndir = \"out\"\nroll = 3");
        assert!(typo.unwrap_err().to_string().contains("roll"));
    }

    #[test]
    fn defaults_fill_what_a_file_leaves_out() {
        let policy: DeliveryPolicy =
            toml::from_str("max_attempts = 3\nbackoff = { base_ms = 100 }").unwrap();
        assert_eq!(policy.max_attempts, 3);
        assert_eq!(policy.backoff.base_ms, 100);
        assert_eq!(policy.backoff.max_ms, 60_000);
        assert_eq!(policy.on_exhausted, OnExhausted::DeadLetter);
        assert_eq!(policy.problem(), None);
    }

    #[test]
    fn nonsense_is_named_by_field() {
        let policy: DeliveryPolicy =
            toml::from_str("backoff = { base_ms = 5000, max_ms = 100 }").unwrap();
        assert_eq!(policy.problem().unwrap().0, "policy.backoff.base_ms");
        let policy: DeliveryPolicy = toml::from_str("on_exhausted = \"park_key\"").unwrap();
        assert_eq!(policy.on_exhausted, OnExhausted::ParkKey);
        let unknown = toml::from_str::<DeliveryPolicy>("retries = 3").unwrap_err();
        assert!(unknown.to_string().contains("retries"), "{unknown}");
    }
}
