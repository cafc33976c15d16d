use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use super::*;

fn write(dir: &Path, relative: &str, value: &Value) {
    let path = dir.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

fn rules_for(findings: &[Finding], file_part: &str) -> Vec<(&'static str, String)> {
    findings
        .iter()
        .filter(|f| f.file.contains(file_part))
        .map(|f| (f.rule, f.pointer.clone()))
        .collect()
}

#[test]
fn takts_own_contracts_lint_clean() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts");
    let findings = lint_dir(&dir).unwrap();
    assert!(findings.is_empty(), "{findings:#?}");
}

fn scrap_schema(version: &str) -> Value {
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("urn:takt:schema:acme.scrap.book.v1:{version}"),
        "title": "Scrap booked",
        "x-takt-pattern": "event",
        "type": "object",
        "additionalProperties": false,
        "required": ["plant"],
        "properties": {
            "plant": {"type": "string", "description": "Plant."},
            "scrapQty": {"type": "number", "description": "Scrapped amount."},
            "weight": {"$ref": "#/$defs/mass", "description": "Weight.", "maxProperties": 2},
            "note": {"type": "string"}
        },
        "$defs": {"mass": {"type": "object", "required": ["value", "uom"], "properties": {
            "value": {"type": "string", "pattern": "^[0-9]+$", "description": "Digits."},
            "uom": {"type": "string", "enum": ["KGM", "KG"], "description": "Unit."}
        }}}
    })
}

#[test]
fn each_rule_reports_its_own_finding() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "acme.scrap.book.v1/1.0.schema.json",
        &scrap_schema("1.0"),
    );
    let mut newer = scrap_schema("1.1");
    newer["required"] = json!(["plant", "note"]);
    write(dir.path(), "acme.scrap.book.v1/1.1.schema.json", &newer);
    let findings = lint_dir(dir.path()).unwrap();
    let v10 = rules_for(&findings, "1.0.schema.json");
    let expected: [(&str, &str); 9] = [
        ("naming", ""),
        ("description", ""),
        ("description", "/properties/note"),
        ("quantity", "/properties/scrapQty"),
        ("quantity", "/$defs/mass"),
        ("draft07-subset", "/$defs"),
        ("draft07-subset", "/properties/weight"),
        ("envelope", "/required"),
        ("envelope", ""),
    ];
    for (rule, pointer) in expected {
        assert!(
            v10.contains(&(rule, pointer.to_owned())),
            "{rule} {pointer} missing in {v10:#?}"
        );
    }
    let quantity_messages: Vec<&str> = findings
        .iter()
        .filter(|f| f.rule == "quantity")
        .map(|f| f.message.as_str())
        .collect();
    assert!(
        quantity_messages
            .iter()
            .any(|m| m.contains("[\"KG\"] are not in the unit table")),
        "{quantity_messages:?}"
    );
    assert!(
        quantity_messages
            .iter()
            .any(|m| m.contains("requires both value and uom")),
        "{quantity_messages:?}"
    );
    let warning = findings.iter().find(|f| f.rule == "metadata").unwrap();
    assert_eq!(
        (warning.severity, warning.message.as_str()),
        (
            Severity::Warning,
            "x-takt-compatibility is not declared, so it defaults to backward_transitive; declare it"
        )
    );
    let compat = findings.iter().find(|f| f.rule == "compatibility").unwrap();
    assert!(compat.file.ends_with("1.1.schema.json"));
    assert_eq!(
        compat.message,
        "/data/note: property is now required — messages that producers on 1.0 still send would be rejected by consumers on 1.1 (BACKWARD), e.g. a message without /data/note (declared mode BACKWARD_TRANSITIVE)"
    );
    let examples = findings.iter().find(|f| f.rule == "examples").unwrap();
    assert!(
        examples
            .message
            .contains("has 0 valid and 0 invalid examples"),
        "{}",
        examples.message
    );
}

#[test]
fn mislabelled_examples_are_reported() {
    let own =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../contracts/mfg.material.consumed.v1");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("mfg.material.consumed.v1");
    fs::create_dir_all(target.join("examples")).unwrap();
    for entry in fs::read_dir(&own)
        .unwrap()
        .chain(fs::read_dir(own.join("examples")).unwrap())
    {
        let path = entry.unwrap().path();
        if path.is_file() {
            let relative = path.strip_prefix(&own).unwrap();
            fs::copy(&path, target.join(relative)).unwrap();
        }
    }
    let labels = target.join("examples/expect.toml");
    let text = fs::read_to_string(&labels)
        .unwrap()
        .replace("rule = \"enum\"", "rule = \"pattern\"");
    fs::write(&labels, text).unwrap();
    fs::copy(
        target.join("examples/invalid-missing-order.json"),
        target.join("examples/invalid-unlabelled.json"),
    )
    .unwrap();
    fs::copy(
        target.join("examples/invalid-missing-order.json"),
        target.join("examples/valid-not-really.json"),
    )
    .unwrap();
    let findings = lint_dir(dir.path()).unwrap();
    let messages: Vec<String> = findings
        .iter()
        .map(|f| format!("{} {}", f.file.rsplit('/').next().unwrap(), f.message))
        .collect();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(messages[0].starts_with("invalid-sap-unit-code.json labelled /data/qty/uom [pattern] but fails with /data/qty/uom [enum]"), "{}", messages[0]);
    assert!(
        messages[1].starts_with("invalid-unlabelled.json no label: add [invalid-unlabelled]"),
        "{}",
        messages[1]
    );
    assert!(
        messages[2].starts_with("valid-not-really.json labelled valid but fails: /data/orderId:"),
        "{}",
        messages[2]
    );
}

#[test]
fn a_directory_that_does_not_load_is_one_finding() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("units.toml"), "[[unit]]\ncode = 1\n").unwrap();
    let findings = lint_dir(dir.path()).unwrap();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].rule, "load");
}
