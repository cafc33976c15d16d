use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use super::*;

fn builtin() -> Registry {
    Registry::builtin().unwrap()
}

fn example(registry: &Registry, contract: &str, name: &str) -> Value {
    let c = registry.contract(contract).unwrap();
    let e = c.examples().iter().find(|e| e.name == name).unwrap();
    serde_json::from_str(&e.text).unwrap()
}

/// One (pointer, rule) pair per violation, for compact assertions.
fn violations(registry: &Registry, message: Value) -> Vec<(String, String)> {
    let errors = registry.validate(message).unwrap_err();
    errors.into_iter().map(|v| (v.pointer, v.rule)).collect()
}

const DESIGN_TYPES: [&str; 21] = [
    "mfg.productionorder.release.v1",
    "mfg.productionorder.released.v1",
    "mfg.productionorder.changed.v1",
    "mfg.productionorder.cancelled.v1",
    "mfg.operation.completed.v1",
    "mfg.material.consumed.v1",
    "mfg.finishedgoods.received.v1",
    "mfg.qualityresult.recorded.v1",
    "mfg.qualityhold.place.v1",
    "mfg.qualityhold.placed.v1",
    "mfg.materiallot.released.v1",
    "mfg.inventory.moved.v1",
    "mfg.supplierreceipt.recorded.v1",
    "mfg.shipment.prepare.v1",
    "mfg.shipment.confirm.v1",
    "mfg.shipment.confirmed.v1",
    "mfg.equipment.downtime.started.v1",
    "mfg.equipment.downtime.ended.v1",
    "mfg.inventory.availability.query.v1",
    "mfg.command.accepted.v1",
    "mfg.command.rejected.v1",
];

#[test]
fn every_design_contract_is_built_in() {
    let registry = builtin();
    let names: Vec<&str> = registry
        .contracts()
        .map(|c| c.contract_type().as_str())
        .collect();
    assert_eq!(names.len(), DESIGN_TYPES.len());
    for t in DESIGN_TYPES {
        assert!(names.contains(&t), "{t} missing");
    }
}

#[test]
fn every_shipped_example_validates_or_fails_as_labelled() {
    let registry = builtin();
    for contract in registry.contracts() {
        let (valid, invalid): (Vec<&Example>, Vec<&Example>) = contract
            .examples()
            .iter()
            .partition(|e| e.is_valid_example());
        assert!(
            valid.len() >= 2 && invalid.len() >= 3,
            "{}: too few examples",
            contract.contract_type()
        );
        for e in valid {
            let result = registry.validate_bytes(e.text.as_bytes());
            assert!(result.is_ok(), "{}: {:?}", e.origin, result.err());
        }
        let mut reasons = Vec::new();
        for e in invalid {
            let expect = e
                .expect
                .as_ref()
                .unwrap_or_else(|| panic!("{}: no label in expect.toml", e.origin));
            let errors = registry.validate_bytes(e.text.as_bytes()).unwrap_err();
            assert!(
                errors
                    .iter()
                    .any(|v| v.pointer == expect.pointer && v.rule == expect.rule),
                "{}: expected {expect:?}, got {errors:?}",
                e.origin
            );
            reasons.push((expect.pointer.clone(), expect.rule.clone()));
        }
        reasons.sort();
        reasons.dedup();
        assert!(
            reasons.len() >= 3,
            "{}: invalid examples must fail for different reasons",
            contract.contract_type()
        );
    }
}

#[test]
fn versions_coexist_and_dataschema_picks_one() {
    let registry = builtin();
    let mut message = example(
        &registry,
        "mfg.material.consumed.v1",
        "valid-with-equipment",
    );
    assert_eq!(
        registry
            .validate(message.clone())
            .unwrap()
            .contract
            .id
            .version
            .to_string(),
        "1.1"
    );
    // equipmentId only exists from 1.1 on: the closed 1.0 model rejects it.
    message["dataschema"] = json!("urn:takt:schema:mfg.material.consumed.v1:1.0");
    assert_eq!(
        violations(&registry, message.clone()),
        [("/data".to_owned(), "additionalProperties".to_owned())]
    );
    message["dataschema"] = json!("urn:takt:schema:mfg.material.consumed.v1:1.7");
    let errors = registry.validate(message).unwrap_err();
    assert_eq!(
        errors[0].message,
        "mfg.material.consumed.v1 has no version 1.7; known versions: 1.0, 1.1"
    );
}

#[test]
fn every_violation_is_reported_with_pointer_rule_and_sentence() {
    let registry = builtin();
    let mut message = example(&registry, "mfg.material.consumed.v1", "valid-lot-managed");
    message["id"] = json!("not-a-uuid");
    message["time"] = json!("yesterday");
    message["data"]["qty"] = json!({"value": 12.5, "uom": "KG"});
    message["data"].as_object_mut().unwrap().remove("orderId");
    let errors = registry.validate(message).unwrap_err();
    let pairs: Vec<(&str, &str)> = errors
        .iter()
        .map(|v| (v.pointer.as_str(), v.rule.as_str()))
        .collect();
    for expected in [
        ("/id", "pattern"),
        ("/time", "format"),
        ("/data/orderId", "required"),
        ("/data/qty/value", "type"),
        ("/data/qty/uom", "enum"),
    ] {
        assert!(pairs.contains(&expected), "{expected:?} not in {pairs:?}");
    }
    let uom = errors
        .iter()
        .find(|v| v.pointer == "/data/qty/uom")
        .unwrap();
    assert!(uom.message.contains("\"KG\""), "{}", uom.message);
}

