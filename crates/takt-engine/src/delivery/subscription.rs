//! A subscription ready to run: its filter, ordering key, compiled mapping
//! and connector.

use std::sync::Arc;

use takt_core::mapping::{MapEnv, Mapping};
use takt_core::store::NewEvent;
use takt_model::delivery::{ConnectorConfig, Ordering, SubscriptionConfig};

use super::DeliveryError;
use super::amqp::AmqpDelivery;
use super::connector::{Connector, Outgoing};
use super::convert::Conversion;
use super::file::FileDelivery;
use super::http::{HttpDelivery, Secrets};
use super::mqtt::MqttDelivery;

/// One subscription, compiled.
pub struct Subscription {
    /// As configured.
    pub config: SubscriptionConfig,
    mapping: Option<Mapping>,
    /// Where messages go.
    pub connector: Arc<dyn Connector>,
    /// Only events carrying this business key (kind, value) are delivered.
    required_key: Option<(String, String)>,
    /// Whether a first-attempt delivery is recorded with the destination's answer.
    keeps_answers: bool,
    /// Other contract types delivered converted to one of this subscription's.
    conversions: Vec<Arc<Conversion>>,
}

impl Subscription {
    /// Compiles `config` (with its mapping program, if any) and builds its connector.
    pub fn new(
        config: SubscriptionConfig,
        mapping: Option<(&str, &str)>,
        secrets: Secrets<'_>,
    ) -> Result<Self, DeliveryError> {
        let mapping = mapping
            .map(|(origin, code)| Mapping::compile(origin, code))
            .transpose()
            .map_err(|e| DeliveryError::Config {
                subscription: config.name.clone(),
                field: "mapping".into(),
                reason: e.to_string(),
            })?;
        let connector: Arc<dyn Connector> = match &config.connector {
            ConnectorConfig::Http(http) => Arc::new(HttpDelivery::new(&config, http, secrets)?),
            ConnectorConfig::Mqtt(mqtt) => Arc::new(MqttDelivery::new(&config, mqtt, secrets)?),
            ConnectorConfig::Amqp(amqp) => Arc::new(AmqpDelivery::new(&config, amqp, secrets)?),
            ConnectorConfig::File(file) => Arc::new(FileDelivery::new(&config, file)?),
        };
        Ok(Self::with_connector(config, mapping, connector))
    }

    /// A subscription with a connector built elsewhere.
    pub fn with_connector(
        config: SubscriptionConfig,
        mapping: Option<Mapping>,
        connector: Arc<dyn Connector>,
    ) -> Self {
        Self {
            config,
            mapping,
            connector,
            required_key: None,
            keeps_answers: false,
            conversions: Vec::new(),
        }
    }

    /// Also delivers the contract types that one of `all` converts into one
    /// of this subscription's (and that it does not take directly).
    pub fn with_conversions(mut self, all: &[Arc<Conversion>]) -> Self {
        let contracts = &self.config.contracts;
        self.conversions = all
            .iter()
            .filter(|c| contracts.contains(&c.to) && !contracts.contains(&c.from))
            .cloned()
            .collect();
        self
    }

    fn conversion_for(&self, contract: &str) -> Option<&Conversion> {
        self.conversions
            .iter()
            .find(|c| c.from == contract)
            .map(Arc::as_ref)
    }

    /// Delivers only events that carry the business key `(kind, value)`:
    /// the hidden subscription of a sync interface takes its queued commands
    /// only. The worker then reads only such events from the log.
    pub fn only_with_key(mut self, kind: &str, value: &str) -> Self {
        self.required_key = Some((kind.to_owned(), value.to_owned()));
        self
    }

    /// Records every delivery with the destination's status and answer,
    /// also one that succeeds at the first attempt (which otherwise leaves
    /// no record): a queued command's sender reads the answer later.
    pub fn keeping_answers(mut self) -> Self {
        self.keeps_answers = true;
        self
    }

    /// The business key every delivered event carries, if one is required.
    pub fn required_key(&self) -> Option<&(String, String)> {
        self.required_key.as_ref()
    }

    /// Whether first-attempt deliveries are recorded with their answer.
    pub fn keeps_answers(&self) -> bool {
        self.keeps_answers
    }

    /// Whether an accepted event is delivered by this subscription.
    pub fn matches(&self, event: &NewEvent) -> bool {
        let c = &self.config;
        let version = event.dataschema.rsplit(':').next().unwrap_or_default();
        let direct = c.contracts.contains(&event.contract)
            && (c.versions.is_empty() || c.versions.iter().any(|v| v == version));
        (direct || self.conversion_for(&event.contract).is_some())
            && (c.sites.is_empty() || c.sites.contains(&event.site))
            && self
                .required_key
                .as_ref()
                .is_none_or(|key| event.business_keys.contains(key))
    }

    /// The event's ordering key here: messages with the same key are
    /// delivered one at a time, in accepted order.
    pub fn key<'a>(&self, event: &'a NewEvent) -> &'a str {
        match self.config.ordering {
            Ordering::Partitionkey => &event.partition_key,
            Ordering::Subject => &event.subject,
            // Every message is its own key: no order, full parallelism.
            Ordering::None => &event.id,
        }
    }

    /// The message as it goes out: the canonical CloudEvent, converted to
    /// the subscription's contract type if it is another's, then mapped to
    /// the destination's format. Fails with the conversion's or mapping's error.
    pub fn prepare(&self, event: &NewEvent, env: MapEnv<'_>) -> Result<Outgoing, String> {
        let parse = || -> Result<serde_json::Value, String> {
            serde_json::from_slice(&event.body)
                .map_err(|e| format!("the stored event is not JSON: {e}"))
        };
        let converted = match self.conversion_for(&event.contract) {
            Some(conversion) => Some((conversion.to.clone(), conversion.apply(&parse()?, env)?)),
            None => None,
        };
        let encode =
            |value: &serde_json::Value| serde_json::to_vec(value).map_err(|e| e.to_string());
        let body = match (&self.mapping, &converted) {
            (None, None) => event.body.clone(),
            (None, Some((_, message))) => encode(message)?,
            (Some(mapping), Some((_, message))) => {
                encode(&mapping.run(message, env).map_err(|e| e.to_string())?)?
            }
            (Some(mapping), None) => {
                encode(&mapping.run(&parse()?, env).map_err(|e| e.to_string())?)?
            }
        };
        let contract = converted.map_or_else(|| event.contract.clone(), |(to, _)| to);
        Ok(Outgoing {
            id: event.id.clone(),
            contract,
            subject: event.subject.clone(),
            site: event.site.clone(),
            partition_key: event.partition_key.clone(),
            body,
            replay: false,
        })
    }
}
