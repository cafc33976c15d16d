//! Validating a whole message: envelope, then `data` against its contract.
//!
//! Every problem is reported, not just the first, as a [`Violation`]: the JSON
//! pointer of the offending value, the rule it broke (a JSON Schema keyword
//! such as `required` or `enum`, or a Takt rule such as `contract`) and a
//! sentence for a human.

use std::fmt;

use jsonschema::error::ValidationErrorKind;
use serde_json::Value;
use takt_model::SchemaId;

use crate::registry::{ContractVersion, Registry};

/// One reason a message is invalid.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Violation {
    /// JSON pointer into the message, e.g. `/data/qty/uom`; empty for the root.
    pub pointer: String,
    /// The rule broken: a JSON Schema keyword, or `json`, `contract`,
    /// `siteid`, `partitionkey` for Takt's own checks.
    pub rule: String,
    /// What is wrong, in a sentence.
    pub message: String,
}

impl Violation {
    /// A violation of `rule` at `pointer`, explained by `message`.
    pub fn new(pointer: impl Into<String>, rule: &str, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            rule: rule.to_owned(),
            message: message.into(),
        }
    }
}

impl Violation {
    /// The body is not JSON at all (rule `json`, at the root).
    pub fn not_json(error: &serde_json::Error) -> Self {
        Self::new("", "json", format!("not valid JSON: {error}"))
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(root)"
        } else {
            &self.pointer
        };
        write!(f, "{pointer}: {} [{}]", self.message, self.rule)
    }
}

/// A message that passed every check, with the contract version it matched.
#[derive(Debug)]
pub struct Validated<'r> {
    /// The parsed message.
    pub message: Value,
    /// The contract version its `data` was checked against.
    pub contract: &'r ContractVersion,
}

impl Registry {
    /// Parses and validates a message given as bytes (one JSON document).
    pub fn validate_bytes(&self, bytes: &[u8]) -> Result<Validated<'_>, Vec<Violation>> {
        match serde_json::from_slice(bytes) {
            Ok(message) => self.validate(message),
            Err(e) => Err(vec![Violation::not_json(&e)]),
        }
    }

    /// Validates a parsed message: envelope, contract resolution, `data`,
    /// and the consistency of `siteid` and `partitionkey` with `data`.
    pub fn validate(&self, message: Value) -> Result<Validated<'_>, Vec<Violation>> {
        let mut violations = Vec::new();
        if !self.envelope.validator.is_valid(&message) {
            collect(&self.envelope.validator, &message, "", &mut violations);
        }
        let contract = self.resolve(&message, &mut violations);
        if let (Some(contract), Some(data)) = (contract, message.get("data")) {
            if !contract.validator.is_valid(data) {
                collect(&contract.validator, data, "/data", &mut violations);
            }
            check_consistency(contract, &message, data, &mut violations);
        }
        match contract {
            Some(contract) if violations.is_empty() => Ok(Validated { message, contract }),
            _ if violations.is_empty() => {
                // Never fail without saying why.
                Err(vec![Violation::new(
                    "",
                    "contract",
                    "the message names no contract this hub can check it against",
                )])
            }
            _ => Err(violations),
        }
    }

    /// Finds the contract version named by `dataschema`, or the latest version
    /// of `type` when `dataschema` is absent.
    fn resolve(
        &self,
        message: &Value,
        violations: &mut Vec<Violation>,
    ) -> Option<&ContractVersion> {
        let type_name = message.get("type").and_then(Value::as_str)?;
        let Some(contract) = self.contract(type_name) else {
            violations.push(Violation::new(
                "/type",
                "contract",
                format!("no contract {type_name:?} is registered; `takt contract list` shows the known ones"),
            ));
            return None;
        };
        let Some(dataschema) = message.get("dataschema").and_then(Value::as_str) else {
            return Some(contract.latest());
        };
        let Ok(id) = dataschema.parse::<SchemaId>() else {
            // A malformed id is already reported by the envelope schema; a
            // well-formed one whose major differs from the type's is not.
            if !violations.iter().any(|v| v.pointer == "/dataschema") {
                violations.push(Violation::new(
                    "/dataschema",
                    "contract",
                    format!(
                        "{dataschema:?} is not a schema id of {type_name}: write urn:takt:schema:{type_name}:{}.<minor>",
                        contract.contract_type().major()
                    ),
                ));
            }
            return None;
        };
        if id.contract != *contract.contract_type() {
            violations.push(Violation::new(
                "/dataschema",
                "contract",
                format!("dataschema names {} but type is {type_name}", id.contract),
            ));
            return None;
        }
        let found = contract.version(id.version);
        if found.is_none() {
            let known: Vec<String> = contract
                .versions()
                .map(|v| v.id.version.to_string())
                .collect();
            violations.push(Violation::new(
                "/dataschema",
                "contract",
                format!(
                    "{type_name} has no version {}; known versions: {}",
                    id.version,
                    known.join(", ")
                ),
            ));
        }
        found
    }
}

fn collect(
    validator: &jsonschema::Validator,
    instance: &Value,
    prefix: &str,
    out: &mut Vec<Violation>,
) {
    for error in validator.iter_errors(instance) {
        let mut pointer = format!("{prefix}{}", error.instance_path().as_str());
        if let ValidationErrorKind::Required { property } = error.kind() {
            pointer.push('/');
            pointer.push_str(&pointer_segment(property.as_str().unwrap_or_default()));
        }
        out.push(Violation::new(
            pointer,
            error.kind().keyword(),
            error.to_string(),
        ));
    }
}

/// Escapes a property name as one JSON pointer segment (RFC 6901).
pub fn pointer_segment(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

/// Takt rules no schema can express: `data.siteId` must equal `siteid`, and
/// `partitionkey` must be the contract's ordering key.
fn check_consistency(
    contract: &ContractVersion,
    message: &Value,
    data: &Value,
    out: &mut Vec<Violation>,
) {
    let siteid = message.get("siteid").and_then(Value::as_str);
    if let (Some(siteid), Some(data_site)) = (siteid, data.get("siteId").and_then(Value::as_str))
        && siteid != data_site
    {
        out.push(Violation::new(
            "/data/siteId",
            "siteid",
            format!("data.siteId {data_site:?} differs from the envelope's siteid {siteid:?}; a message belongs to one plant"),
        ));
    }
    let given = message.get("partitionkey").and_then(Value::as_str);
    if let (Some(given), Some(expected)) = (given, contract.partition_key(data))
        && given != expected
    {
        out.push(Violation::new(
            "/partitionkey",
            "partitionkey",
            format!(
                "partitionkey must be {expected:?}, the contract's ordering key ({}), not {given:?}",
                contract.meta.ordering_key.join(", ")
            ),
        ));
    }
}
