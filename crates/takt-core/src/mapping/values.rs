//! Conversions between serde_json values and jaq values, without going
//! through JSON text.
//!
//! Numbers keep the meaning a JSON text round trip would give them:
//! integers stay integers, other numbers become `f64`.

use jaq_json::{Map, Num, Val};
use serde_json::{Number, Value};

/// A serde_json value as a jaq value.
pub(super) fn to_val(value: &Value) -> Val {
    match value {
        Value::Null => Val::Null,
        Value::Bool(b) => Val::Bool(*b),
        Value::Number(n) => Val::Num(number_to_num(n)),
        Value::String(s) => Val::utf8_str(s.clone().into_bytes()),
        Value::Array(items) => items.iter().map(to_val).collect(),
        Value::Object(fields) => {
            let mut map = Map::with_capacity_and_hasher(fields.len(), Default::default());
            for (k, v) in fields {
                map.insert(Val::utf8_str(k.clone().into_bytes()), to_val(v));
            }
            Val::obj(map)
        }
    }
}

fn number_to_num(n: &Number) -> Num {
    if let Some(i) = n.as_i64() {
        Num::from_integral(i)
    } else if let Some(u) = n.as_u64() {
        Num::from_integral(u)
    } else {
        Num::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// A jaq value as a serde_json value. Object keys that are not strings (jaq
/// allows none in JSON objects) are written as their JSON text.
pub(super) fn to_json(value: &Val) -> Value {
    match value {
        Val::Null => Value::Null,
        Val::Bool(b) => Value::Bool(*b),
        Val::Num(n) => num_to_json(n),
        Val::TStr(bytes) | Val::BStr(bytes) => Value::String(text(bytes)),
        Val::Arr(items) => Value::Array(items.iter().map(to_json).collect()),
        Val::Obj(fields) => Value::Object(
            fields
                .iter()
                .map(|(k, v)| (key_text(k), to_json(v)))
                .collect(),
        ),
    }
}

fn num_to_json(n: &Num) -> Value {
    match n {
        Num::Int(i) => Value::from(*i),
        Num::Float(f) => Number::from_f64(*f).map_or(Value::Null, Value::Number),
        // Big integers and decimal literals: as JSON text would read them.
        other => serde_json::from_str(&other.to_string()).unwrap_or(Value::Null),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn key_text(key: &Val) -> String {
    match key {
        Val::TStr(bytes) | Val::BStr(bytes) => text(bytes),
        other => other.to_string(),
    }
}

/// The UTF-8 text of a jaq string, or `None` for any other value.
pub(super) fn as_str(value: &Val) -> Option<&str> {
    match value {
        Val::TStr(bytes) => std::str::from_utf8(bytes).ok(),
        _ => None,
    }
}

/// The field `name` of a jaq object, or `None`.
pub(super) fn field<'v>(value: &'v Val, name: &str) -> Option<&'v Val> {
    match value {
        Val::Obj(fields) => fields
            .iter()
            .find(|(k, _)| as_str(k) == Some(name))
            .map(|(_, v)| v),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn values_survive_the_round_trip_as_json_text_would() {
        let value = json!({
            "s": "Grüße \"quoted\"", "i": -42, "u": 18_446_744_073_709_551_615_u64,
            "f": 12.5, "b": true, "n": null, "a": [1, "two", {"three": 3}], "o": {}
        });
        let val = to_val(&value);
        assert_eq!(to_json(&val), value);
        let via_text: Value = serde_json::from_str(&val.to_string()).unwrap();
        assert_eq!(to_json(&val), via_text);
    }

    #[test]
    fn reads_string_fields() {
        let val = to_val(&json!({"value": "12.5", "uom": 3}));
        assert_eq!(field(&val, "value").and_then(as_str), Some("12.5"));
        assert_eq!(field(&val, "uom").and_then(as_str), None);
        assert!(field(&val, "missing").is_none());
    }
}
