//! `subscriptions/*.toml`: outbound interfaces, read and checked.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use takt_model::SchemaVersion;
use takt_model::delivery::{
    AmqpConnector, ConnectorConfig, FileConnector, FileFormat, HttpConnector, MqttConnector,
    SubscriptionConfig,
};

use super::{Deployment, config_error};
use crate::Result;
use crate::mapping::Mapping;
use crate::registry::Registry;

/// The placeholders a connector's URL, topic or routing key may use.
pub const URL_PLACEHOLDERS: [&str; 5] = ["id", "type", "subject", "siteid", "partitionkey"];

/// Reads the jq mapping files named by subscriptions, as (file, program) by
/// subscription; files are named relative to the deployment directory.
pub(super) fn read_mappings(
    dir: &Path,
    subscriptions: &BTreeMap<String, SubscriptionConfig>,
) -> Result<BTreeMap<String, (String, String)>> {
    let mut mappings = BTreeMap::new();
    for subscription in subscriptions.values() {
        let Some(relative) = &subscription.mapping else {
            continue;
        };
        let path = dir.join(relative);
        let text = fs::read_to_string(&path).map_err(|e| {
            config_error(
                &subscription_file(dir, &subscription.name),
                format!("field `mapping`: cannot read {}: {e}", path.display()),
            )
        })?;
        mappings.insert(
            subscription.name.clone(),
            (relative.display().to_string(), text),
        );
    }
    Ok(mappings)
}

fn subscription_file(dir: &Path, name: &str) -> std::path::PathBuf {
    dir.join("subscriptions").join(format!("{name}.toml"))
}

impl Deployment {
    /// Checks that a subscription names a known destination, registered
    /// contracts and versions, a mapping that compiles, a sensible policy and
    /// a usable connector.
    pub(super) fn check_subscription(
        &self,
        subscription: &SubscriptionConfig,
        registry: &Registry,
    ) -> Result<()> {
        let file = self.file("subscriptions", &subscription.name);
        let fail = |field: &str, reason: String| {
            Err(config_error(&file, format!("field `{field}`: {reason}")))
        };
        if !self.systems.contains_key(&subscription.destination) {
            return fail(
                "destination",
                format!(
                    "unknown system {:?}; systems are defined in systems/<name>.toml",
                    subscription.destination
                ),
            );
        }
        if subscription.contracts.is_empty() {
            return fail("contracts", "name at least one contract".into());
        }
        for name in &subscription.contracts {
            let Some(contract) = registry.contract(name) else {
                return fail(
                    "contracts",
                    format!("unknown contract {name:?}; `takt contract list` shows the known ones"),
                );
            };
            for version in &subscription.versions {
                let known = version
                    .parse::<SchemaVersion>()
                    .ok()
                    .and_then(|v| contract.version(v));
                if known.is_none() {
                    return fail("versions", format!("{name} has no version {version:?}"));
                }
            }
        }
        if let Some((origin, code)) = self.subscription_mappings.get(&subscription.name)
            && let Err(e) = Mapping::compile(origin, code)
        {
            return fail("mapping", e.to_string());
        }
        if let Some((field, reason)) = subscription.policy.problem() {
            return fail(field, reason);
        }
        if let Some((field, reason)) = connector_problem(&subscription.connector) {
            return fail(field, reason);
        }
        Ok(())
    }
}

/// The first thing that makes a connector unusable, as (field, reason).
fn connector_problem(connector: &ConnectorConfig) -> Option<(&'static str, String)> {
    match connector {
        ConnectorConfig::Http(http) => http_problem(http),
        ConnectorConfig::Mqtt(mqtt) => mqtt_problem(mqtt),
        ConnectorConfig::Amqp(amqp) => amqp_problem(amqp),
        ConnectorConfig::File(file) => file_problem(file),
    }
}

/// The first thing that makes an HTTP connector unusable, as (field, reason).
pub(super) fn http_problem(http: &HttpConnector) -> Option<(&'static str, String)> {
    if !matches!(http.method.as_str(), "POST" | "PUT") {
        return Some((
            "connector.method",
            format!("{:?} is not POST or PUT", http.method),
        ));
    }
    url_problem(&http.url).map(|r| ("connector.url", r))
}

fn mqtt_problem(mqtt: &MqttConnector) -> Option<(&'static str, String)> {
    if mqtt.host.trim().is_empty() {
        return Some(("connector.host", "name the broker's host".into()));
    }
    if mqtt.topic.is_empty() || mqtt.topic.starts_with('$') {
        return Some((
            "connector.topic",
            format!(
                "{:?} is empty or starts with $ (reserved for brokers)",
                mqtt.topic
            ),
        ));
    }
    if mqtt.topic.contains(['+', '#']) {
        return Some((
            "connector.topic",
            format!(
                "{:?}: + and # are wildcards, not allowed in a published topic",
                mqtt.topic
            ),
        ));
    }
    if let Some(reason) = template_problem(&mqtt.topic) {
        return Some(("connector.topic", reason));
    }
    if mqtt.keep_alive_secs < 5 {
        return Some(("connector.keep_alive_secs", "must be at least 5".into()));
    }
    if mqtt.password_env.is_some() && mqtt.username.is_none() {
        return Some(("connector.username", "a password needs a user name".into()));
    }
    None
}

