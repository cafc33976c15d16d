//! The AsyncAPI 3.0 document of every contract in a registry.
//!
//! One channel per contract type (its address is the type name); one message
//! per schema version, whose payload is the CloudEvents envelope plus the
//! contract's `data` schema; a `receive` operation (producers → hub) and, for
//! events and commands, a `send` operation (hub → subscribers). Contract
//! schemas go to `components/schemas` with their local `$ref`s rewritten to
//! point there, so any AsyncAPI tool can read the document on its own.

use serde_json::{Map, Value, json};

use crate::registry::{Contract, ContractVersion, Pattern, Registry};

/// Media type of a CloudEvent in structured JSON mode.
pub const CLOUDEVENTS_JSON: &str = "application/cloudevents+json";

const ENVELOPE_KEY: &str = "cloudevent";

/// Builds the AsyncAPI 3.0 document; `version` is the document's own version.
pub fn document(registry: &Registry, version: &str) -> Value {
    let mut channels = Map::new();
    let mut operations = Map::new();
    let mut messages = Map::new();
    let mut schemas = Map::new();
    schemas.insert(
        ENVELOPE_KEY.to_owned(),
        strip_ids(registry.envelope_schema(), ENVELOPE_KEY),
    );
    for contract in registry.contracts() {
        let channel = contract.contract_type().as_str().to_owned();
        let mut refs = Map::new();
        for v in contract.versions() {
            let key = message_key(v);
            schemas.insert(key.clone(), strip_ids(&v.schema, &key));
            messages.insert(key.clone(), message(v, &key));
            refs.insert(
                key.clone(),
                json!({"$ref": format!("#/components/messages/{key}")}),
            );
        }
        let latest = contract.latest();
        channels.insert(
            channel.clone(),
            json!({
                "address": channel,
                "title": latest.meta.title,
                "description": latest.meta.description,
                "messages": refs,
            }),
        );
        add_operations(&mut operations, contract, &refs);
    }
    json!({
        "asyncapi": "3.0.0",
        "info": {
            "title": "Takt canonical contracts",
            "version": version,
            "description": "Every message Takt accepts and delivers: CloudEvents 1.0 in structured JSON mode whose data follows a versioned canonical contract. Channel addresses are contract types; a message is one schema version.",
            "license": {"name": "Apache-2.0"},
        },
        "defaultContentType": CLOUDEVENTS_JSON,
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages},
    })
}

/// `mfg.material.consumed.v1-1.1`: unique per schema version, valid as a component key.
fn message_key(version: &ContractVersion) -> String {
    format!("{}-{}", version.contract(), version.id.version)
}

fn message(version: &ContractVersion, key: &str) -> Value {
    let payload = json!({
        "allOf": [
            {"$ref": format!("#/components/schemas/{ENVELOPE_KEY}")},
            {
                "type": "object",
                "properties": {
                    "type": {"const": version.contract().as_str()},
                    "dataschema": {"const": version.id.to_string()},
                    "data": {"$ref": format!("#/components/schemas/{key}")},
                },
            },
        ],
    });
    json!({
        "name": version.contract().as_str(),
        "title": format!("{} {}", version.meta.title, version.id.version),
        "summary": version.meta.description,
        "contentType": CLOUDEVENTS_JSON,
        "correlationId": {
            "description": "Shared by every message of one business flow.",
            "location": "$message.payload#/correlationid",
        },
        "payload": payload,
    })
}

fn add_operations(
    operations: &mut Map<String, Value>,
    contract: &Contract,
    refs: &Map<String, Value>,
) {
    let name = contract.contract_type().as_str();
    let channel = json!({"$ref": format!("#/channels/{name}")});
    let messages: Vec<Value> = refs
        .keys()
        .map(|key| json!({"$ref": format!("#/channels/{name}/messages/{key}")}))
        .collect();
    let pattern = contract.latest().meta.pattern;
    operations.insert(
        format!("receive.{name}"),
        json!({
            "action": "receive",
            "channel": channel,
            "summary": format!("A producer sends {name} to the hub."),
            "messages": messages,
        }),
    );
    if pattern != Pattern::Query {
        operations.insert(format!("send.{name}"), json!({
            "action": "send",
            "channel": channel,
            "summary": format!("The hub delivers {name} to each subscribed system, in order per partitionkey."),
            "messages": messages,
        }));
    }
}

/// Drops `$schema`/`$id` and re-roots local `$ref`s under `components/schemas/<key>`.
fn strip_ids(schema: &Value, key: &str) -> Value {
    let mut copy = schema.clone();
    if let Value::Object(map) = &mut copy {
        map.remove("$schema");
        map.remove("$id");
    }
    reroot(&mut copy, &format!("#/components/schemas/{key}"));
    copy
}

fn reroot(value: &mut Value, base: &str) {
    match value {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                match v {
                    Value::String(r) if k == "$ref" && r.starts_with('#') => {
                        *r = format!("{base}{}", &r[1..]);
                    }
                    other => reroot(other, base),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| reroot(v, base)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_channel_per_type_and_one_message_per_version() {
        let registry = Registry::builtin().unwrap();
        let doc = document(&registry, "0.1.0");
        assert_eq!(
            doc["channels"].as_object().unwrap().len(),
            registry.contracts().count()
        );
        let consumed = &doc["channels"]["mfg.material.consumed.v1"]["messages"];
        assert_eq!(
            consumed.as_object().unwrap().keys().collect::<Vec<_>>(),
            [
                "mfg.material.consumed.v1-1.0",
                "mfg.material.consumed.v1-1.1"
            ]
        );
        let schema = &doc["components"]["schemas"]["mfg.material.consumed.v1-1.1"];
        assert_eq!(
            schema["properties"]["qty"]["$ref"],
            "#/components/schemas/mfg.material.consumed.v1-1.1/definitions/quantity"
        );
        assert!(schema.get("$id").is_none());
        assert!(
            doc["operations"]
                .get("send.mfg.inventory.availability.query.v1")
                .is_none()
        );
        assert_eq!(
            doc["operations"]["receive.mfg.inventory.availability.query.v1"]["action"],
            "receive"
        );
    }

    #[test]
    fn payloads_validate_shipped_examples() {
        let registry = Registry::builtin().unwrap();
        let mut doc = document(&registry, "0.1.0");
        for contract in registry.contracts() {
            for example in contract.examples().iter().filter(|e| e.is_valid_example()) {
                let message: Value = serde_json::from_str(&example.text).unwrap();
                let id = message["dataschema"]
                    .as_str()
                    .unwrap()
                    .rsplit(':')
                    .next()
                    .unwrap()
                    .to_owned();
                let key = format!("{}-{id}", contract.contract_type());
                doc["$ref"] = json!(format!("#/components/messages/{key}/payload"));
                let validator = jsonschema::options()
                    .with_draft(jsonschema::Draft::Draft7)
                    .build(&doc)
                    .unwrap();
                assert!(validator.is_valid(&message), "{}", example.origin);
                let mut wrong = message.clone();
                wrong["data"]["siteId"] = json!(17);
                assert!(!validator.is_valid(&wrong), "{}", example.origin);
            }
        }
    }
}
