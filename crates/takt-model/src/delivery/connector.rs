//! The `[connector]` table of a subscription file: how messages are handed
//! to the destination. One variant per connector kind, told apart by `kind`.
//!
//! Secrets are never written in a deployment: every `*_env` field names the
//! environment variable of `takt serve` that holds one.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

/// How a subscription hands messages to its destination.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum ConnectorConfig {
    /// An HTTP request per message.
    Http(HttpConnector),
    /// An MQTT 3.1.1 publish at QoS 1 per message.
    Mqtt(MqttConnector),
    /// An AMQP 0.9.1 publish per message, with publisher confirms.
    Amqp(AmqpConnector),
    /// A line per message in rolling NDJSON or CSV files, for legacy systems.
    File(FileConnector),
}

impl ConnectorConfig {
    /// The environment variables this connector reads its secrets from, as
    /// (field, variable).
    pub fn secret_variables(&self) -> Vec<(&'static str, &str)> {
        match self {
            Self::Http(http) => http.secret_variables(),
            Self::Mqtt(MqttConnector { password_env, .. })
            | Self::Amqp(AmqpConnector { password_env, .. }) => password_env
                .as_deref()
                .map(|v| ("connector.password_env", v))
                .into_iter()
                .collect(),
            Self::File(_) => Vec::new(),
        }
    }
}

/// `kind = "http"`: one request per message; the body is the mapped message
/// as JSON. 2xx is delivered; 408, 425, 429 and 5xx are retried; other
/// statuses are dead-lettered with the response kept.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpConnector {
    /// `POST` (default) or `PUT`.
    #[serde(default = "post")]
    pub method: String,
    /// The URL; `{id}`, `{type}`, `{subject}`, `{siteid}` and
    /// `{partitionkey}` are replaced by the message's (URL-encoded).
    pub url: String,
    /// Extra headers sent with every request.
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
    /// How the hub authenticates to the destination; none: it does not.
    #[serde(default)]
    pub auth: Option<HttpAuth>,
    /// An HMAC-SHA256 signature of the body, for destinations that verify
    /// where a request came from.
    #[serde(default)]
    pub signature: Option<HttpSignature>,
}

/// How the HTTP connector authenticates. Secrets are never written in the
/// deployment: each is named by the environment variable holding it.
///
/// ```toml
/// auth = { kind = "oauth2", token_url = "https://login.example.com/token", client_id = "takt", client_secret_env = "ERP_CLIENT_SECRET", scope = "goods-movements" }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum HttpAuth {
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// Environment variable holding the token.
        token_env: String,
    },
    /// `Authorization: Basic …`.
    Basic {
        /// The user name.
        username: String,
        /// Environment variable holding the password.
        password_env: String,
    },
    /// OAuth 2.0 client credentials (RFC 6749 §4.4): a token is fetched from
    /// `token_url`, cached until shortly before it expires, and sent as a
    /// bearer token; a 401 drops it so the next attempt fetches a new one.
    Oauth2 {
        /// The token endpoint.
        token_url: String,
        /// The client id.
        client_id: String,
        /// Environment variable holding the client secret.
        client_secret_env: String,
        /// Scope to ask for, if the server wants one.
        #[serde(default)]
        scope: Option<String>,
    },
}

/// `signature = { secret_env = "ERP_SIGNING_SECRET" }`: every request
/// carries `<header>: sha256=<hex HMAC-SHA256 of the body>`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSignature {
    /// The header carrying the signature.
    #[serde(default = "signature_header")]
    pub header: String,
    /// Environment variable holding the shared secret.
    pub secret_env: String,
}

fn signature_header() -> String {
    "X-Takt-Signature".into()
}

impl HttpConnector {
    /// The environment variables this connector reads its secrets from, as
    /// (field, variable).
    pub fn secret_variables(&self) -> Vec<(&'static str, &str)> {
        let mut variables = Vec::new();
        match &self.auth {
            Some(HttpAuth::Bearer { token_env }) => {
                variables.push(("connector.auth.token_env", token_env.as_str()))
            }
            Some(HttpAuth::Basic { password_env, .. }) => {
                variables.push(("connector.auth.password_env", password_env.as_str()));
            }
            Some(HttpAuth::Oauth2 {
                client_secret_env, ..
            }) => {
                variables.push((
                    "connector.auth.client_secret_env",
                    client_secret_env.as_str(),
                ));
            }
            None => {}
        }
        if let Some(signature) = &self.signature {
            variables.push((
                "connector.signature.secret_env",
                signature.secret_env.as_str(),
            ));
        }
        variables
    }
}

fn post() -> String {
    "POST".into()
}

