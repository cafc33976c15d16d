//! Pure steps of ingestion: which plants a message speaks for, and the
//! stored form of an accepted message.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::store::NewEvent;
use crate::validate::Validated;

/// Every plant a message names, wherever it hides: the envelope's `siteid`,
/// the `urn:takt:site:<site>:…` form of `source`, and `data.siteId` (the
/// canonical contracts' plant field).
///
/// Authorization checks all of them, so a plant-1010 system cannot post for
/// plant 2020 by naming 2020 in only one place.
pub fn sites_of(message: &Value) -> BTreeSet<String> {
    let mut sites = BTreeSet::new();
    let mut add = |v: Option<&Value>| {
        if let Some(Value::String(s)) = v {
            sites.insert(s.clone());
        }
    };
    add(message.get("siteid"));
    add(message.get("data").and_then(|d| d.get("siteId")));
    let source_site = message
        .get("source")
        .and_then(Value::as_str)
        .and_then(|s| s.strip_prefix("urn:takt:site:"))
        .and_then(|rest| rest.split(':').next())
        .filter(|s| !s.is_empty());
    if let Some(site) = source_site {
        sites.insert(site.to_owned());
    }
    sites
}

/// The stored form of a validated message.
pub fn new_event(
    validated: &Validated<'_>,
    interface: &str,
    principal: &str,
    accepted_at_ms: i64,
) -> NewEvent {
    let message = &validated.message;
    let text = |key: &str| {
        message
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    let data = message.get("data").unwrap_or(&Value::Null);
    let business_keys = validated
        .contract
        .meta
        .business_keys
        .iter()
        .filter_map(|(kind, pointer)| match data.pointer(pointer)? {
            Value::String(s) => Some((kind.clone(), s.clone())),
            Value::Number(n) => Some((kind.clone(), n.to_string())),
            _ => None,
        })
        .collect();
    NewEvent {
        id: text("id"),
        source: text("source"),
        contract: validated.contract.contract().to_string(),
        dataschema: validated.contract.id.to_string(),
        site: text("siteid"),
        subject: text("subject"),
        partition_key: text("partitionkey"),
        interface: interface.to_owned(),
        principal: principal.to_owned(),
        accepted_at_ms,
        business_keys,
        body: canonical_json(message),
    }
}

/// JSON with object keys sorted at every depth: the same event always has
/// the same bytes, so the store can tell a retry from a different event
/// reusing an id.
pub fn canonical_json(value: &Value) -> Vec<u8> {
    serde_json::to_vec(&Sorted(value)).unwrap_or_default()
}

/// Serialises a JSON value with object keys in sorted order, without copying it.
struct Sorted<'a>(&'a Value);

impl serde::Serialize for Sorted<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Object(map) => {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
                let mut out = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    out.serialize_entry(key, &Sorted(value))?;
                }
                out.end()
            }
            Value::Array(items) => {
                let mut out = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    out.serialize_element(&Sorted(item))?;
                }
                out.end()
            }
            scalar => scalar.serialize(serializer),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::Registry;

    #[test]
    fn sites_hide_in_many_places() {
        let message = json!({
            "siteid": "1010",
            "source": "urn:takt:site:3030:mes:mes01",
            "data": {"siteId": "2020", "shipFromSiteId": "DE-3PL-HAM1", "note": "4040"}
        });
        assert_eq!(
            sites_of(&message).into_iter().collect::<Vec<_>>(),
            ["1010", "2020", "3030"]
        );
        assert!(sites_of(&json!({"source": "urn:other:x"})).is_empty());
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let a = json!({"b": 1, "a": {"d": [ {"y": 1, "x": 2} ], "c": null}});
        assert_eq!(
            String::from_utf8(canonical_json(&a)).unwrap(),
            r#"{"a":{"c":null,"d":[{"x":2,"y":1}]},"b":1}"#
        );
    }

    #[test]
    fn stored_events_carry_business_keys() {
        let registry = Registry::builtin().unwrap();
        let contract = registry.contract("mfg.material.consumed.v1").unwrap();
        let example = contract
            .examples()
            .iter()
            .find(|e| e.name == "valid-lot-managed")
            .unwrap();
        let validated = registry.validate_bytes(example.text.as_bytes()).unwrap();
        let event = new_event(&validated, "mes1010-production", "mes-plant1010", 42);
        assert_eq!(event.partition_key, "1010/100012345");
        assert_eq!(
            event.dataschema,
            "urn:takt:schema:mfg.material.consumed.v1:1.0"
        );
        assert_eq!(
            event.business_keys,
            [
                ("lot".to_owned(), "L2026-1187".to_owned()),
                ("material".to_owned(), "RM-4711".to_owned()),
                ("order".to_owned(), "100012345".to_owned()),
            ]
        );
        let body: Value = serde_json::from_slice(&event.body).unwrap();
        assert_eq!(body, validated.message);
    }
}
