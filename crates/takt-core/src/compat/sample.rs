//! Example values for explanations: a value a schema accepts, or rejects.

use serde_json::Value;

use super::schema::{Node, admits, types};

/// A short literal of JSON type `t`.
pub(super) fn literal(t: &str) -> &'static str {
    match t {
        "null" => "null",
        "boolean" => "true",
        "object" => "{}",
        "array" => "[]",
        "number" => "1.5",
        "integer" => "7",
        _ => "\"text\"",
    }
}

/// Text for a value `node` accepts, e.g. `"2026-01-01"` or `a string matching ^A`.
pub(super) fn accepted(node: &Node<'_>) -> String {
    if let Some(first) = node
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.to_string();
    }
    if let Some(value) = node.get("const") {
        return value.to_string();
    }
    if let Some(format) = node.get("format").and_then(Value::as_str) {
        return match format {
            "date-time" => "\"2026-01-01T00:00:00Z\"".to_owned(),
            "date" => "\"2026-01-01\"".to_owned(),
            other => format!("a string in {other} format"),
        };
    }
    if let Some(pattern) = node.get("pattern").and_then(Value::as_str) {
        return format!("a string matching {pattern}");
    }
    let types = types(node);
    if let Some(min) = node.get("minimum").filter(|_| admits(&types, "number")) {
        return min.to_string();
    }
    match types.as_deref() {
        Some([first, ..]) => literal(first).to_owned(),
        _ => match node {
            Node::Nothing => "no value at all".to_owned(),
            _ => "\"text\"".to_owned(),
        },
    }
}

/// Text for a value `node` rejects: a value of a type it does not admit.
pub(super) fn rejected(node: &Node<'_>) -> String {
    let types = types(node);
    super::schema::ALL_TYPES
        .iter()
        .find(|t| !admits(&types, t))
        .map_or_else(
            || "a value the new schema rejects".to_owned(),
            |t| literal(t).to_owned(),
        )
}