/// `kind = "mqtt"`: every message is published at QoS 1 (at least once) and
/// counts as delivered when the broker's PUBACK arrives. MQTT 3.1.1 has no
/// headers: the CloudEvents `id` in the body is what a consumer
/// de-duplicates on.
///
/// ```toml
/// [connector]
/// kind = "mqtt"
/// host = "127.0.0.1"
/// topic = "takt/{siteid}/{type}"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MqttConnector {
    /// The broker's host name or address.
    pub host: String,
    /// The broker's port.
    #[serde(default = "mqtt_port")]
    pub port: u16,
    /// The topic; `{id}`, `{type}`, `{subject}`, `{siteid}` and
    /// `{partitionkey}` are replaced by the message's (`+`, `#` become `_`).
    pub topic: String,
    /// The client id; default `takt-<subscription>`. Two hubs must not share one.
    #[serde(default)]
    pub client_id: Option<String>,
    /// User name, if the broker asks for one.
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// Whether the broker keeps the last message of each topic for new subscribers.
    #[serde(default)]
    pub retain: bool,
    /// Keep-alive interval, in seconds (at least 5).
    #[serde(default = "keep_alive_secs")]
    pub keep_alive_secs: u64,
}

fn mqtt_port() -> u16 {
    1883
}

fn keep_alive_secs() -> u64 {
    30
}

/// `kind = "amqp"`: every message is published to an exchange (RabbitMQ and
/// other AMQP 0.9.1 brokers) as a persistent message with publisher
/// confirms. The broker's ack is delivered, its nack is retried, a message
/// no queue takes (`mandatory`) is refused and dead-lettered. The message id
/// property and the idempotency header carry the CloudEvents id.
///
/// ```toml
/// [connector]
/// kind = "amqp"
/// url = "amqp://127.0.0.1:5672/%2f"
/// username = "takt"
/// password_env = "RABBIT_PASSWORD"
/// exchange = "erp.inbound"
/// routing_key = "{type}.{siteid}"
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AmqpConnector {
    /// `amqp://host:port/vhost`, without credentials (`%2f` is the default vhost `/`).
    pub url: String,
    /// User name; without it, the broker's default (`guest`).
    #[serde(default)]
    pub username: Option<String>,
    /// Environment variable holding the password.
    #[serde(default)]
    pub password_env: Option<String>,
    /// The exchange; `""` is the default exchange (routing key = queue name).
    pub exchange: String,
    /// The routing key; placeholders as in an HTTP URL, not encoded.
    pub routing_key: String,
    /// Whether a message that no queue takes is refused (dead-lettered)
    /// rather than silently dropped by the broker.
    #[serde(default = "yes")]
    pub mandatory: bool,
    /// Whether messages survive a broker restart (delivery mode 2).
    #[serde(default = "yes")]
    pub persistent: bool,
}

fn yes() -> bool {
    true
}

/// `kind = "file"`: a line per message in rolling files that a legacy system
/// picks up from a directory. A file is written under a hidden temporary
/// name (`.<name>.part`) and renamed to its final name only when it is
/// complete, so a reader never sees half a file. Every line is on disk
/// (fsync) before the message counts as delivered.
///
/// ```toml
/// [connector]
/// kind = "file"
/// dir = "/var/takt/outbox/erp"
/// format = "csv"
/// columns = [ { name = "material", pointer = "/MATNR" }, { name = "qty", pointer = "/MENGE" } ]
/// roll_records = 500
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConnector {
    /// The directory files are dropped into (created if missing); relative
    /// paths are relative to where `takt serve` runs.
    pub dir: PathBuf,
    /// `ndjson` (one JSON document per line) or `csv`.
    #[serde(default)]
    pub format: FileFormat,
    /// File names start with this; default: the subscription's name.
    #[serde(default)]
    pub prefix: Option<String>,
    /// A file is completed after this many messages.
    #[serde(default = "roll_records")]
    pub roll_records: u64,
    /// …or once it holds this many bytes…
    #[serde(default = "roll_bytes")]
    pub roll_bytes: u64,
    /// …or this long after its first message.
    #[serde(default = "roll_secs")]
    pub roll_secs: u64,
    /// CSV only: the columns, in order, each read from the mapped message by
    /// a JSON pointer (RFC 6901).
    #[serde(default)]
    pub columns: Vec<CsvColumn>,
    /// CSV only: the field separator, one ASCII character.
    #[serde(default = "comma")]
    pub delimiter: char,
    /// CSV only: whether each file starts with a header line of column names.
    #[serde(default = "yes")]
    pub header: bool,
}

fn roll_records() -> u64 {
    1_000
}

fn roll_bytes() -> u64 {
    16 * 1024 * 1024
}

fn roll_secs() -> u64 {
    60
}

fn comma() -> char {
    ','
}

/// The format of a file connector's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileFormat {
    /// One JSON document per line (`.ndjson`).
    #[default]
    Ndjson,
    /// Comma-separated values with the configured columns (`.csv`, RFC 4180 quoting).
    Csv,
}

impl FileFormat {
    /// The file name extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Ndjson => "ndjson",
            Self::Csv => "csv",
        }
    }
}

/// One CSV column: `{ name = "material", pointer = "/MATNR" }`. A value
/// that is missing is an empty field; a string is written as is, any other
/// JSON value as JSON.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsvColumn {
    /// The header of the column.
    pub name: String,
    /// Where the value is in the mapped message, e.g. `/qty/value`.
    pub pointer: String,
}
