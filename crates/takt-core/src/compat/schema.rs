//! A read-only view of one subschema, with local `$ref`s followed.

use serde_json::{Map, Value};

/// Keywords that never constrain an instance, so changing them is harmless.
const ANNOTATIONS: [&str; 14] = [
    "$schema",
    "$id",
    "$comment",
    "title",
    "description",
    "examples",
    "default",
    "deprecated",
    "readOnly",
    "writeOnly",
    "definitions",
    "$defs",
    "contentMediaType",
    "contentEncoding",
];

/// Keywords the checker reasons about one by one.
pub(super) const UNDERSTOOD: [&str; 21] = [
    "$ref",
    "type",
    "enum",
    "const",
    "properties",
    "required",
    "additionalProperties",
    "patternProperties",
    "items",
    "minItems",
    "maxItems",
    "uniqueItems",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minLength",
    "maxLength",
    "pattern",
    "format",
];

/// A subschema resolved against its document.
#[derive(Clone, Copy, Debug)]
pub(super) enum Node<'a> {
    /// `true` or `{}`: every instance is valid.
    Any,
    /// `false`: no instance is valid.
    Nothing,
    /// An object schema (possibly reached through `$ref`).
    Schema(&'a Map<String, Value>),
    /// A `$ref` that cannot be followed locally (remote or broken).
    Unresolved(&'a str),
}

impl<'a> Node<'a> {
    /// Resolves `value` within `root`, following up to 32 local `$ref`s.
    pub(super) fn resolve(root: &'a Value, value: &'a Value) -> Self {
        let mut current = value;
        for _ in 0..32 {
            match current {
                Value::Bool(true) => return Self::Any,
                Value::Bool(false) => return Self::Nothing,
                Value::Object(map) => match map.get("$ref").and_then(Value::as_str) {
                    Some(reference) => match follow(root, reference) {
                        Some(target) => current = target,
                        None => return Self::Unresolved(reference),
                    },
                    None if is_unconstrained(map) => return Self::Any,
                    None => return Self::Schema(map),
                },
                _ => return Self::Unresolved("(not a schema)"),
            }
        }
        Self::Unresolved("(a $ref cycle)")
    }

    /// The keyword's value, if the node is an object schema that has it.
    pub(super) fn get(&self, keyword: &str) -> Option<&'a Value> {
        match self {
            Self::Schema(map) => map.get(keyword),
            _ => None,
        }
    }

    /// The constraining keywords this checker does not analyse.
    pub(super) fn other_keywords(&self) -> Vec<(&'a String, &'a Value)> {
        match self {
            Self::Schema(map) => map
                .iter()
                .filter(|(k, _)| !is_annotation(k) && !UNDERSTOOD.contains(&k.as_str()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

fn is_annotation(keyword: &str) -> bool {
    ANNOTATIONS.contains(&keyword) || keyword.starts_with("x-")
}

fn is_unconstrained(map: &Map<String, Value>) -> bool {
    map.keys().all(|k| is_annotation(k))
}

/// Follows `#/json/pointer` inside the same document.
fn follow<'a>(root: &'a Value, reference: &str) -> Option<&'a Value> {
    let pointer = reference.strip_prefix('#')?;
    if pointer.is_empty() {
        return Some(root);
    }
    root.pointer(pointer)
}

/// The JSON types a node admits, or `None` when `type` does not restrict it.
pub(super) fn types(node: &Node<'_>) -> Option<Vec<&'static str>> {
    let declared = node.get("type")?;
    let names: Vec<&str> = match declared {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => return None,
    };
    Some(
        ALL_TYPES
            .iter()
            .copied()
            .filter(|t| names.contains(t))
            .collect(),
    )
}

/// Every JSON Schema type, in a fixed order.
pub(super) const ALL_TYPES: [&str; 7] = [
    "null", "boolean", "object", "array", "number", "string", "integer",
];

/// Whether a set of declared types admits instances of type `t`.
pub(super) fn admits(types: &Option<Vec<&str>>, t: &str) -> bool {
    match types {
        None => true,
        Some(list) => list.contains(&t) || (t == "integer" && list.contains(&"number")),
    }
}
