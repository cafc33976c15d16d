//! A loaded contract version and what its schema declares about itself.

use std::collections::BTreeMap;

use serde_json::Value;
use takt_model::{ContractType, SchemaId};

use crate::compat::Mode;

/// The interaction pattern of a contract, from `x-takt-pattern`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// A fact, past tense, published by its system of record.
    Event,
    /// An imperative request to an owner, answered accepted or rejected.
    Command,
    /// A synchronous question, answered with data.
    Query,
}

impl Pattern {
    /// The name as written in `x-takt-pattern`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Event => "event",
            Self::Command => "command",
            Self::Query => "query",
        }
    }

    pub(crate) fn parse(s: &str) -> Option<Self> {
        [Self::Event, Self::Command, Self::Query]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// What a contract schema declares through its `x-takt-*` keywords.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractMeta {
    /// `title`.
    pub title: String,
    /// `description`.
    pub description: String,
    /// `x-takt-pattern` (default: event).
    pub pattern: Pattern,
    /// `x-takt-compatibility` (default: backward_transitive).
    pub compatibility: Mode,
    /// `x-takt-ordering-key`: JSON pointers into `data`, joined by `/` to form
    /// the message's `partitionkey`.
    pub ordering_key: Vec<String>,
    /// `x-takt-business-keys`: key kind (order, lot, …) → JSON pointer into `data`.
    pub business_keys: BTreeMap<String, String>,
}

impl ContractMeta {
    /// Reads the `x-takt-*` keywords, or explains which one is malformed.
    pub(crate) fn from_schema(schema: &Value) -> Result<Self, String> {
        let text = |key: &str| {
            schema
                .get(key)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let pattern = match schema.get("x-takt-pattern") {
            None => Pattern::Event,
            Some(v) => v.as_str().and_then(Pattern::parse).ok_or_else(|| {
                format!("x-takt-pattern must be \"event\", \"command\" or \"query\", not {v}")
            })?,
        };
        let compatibility = match schema.get("x-takt-compatibility") {
            None => Mode::BackwardTransitive,
            Some(v) => v.as_str().and_then(|s| s.parse().ok()).ok_or_else(|| {
                format!(
                    "x-takt-compatibility {v} is not a mode: {}",
                    Mode::NAMES.join(", ")
                )
            })?,
        };
        let ordering_key = match schema.get("x-takt-ordering-key") {
            None => Vec::new(),
            Some(v) => pointer_list(v).ok_or_else(|| {
                format!("x-takt-ordering-key must be an array of JSON pointers like \"/siteId\", not {v}")
            })?,
        };
        let business_keys = match schema.get("x-takt-business-keys") {
            None => BTreeMap::new(),
            Some(v) => pointer_map(v).ok_or_else(|| {
                format!("x-takt-business-keys must map names to JSON pointers like {{\"order\": \"/orderId\"}}, not {v}")
            })?,
        };
        Ok(Self {
            title: text("title"),
            description: text("description"),
            pattern,
            compatibility,
            ordering_key,
            business_keys,
        })
    }
}

fn is_pointer(s: &str) -> bool {
    s.starts_with('/') && s.len() > 1
}

fn pointer_list(v: &Value) -> Option<Vec<String>> {
    let items = v.as_array()?;
    items
        .iter()
        .map(|i| i.as_str().filter(|s| is_pointer(s)).map(str::to_owned))
        .collect()
}

fn pointer_map(v: &Value) -> Option<BTreeMap<String, String>> {
    let map = v.as_object()?;
    map.iter()
        .map(|(k, p)| Some((k.clone(), p.as_str().filter(|s| is_pointer(s))?.to_owned())))
        .collect()
}

/// One compiled version of a contract.
#[derive(Debug)]
pub struct ContractVersion {
    /// `urn:takt:schema:<type>:<major>.<minor>`.
    pub id: SchemaId,
    /// The schema as written.
    pub schema: Value,
    /// Its `x-takt-*` declarations.
    pub meta: ContractMeta,
    /// `builtin:…` or a path.
    pub origin: String,
    pub(crate) validator: jsonschema::Validator,
}

impl ContractVersion {
    /// The contract type.
    pub fn contract(&self) -> &ContractType {
        &self.id.contract
    }

    /// The partition key this contract derives from `data`, when every
    /// ordering-key pointer resolves to a string or number.
    pub fn partition_key(&self, data: &Value) -> Option<String> {
        if self.meta.ordering_key.is_empty() {
            return None;
        }
        let parts: Option<Vec<String>> = self
            .meta
            .ordering_key
            .iter()
            .map(|p| match data.pointer(p)? {
                Value::String(s) => Some(s.clone()),
                Value::Number(n) => Some(n.to_string()),
                _ => None,
            })
            .collect();
        parts.map(|p| p.join("/"))
    }
}

/// What an invalid example must be rejected for (from `examples/expect.toml`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// JSON pointer of the offending value.
    pub pointer: String,
    /// JSON Schema keyword (or Takt rule) broken.
    pub rule: String,
}

/// An example message shipped with a contract.
#[derive(Debug, Clone)]
pub struct Example {
    /// File stem: `valid-…` or `invalid-…`.
    pub name: String,
    /// Where it came from.
    pub origin: String,
    /// The raw text.
    pub text: String,
    /// For `invalid-…` examples: the labelled reason.
    pub expect: Option<Expectation>,
}

impl Example {
    /// Whether the example is labelled valid (its name starts with `valid-`).
    pub fn is_valid_example(&self) -> bool {
        self.name.starts_with("valid-")
    }
}
