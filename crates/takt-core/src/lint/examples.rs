//! The `examples` lint rule: every contract ships labelled example messages.

use super::Findings;
use crate::registry::{Contract, Example, Registry};

const MIN_VALID: usize = 2;
const MIN_INVALID: usize = 3;

pub(super) fn check(registry: &Registry, contract: &Contract, findings: &mut Findings) {
    let file = &contract.latest().origin;
    let examples = contract.examples();
    let valid: Vec<&Example> = examples.iter().filter(|e| e.is_valid_example()).collect();
    let invalid: Vec<&Example> = examples
        .iter()
        .filter(|e| e.name.starts_with("invalid-"))
        .collect();
    for other in examples
        .iter()
        .filter(|e| !e.is_valid_example() && !e.name.starts_with("invalid-"))
    {
        let message =
            "example names start with valid- or invalid- so their expected outcome is clear"
                .to_owned();
        findings.error(&other.origin, "", "examples", message);
    }
    if valid.len() < MIN_VALID || invalid.len() < MIN_INVALID {
        let message = format!(
            "{} has {} valid and {} invalid examples; ship at least {MIN_VALID} valid-*.json and {MIN_INVALID} invalid-*.json under examples/",
            contract.contract_type(),
            valid.len(),
            invalid.len()
        );
        findings.error(file, "", "examples", message);
    }
    for example in valid {
        if let Err(violations) = registry.validate_bytes(example.text.as_bytes()) {
            let first = violations
                .first()
                .map(ToString::to_string)
                .unwrap_or_default();
            findings.error(
                &example.origin,
                "",
                "examples",
                format!("labelled valid but fails: {first}"),
            );
        }
    }
    for example in invalid {
        let Some(expect) = &example.expect else {
            let message = format!(
                "no label: add [{}] with pointer and rule to examples/expect.toml",
                example.name
            );
            findings.error(&example.origin, "", "examples", message);
            continue;
        };
        match registry.validate_bytes(example.text.as_bytes()) {
            Ok(_) => findings.error(
                &example.origin,
                "",
                "examples",
                "labelled invalid but validates".to_owned(),
            ),
            Err(violations)
                if !violations
                    .iter()
                    .any(|v| v.pointer == expect.pointer && v.rule == expect.rule) =>
            {
                let got: Vec<String> = violations
                    .iter()
                    .map(|v| format!("{} [{}]", v.pointer, v.rule))
                    .collect();
                let message = format!(
                    "labelled {} [{}] but fails with {}",
                    expect.pointer,
                    expect.rule,
                    got.join(", ")
                );
                findings.error(&example.origin, "", "examples", message);
            }
            Err(_) => {}
        }
    }
}