#[test]
fn takt_rules_beyond_the_schema() {
    let registry = builtin();
    let base = example(&registry, "mfg.material.consumed.v1", "valid-lot-managed");

    let mut other_site = base.clone();
    other_site["data"]["siteId"] = json!("2020");
    assert_eq!(
        violations(&registry, other_site),
        [
            ("/data/siteId".to_owned(), "siteid".to_owned()),
            ("/partitionkey".to_owned(), "partitionkey".to_owned()),
        ]
    );

    let mut unknown = base.clone();
    unknown["type"] = json!("mfg.material.teleported.v1");
    unknown.as_object_mut().unwrap().remove("dataschema");
    let errors = registry.validate(unknown).unwrap_err();
    assert_eq!(
        (
            errors.last().unwrap().pointer.as_str(),
            errors.last().unwrap().rule.as_str()
        ),
        ("/type", "contract")
    );

    let mut mismatched = base;
    mismatched["dataschema"] = json!("urn:takt:schema:mfg.inventory.moved.v1:1.0");
    assert_eq!(
        violations(&registry, mismatched),
        [("/dataschema".to_owned(), "contract".to_owned())]
    );

    let errors = registry.validate_bytes(b"{\"specversion\": ").unwrap_err();
    assert_eq!(errors[0].rule, "json");
    assert!(
        errors[0]
            .message
            .starts_with("not valid JSON: EOF while parsing"),
        "{}",
        errors[0].message
    );
}

fn write(dir: &Path, relative: &str, text: &str) {
    let path = dir.join(relative);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

fn acme_schema(id: &str, extra_property: Option<&str>) -> String {
    let mut properties = json!({"siteId": {"type": "string", "description": "Plant."}});
    if let Some(name) = extra_property {
        properties[name] = json!({"type": "string", "description": "Extra."});
    }
    json!({
        "$schema": DIALECT, "$id": id, "title": "Scrap", "description": "Scrap booked.",
        "type": "object", "additionalProperties": false, "required": ["siteId"], "properties": properties
    })
    .to_string()
}

#[test]
fn deployment_directories_add_contracts_and_units() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "acme.scrap.booked.v1/1.0.schema.json",
        &acme_schema("urn:takt:schema:acme.scrap.booked.v1:1.0", None),
    );
    write(
        dir.path(),
        "units.toml",
        "[[material]]\nmaterial = \"CAP-200\"\nfrom = \"C62\"\nto = \"KGM\"\nfactor = \"12/5\"\n",
    );
    write(dir.path(), "README.md", "ignored");
    let registry = Registry::load(&[dir.path()]).unwrap();
    assert!(registry.contract("acme.scrap.booked.v1").is_some());
    assert_eq!(registry.contracts().count(), DESIGN_TYPES.len() + 1);
    assert_eq!(registry.units().material_conversions("CAP-200").len(), 1);
}

#[test]
fn deployment_mistakes_are_explained_with_the_file() {
    let cases: [(&str, String, &str); 6] = [
        (
            "acme.scrap.booked.v1/1.0.schema.json",
            acme_schema("urn:takt:schema:acme.scrap.booked.v1:2.0", None),
            "\"$id\" must be \"urn:takt:schema:acme.scrap.booked.v1:1.0\"",
        ),
        (
            "acme.scrap.booked.v1/2.0.schema.json",
            acme_schema("urn:takt:schema:acme.scrap.booked.v1:2.0", None),
            "its major must be 1",
        ),
        (
            "Acme.Scrap/1.0.schema.json",
            acme_schema("x", None),
            "must look like <namespace>.<aggregate>.<verb>.v<major>",
        ),
        (
            "mfg.material.consumed.v1/1.0.schema.json",
            acme_schema("urn:takt:schema:mfg.material.consumed.v1:1.0", None),
            "published schema ids are immutable",
        ),
        (
            "acme.scrap.booked.v1/1.0.schema.json",
            "{\"$schema\": 3".to_owned(),
            "not valid JSON",
        ),
        (
            "acme.scrap.booked.v1/notes/extra.json",
            "{}".to_owned(),
            "unexpected file",
        ),
    ];
    for (relative, text, expected) in cases {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), relative, &text);
        let err = Registry::load(&[dir.path()]).unwrap_err();
        let message = err.to_string();
        assert!(message.contains(expected), "{relative}: {message}");
        assert!(
            message.starts_with(&dir.path().join(relative).display().to_string()),
            "{message}"
        );
        assert_eq!(err.code(), takt_model::ErrorCode::InvalidContract);
    }
}

#[test]
fn schemas_that_are_not_json_schema_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let bad = json!({"$schema": DIALECT, "$id": "urn:takt:schema:acme.scrap.booked.v1:1.0", "type": "objekt"});
    write(
        dir.path(),
        "acme.scrap.booked.v1/1.0.schema.json",
        &bad.to_string(),
    );
    let err = Registry::load(&[dir.path()]).unwrap_err().to_string();
    assert!(err.contains("not a valid JSON Schema at /type"), "{err}");
    let remote = json!({"$schema": DIALECT, "$id": "urn:takt:schema:acme.scrap.booked.v1:1.0", "$ref": "https://example.com/remote.json"});
    write(
        dir.path(),
        "acme.scrap.booked.v1/1.0.schema.json",
        &remote.to_string(),
    );
    let err = Registry::load(&[dir.path()]).unwrap_err().to_string();
    assert!(err.contains("schema does not compile"), "{err}");
}
