//! What every connector does: hand one prepared message to a destination
//! and say what happened.

use takt_core::delivery::AttemptOutcome;
use takt_core::store::BoxFuture;
use takt_model::delivery::SubscriptionConfig;

use super::DeliveryError;
use super::http::Secrets;

/// A message ready to go: mapped, with the facts URL and topic templates use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    /// The CloudEvents id: the idempotency key the destination de-duplicates on.
    pub id: String,
    /// The contract type (`{type}`).
    pub contract: String,
    /// The CloudEvents subject (`{subject}`).
    pub subject: String,
    /// The plant (`{siteid}`).
    pub site: String,
    /// The ordering key (`{partitionkey}`).
    pub partition_key: String,
    /// The mapped body (JSON).
    pub body: Vec<u8>,
    /// Sent again by a replay: connectors with headers mark it
    /// ([`REPLAY_HEADER`]), so the destination can tell.
    pub replay: bool,
}

/// The header (HTTP) or message header (AMQP) marking a replayed message.
pub const REPLAY_HEADER: &str = "Takt-Replay";

impl Outgoing {
    /// `template` with `{id}`, `{type}`, `{subject}`, `{siteid}` and
    /// `{partitionkey}` replaced, each value passed through `encode`.
    pub fn expand(&self, template: &str, encode: impl Fn(&str) -> String) -> String {
        let mut out = String::with_capacity(template.len() + 32);
        let mut rest = template;
        while let Some(start) = rest.find('{') {
            out.push_str(&rest[..start]);
            let after = &rest[start + 1..];
            let Some(end) = after.find('}') else {
                out.push_str(&rest[start..]);
                return out;
            };
            match self.placeholder(&after[..end]) {
                Some(value) => out.push_str(&encode(value)),
                None => out.push_str(&rest[start..start + end + 2]),
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        out
    }

    fn placeholder(&self, name: &str) -> Option<&str> {
        Some(match name {
            "id" => &self.id,
            "type" => &self.contract,
            "subject" => &self.subject,
            "siteid" => &self.site,
            "partitionkey" => &self.partition_key,
            _ => return None,
        })
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a
/// value fills exactly one URL path segment or query value.
pub fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// What a connector observed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// The outcome, for [`takt_core::delivery::classify`].
    pub outcome: AttemptOutcome,
    /// The start of the destination's answer (at most [`EXCERPT_BYTES`]).
    pub response: String,
}

/// How much of an answer is kept as evidence.
pub const EXCERPT_BYTES: usize = 2_048;

/// At most [`EXCERPT_BYTES`] of `bytes`, as text.
pub fn excerpt(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(EXCERPT_BYTES)];
    String::from_utf8_lossy(cut).into_owned()
}

/// A mistake in `subscription`'s `field`, found while building its connector.
pub(super) fn config_error(
    subscription: &SubscriptionConfig,
    field: &str,
    reason: String,
) -> DeliveryError {
    DeliveryError::Config {
        subscription: subscription.name.clone(),
        field: field.to_owned(),
        reason,
    }
}

/// The secret held by the environment variable `variable`, which `field`
/// of `subscription` names; an unset variable is a mistake in that field.
pub(super) fn read_secret(
    secrets: Secrets<'_>,
    subscription: &SubscriptionConfig,
    field: &str,
    variable: &str,
) -> Result<String, DeliveryError> {
    secrets(variable).ok_or_else(|| {
        let reason = format!("the environment variable {variable} is not set");
        config_error(subscription, field, reason)
    })
}

/// A broker login: the user name, and the password from `password_env`
/// (empty without one); none without a user name.
pub(super) fn credentials(
    secrets: Secrets<'_>,
    subscription: &SubscriptionConfig,
    username: Option<&String>,
    password_env: Option<&String>,
) -> Result<Option<(String, String)>, DeliveryError> {
    let Some(username) = username else {
        return Ok(None);
    };
    let password = match password_env {
        Some(variable) => read_secret(secrets, subscription, "connector.password_env", variable)?,
        None => String::new(),
    };
    Ok(Some((username.clone(), password)))
}

/// A way to hand messages to a destination (HTTP, MQTT, AMQP, file).
pub trait Connector: Send + Sync {
    /// Sends one message. Never fails: every failure is an outcome.
    fn send<'a>(&'a self, message: &'a Outgoing) -> BoxFuture<'a, Report>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_known_placeholders_encoded() {
        let message = Outgoing {
            id: "e1".into(),
            contract: "mfg.material.consumed.v1".into(),
            subject: "productionorder/1010/100012345".into(),
            site: "1010".into(),
            partition_key: "1010/100012345".into(),
            body: Vec::new(),
            replay: false,
        };
        assert_eq!(
            message.expand(
                "http://erp/{siteid}/orders/{subject}?id={id}&x={unknown}",
                percent_encode
            ),
            "http://erp/1010/orders/productionorder%2F1010%2F100012345?id=e1&x={unknown}"
        );
        assert_eq!(
            message.expand("plant/{siteid}/{type", str::to_owned),
            "plant/1010/{type"
        );
    }
}