fn amqp_problem(amqp: &AmqpConnector) -> Option<(&'static str, String)> {
    if !amqp.url.starts_with("amqp://") {
        return Some((
            "connector.url",
            format!(
                "{:?} must start with amqp:// (amqps:// is not built in)",
                amqp.url
            ),
        ));
    }
    if amqp.url.contains('@') {
        return Some((
            "connector.url",
            "credentials do not belong in the URL: use `username` and `password_env`".into(),
        ));
    }
    if amqp.password_env.is_some() && amqp.username.is_none() {
        return Some(("connector.username", "a password needs a user name".into()));
    }
    template_problem(&amqp.routing_key).map(|r| ("connector.routing_key", r))
}

fn file_problem(file: &FileConnector) -> Option<(&'static str, String)> {
    if file.dir.as_os_str().is_empty() {
        return Some((
            "connector.dir",
            "name the directory files are dropped into".into(),
        ));
    }
    if let Some(prefix) = &file.prefix
        && (prefix.is_empty() || prefix.starts_with('.') || prefix.contains(['/', '\\']))
    {
        return Some((
            "connector.prefix",
            format!("{prefix:?} must be a plain file name start (no /, not starting with .)"),
        ));
    }
    for (field, value) in [
        ("connector.roll_records", file.roll_records),
        ("connector.roll_bytes", file.roll_bytes),
        ("connector.roll_secs", file.roll_secs),
    ] {
        if value == 0 {
            return Some((field, "must be at least 1".into()));
        }
    }
    match file.format {
        FileFormat::Ndjson if !file.columns.is_empty() => Some((
            "connector.columns",
            "columns are for format = \"csv\"".into(),
        )),
        FileFormat::Csv if file.columns.is_empty() => Some((
            "connector.columns",
            "a CSV file needs at least one column".into(),
        )),
        FileFormat::Csv
            if !file.delimiter.is_ascii() || matches!(file.delimiter, '"' | '\n' | '\r') =>
        {
            Some((
                "connector.delimiter",
                format!(
                    "{:?} must be one ASCII character other than a quote or line break",
                    file.delimiter
                ),
            ))
        }
        _ => file
            .columns
            .iter()
            .find(|c| !(c.pointer.is_empty() || c.pointer.starts_with('/')))
            .map(|c| {
                (
                    "connector.columns",
                    format!(
                        "column {:?}: pointer {:?} must be empty or start with /",
                        c.name, c.pointer
                    ),
                )
            }),
    }
}

/// Why an HTTP connector's URL template cannot be used, if it cannot.
fn url_problem(url: &str) -> Option<String> {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Some(format!("{url:?} must start with http:// or https://"));
    }
    template_problem(url)
}

/// Why a template (URL, topic, routing key) cannot be filled, if it cannot.
fn template_problem(template: &str) -> Option<String> {
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let Some(end) = rest[start..].find('}') else {
            return Some(format!(
                "{template:?} opens a {{placeholder}} it does not close"
            ));
        };
        let name = &rest[start + 1..start + end];
        if !URL_PLACEHOLDERS.contains(&name) {
            return Some(format!(
                "unknown placeholder {{{name}}}; use {}",
                URL_PLACEHOLDERS.map(|p| format!("{{{p}}}")).join(", ")
            ));
        }
        rest = &rest[start + end + 1..];
    }
    None
}

#[cfg(test)]
mod tests {
    use takt_model::delivery::ConnectorConfig;

    use super::{connector_problem, url_problem};

    fn problem(toml_text: &str) -> Option<(&'static str, String)> {
        let connector: ConnectorConfig = toml::from_str(toml_text).unwrap();
        connector_problem(&connector)
    }

    #[test]
    fn connectors_are_checked_field_by_field() {
        let mqtt = "kind = \"mqtt\"\nhost = \"127.0.0.1\"\n";
        assert_eq!(problem(&format!("{mqtt}topic = \"takt/{{siteid}}\"")), None);
        assert_eq!(
            problem(&format!("{mqtt}topic = \"takt/#\"")).unwrap().0,
            "connector.topic"
        );
        assert!(
            problem(&format!("{mqtt}topic = \"t/{{order}}\""))
                .unwrap()
                .1
                .contains("{order}")
        );
        let amqp = "kind = \"amqp\"\nexchange = \"x\"\nrouting_key = \"{type}\"\n";
        assert_eq!(
            problem(&format!("{amqp}url = \"amqp://127.0.0.1:5672/%2f\"")),
            None
        );
        let with_password = problem(&format!("{amqp}url = \"amqp://guest:guest@h/%2f\""));
        assert!(with_password.unwrap().1.contains("password_env"));
        let file = "kind = \"file\"\ndir = \"out\"\n";
        assert_eq!(problem(file), None);
        assert_eq!(
            problem(&format!("{file}format = \"csv\"")).unwrap().0,
            "connector.columns"
        );
        let bad_pointer =
            format!("{file}format = \"csv\"\ncolumns = [{{ name = \"m\", pointer = \"MATNR\" }}]");
        assert!(problem(&bad_pointer).unwrap().1.contains("start with /"));
        assert_eq!(
            problem(&format!("{file}roll_secs = 0")).unwrap().0,
            "connector.roll_secs"
        );
    }

    #[test]
    fn url_templates_are_checked() {
        assert_eq!(
            url_problem("https://erp.example.com/gm/{id}?site={siteid}"),
            None
        );
        assert!(url_problem("ftp://erp/x").unwrap().contains("http://"));
        assert!(
            url_problem("http://erp/{order}")
                .unwrap()
                .contains("{order}")
        );
        assert!(
            url_problem("http://erp/{id")
                .unwrap()
                .contains("does not close")
        );
    }
}
