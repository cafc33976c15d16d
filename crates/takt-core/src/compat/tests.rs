//! Every rule in both directions, with the explanation text asserted.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

/// Wraps `properties` in a closed object schema, as Takt contracts are.
fn closed(properties: Value, required: &[&str]) -> Value {
    json!({"type": "object", "additionalProperties": false, "required": required, "properties": properties})
}

fn open(properties: Value) -> Value {
    json!({"type": "object", "properties": properties})
}

fn report(mode: Mode, old: &Value, new: &Value) -> Report {
    check(
        mode,
        &[Version {
            label: "1.2",
            schema: old,
        }],
        Version {
            label: "1.3",
            schema: new,
        },
        "/data",
    )
}

/// The explanations of every break under `mode`.
fn explain(mode: Mode, old: &Value, new: &Value) -> Vec<String> {
    report(mode, old, new)
        .breaks()
        .map(|b| b.explanation.clone())
        .collect()
}

const B: &str =
    "messages that producers on 1.2 still send would be rejected by consumers on 1.3 (BACKWARD)";
const F: &str =
    "messages that producers on 1.3 send would be rejected by consumers still on 1.2 (FORWARD)";

/// Asserts that going old→new breaks exactly `backward`, and new→old… is
/// checked by the caller with the mirrored expectation.
fn assert_breaks(old: &Value, new: &Value, backward: &[String], forward: &[String]) {
    assert_eq!(explain(Mode::Backward, old, new), backward, "BACKWARD");
    assert_eq!(explain(Mode::Forward, old, new), forward, "FORWARD");
    let full: Vec<String> = report(Mode::Full, old, new)
        .breaks()
        .map(|b| b.explanation.clone())
        .collect();
    assert_eq!(
        full.len(),
        backward.len() + forward.len(),
        "FULL = BACKWARD + FORWARD"
    );
}

fn uom(values: &[&str]) -> Value {
    closed(
        json!({"qty": closed(json!({"value": {"type": "string"}, "uom": {"type": "string", "enum": values}}), &["value", "uom"])}),
        &["qty"],
    )
}

#[test]
fn enum_value_removed_breaks_backward_and_added_breaks_forward() {
    let (wide, narrow) = (uom(&["KGM", "LBR"]), uom(&["KGM"]));
    assert_breaks(
        &wide,
        &narrow,
        &[format!(
            "/data/qty/uom: enum value \"LBR\" removed — {B}, e.g. /data/qty/uom = \"LBR\""
        )],
        &[],
    );
    assert_breaks(
        &narrow,
        &wide,
        &[],
        &[format!(
            "/data/qty/uom: enum value \"LBR\" added — {F}, e.g. /data/qty/uom = \"LBR\""
        )],
    );
}

#[test]
fn enum_added_or_dropped_entirely() {
    let free = closed(json!({"s": {"type": "string"}}), &[]);
    let listed = closed(json!({"s": {"type": "string", "enum": ["A"]}}), &[]);
    assert_breaks(
        &free,
        &listed,
        &[format!(
            "/data/s: values restricted to [\"A\"] — {B}, e.g. /data/s = a value outside that list"
        )],
        &[],
    );
    assert_breaks(
        &listed,
        &free,
        &[],
        &[format!(
            "/data/s: value list [\"A\"] removed: any value is now accepted — {F}, e.g. /data/s = a value outside the old list"
        )],
    );
}

#[test]
fn optional_property_added_to_a_closed_model_is_the_forward_trap() {
    let before = closed(json!({"a": {"type": "string"}}), &["a"]);
    let after = closed(
        json!({"a": {"type": "string"}, "lotId": {"type": "string", "maxLength": 40}}),
        &["a"],
    );
    assert_breaks(
        &before,
        &after,
        &[],
        &[format!(
            "/data/lotId: property added to a closed model (additionalProperties: false) — {F}, e.g. a message with /data/lotId = \"text\""
        )],
    );
    // Going back is removing it from a closed model: old producers send it.
    assert_breaks(
        &after,
        &before,
        &[format!(
            "/data/lotId: property removed from a closed model (additionalProperties: false) — {B}, e.g. a message with /data/lotId = \"text\""
        )],
        &[],
    );
}

#[test]
fn optional_property_added_to_an_open_model_breaks_backward() {
    let before = open(json!({"a": {"type": "string"}}));
    let after = open(json!({"a": {"type": "string"}, "n": {"type": "integer"}}));
    assert_breaks(
        &before,
        &after,
        &[format!(
            "/data/n: property added to an open model, where the old version allowed any value under this name — {B}, e.g. a message with /data/n = null"
        )],
        &[],
    );
    assert_breaks(
        &after,
        &before,
        &[],
        &[format!(
            "/data/n: property removed; the open model now allows any value under this name — {F}, e.g. a message with /data/n = null"
        )],
    );
}

#[test]
fn required_added_breaks_backward_and_removed_breaks_forward() {
    let optional = closed(json!({"a": {"type": "string"}}), &[]);
    let required = closed(json!({"a": {"type": "string"}}), &["a"]);
    assert_breaks(
        &optional,
        &required,
        &[format!(
            "/data/a: property is now required — {B}, e.g. a message without /data/a"
        )],
        &[],
    );
    assert_breaks(
        &required,
        &optional,
        &[],
        &[format!(
            "/data/a: property is no longer required — {F}, e.g. a message without /data/a"
        )],
    );
}

#[test]
fn type_narrowed_and_widened() {
    let number = closed(json!({"x": {"type": "number"}}), &[]);
    let integer = closed(json!({"x": {"type": "integer"}}), &[]);
    assert_breaks(
        &number,
        &integer,
        &[format!(
            "/data/x: type changed from [\"number\"] to [\"integer\"] — {B}, e.g. /data/x = 1.5"
        )],
        &[],
    );
    assert_breaks(
        &integer,
        &number,
        &[],
        &[format!(
            "/data/x: type changed from [\"integer\"] to [\"number\"] — {F}, e.g. /data/x = 1.5"
        )],
    );
    let either = closed(json!({"x": {"type": ["string", "null"]}}), &[]);
    let text = closed(json!({"x": {"type": "string"}}), &[]);
    assert_breaks(
        &either,
        &text,
        &[format!(
            "/data/x: type changed from [\"null\", \"string\"] to [\"string\"] — {B}, e.g. /data/x = null"
        )],
        &[],
    );
    // A type swap breaks both ways in one change.
    let swapped = report(Mode::Full, &text, &integer);
    assert_eq!(
        swapped.breaks().map(|b| b.direction).collect::<Vec<_>>(),
        [Direction::Backward, Direction::Forward]
    );
}

#[test]
fn model_opened_and_closed() {
    let shut = closed(json!({"a": {"type": "string"}}), &[]);
    let opened = open(json!({"a": {"type": "string"}}));
    assert_breaks(
        &shut,
        &opened,
        &[],
        &[format!(
            "/data: additionalProperties is no longer false: the model is now open — {F}, e.g. a message with an undeclared property /data/extraField = 1"
        )],
    );
    assert_breaks(
        &opened,
        &shut,
        &[format!(
            "/data: additionalProperties set to false: the model is now closed — {B}, e.g. a message with an undeclared property /data/extraField = 1"
        )],
        &[],
    );
}

#[test]
fn string_limits_patterns_and_formats() {
    let s = |extra: Value| {
        let mut schema = json!({"type": "string"});
        schema
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        closed(json!({"s": schema}), &[])
    };
    assert_breaks(
        &s(json!({"maxLength": 40})),
        &s(json!({"maxLength": 20})),
        &[format!(
            "/data/s: maxLength lowered from 40 to 20 — {B}, e.g. /data/s = a string of 40 characters"
        )],
        &[],
    );
    assert_breaks(
        &s(json!({"maxLength": 20})),
        &s(json!({"maxLength": 40})),
        &[],
        &[format!(
            "/data/s: maxLength raised from 20 to 40 — {F}, e.g. /data/s = a string of 40 characters"
        )],
    );
    assert_breaks(
        &s(json!({})),
        &s(json!({"minLength": 3})),
        &[format!(
            "/data/s: minLength 3 added — {B}, e.g. /data/s = a string below 3 characters"
        )],
        &[],
    );
    assert_breaks(
        &s(json!({"minLength": 3})),
        &s(json!({})),
        &[],
        &[format!(
            "/data/s: minLength 3 removed — {F}, e.g. /data/s = a string below 3 characters"
        )],
    );
    assert_breaks(
        &s(json!({})),
        &s(json!({"pattern": "^[A-Z]+$"})),
        &[format!(
            "/data/s: pattern \"^[A-Z]+$\" added — {B}, e.g. /data/s = a string not matching pattern \"^[A-Z]+$\""
        )],
        &[],
    );
    assert_breaks(
        &s(json!({"pattern": "^[A-Z]+$"})),
        &s(json!({})),
        &[],
        &[format!(
            "/data/s: pattern \"^[A-Z]+$\" removed — {F}, e.g. /data/s = a string not matching pattern \"^[A-Z]+$\""
        )],
    );
    let changed = "pattern changed from \"^A\" to \"^B\" (Takt cannot prove one accepts every string of the other)";
    assert_breaks(
        &s(json!({"pattern": "^A"})),
        &s(json!({"pattern": "^B"})),
        &[format!(
            "/data/s: {changed} — {B}, e.g. /data/s = a string matching \"^A\" but not \"^B\""
        )],
        &[format!(
            "/data/s: {changed} — {F}, e.g. /data/s = a string matching \"^B\" but not \"^A\""
        )],
    );
    assert_breaks(
        &s(json!({})),
        &s(json!({"format": "date"})),
        &[format!(
            "/data/s: format \"date\" added — {B}, e.g. /data/s = a string not matching format \"date\""
        )],
        &[],
    );
    assert_breaks(
        &s(json!({"format": "date"})),
        &s(json!({})),
        &[],
        &[format!(
            "/data/s: format \"date\" removed — {F}, e.g. /data/s = a string not matching format \"date\""
        )],
    );
}

#[test]
fn numeric_limits() {
    let n = |extra: Value| {
        let mut schema = json!({"type": "integer"});
        schema
            .as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        closed(json!({"n": schema}), &[])
    };
    assert_breaks(
        &n(json!({"minimum": 0})),
        &n(json!({"minimum": 1})),
        &[format!(
            "/data/n: minimum raised from 0 to 1 — {B}, e.g. /data/n = 0"
        )],
        &[],
    );
    assert_breaks(
        &n(json!({"minimum": 1})),
        &n(json!({"minimum": 0})),
        &[],
        &[format!(
            "/data/n: minimum lowered from 1 to 0 — {F}, e.g. /data/n = 0"
        )],
    );
    assert_breaks(
        &n(json!({})),
        &n(json!({"maximum": 100})),
        &[format!(
            "/data/n: maximum 100 added — {B}, e.g. /data/n = a number above 100"
        )],
        &[],
    );
    assert_breaks(
        &n(json!({"maximum": 100})),
        &n(json!({})),
        &[],
        &[format!(
            "/data/n: maximum 100 removed — {F}, e.g. /data/n = a number above 100"
        )],
    );
    assert_breaks(
        &n(json!({"multipleOf": 2})),
        &n(json!({"multipleOf": 4})),
        &[format!(
            "/data/n: multipleOf changed from 2 to 4 — {B}, e.g. /data/n = 2"
        )],
        &[],
    );
    assert_breaks(
        &n(json!({"multipleOf": 4})),
        &n(json!({"multipleOf": 2})),
        &[],
        &[format!(
            "/data/n: multipleOf changed from 4 to 2 — {F}, e.g. /data/n = 2"
        )],
    );
}

#[test]
fn nested_objects_and_arrays_report_the_full_path() {
    let line = |uoms: &[&str]| {
        closed(
            json!({"lines": {"type": "array", "minItems": 1, "items": closed(json!({"qty": uom(uoms)["properties"]["qty"].clone()}), &["qty"])}}),
            &["lines"],
        )
    };
    assert_breaks(
        &line(&["KGM", "LBR"]),
        &line(&["KGM"]),
        &[format!(
            "/data/lines/*/qty/uom: enum value \"LBR\" removed — {B}, e.g. /data/lines/*/qty/uom = \"LBR\""
        )],
        &[],
    );
    let items = |min: u64, unique: bool| {
        closed(
            json!({"ids": {"type": "array", "minItems": min, "uniqueItems": unique, "items": {"type": "string"}}}),
            &[],
        )
    };
    assert_breaks(
        &items(1, false),
        &items(2, true),
        &[
            format!(
                "/data/ids: minItems raised from 1 to 2 — {B}, e.g. /data/ids = an array of 1 items"
            ),
            format!(
                "/data/ids: uniqueItems added: repeated items are now rejected — {B}, e.g. /data/ids = an array with a repeated item"
            ),
        ],
        &[],
    );
    assert_breaks(
        &items(2, true),
        &items(1, false),
        &[],
        &[
            format!(
                "/data/ids: minItems lowered from 2 to 1 — {F}, e.g. /data/ids = an array of 1 items"
            ),
            format!(
                "/data/ids: uniqueItems removed: repeated items are now accepted — {F}, e.g. /data/ids = an array with a repeated item"
            ),
        ],
    );
}

#[test]
fn local_refs_are_followed_into_definitions() {
    let with_units = |values: &[&str]| {
        json!({
            "type": "object", "additionalProperties": false,
            "properties": {"plannedQty": {"$ref": "#/definitions/quantity"}, "yieldQty": {"$ref": "#/definitions/quantity"}},
            "definitions": {"quantity": uom(values)["properties"]["qty"].clone()}
        })
    };
    let explanations = explain(
        Mode::Backward,
        &with_units(&["KGM", "LBR"]),
        &with_units(&["KGM"]),
    );
    assert_eq!(
        explanations,
        [
            format!(
                "/data/plannedQty/uom: enum value \"LBR\" removed — {B}, e.g. /data/plannedQty/uom = \"LBR\""
            ),
            format!(
                "/data/yieldQty/uom: enum value \"LBR\" removed — {B}, e.g. /data/yieldQty/uom = \"LBR\""
            ),
        ]
    );
}

#[test]
fn recursive_refs_terminate() {
    let tree = |t: &str| json!({"definitions": {"node": {"type": "object", "properties": {"name": {"type": t}, "children": {"type": "array", "items": {"$ref": "#/definitions/node"}}}}}, "$ref": "#/definitions/node"});
    let r = report(Mode::Full, &tree("string"), &tree("string"));
    assert!(r.compatible);
    let r = report(Mode::Backward, &tree("number"), &tree("integer"));
    assert_eq!(r.breaks().next().unwrap().path, "/data/name");
}

#[test]
fn unanalysed_keywords_count_as_breaking_when_changed() {
    let with = |extra: Value| {
        let mut s = closed(
            json!({"a": {"type": "string"}, "b": {"type": "string"}}),
            &[],
        );
        s.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        s
    };
    let any_of = json!({"anyOf": [{"required": ["a"]}, {"required": ["b"]}]});
    assert!(report(Mode::Full, &with(any_of.clone()), &with(any_of.clone())).compatible);
    assert_breaks(
        &with(json!({})),
        &with(any_of.clone()),
        &[format!(
            "/data: anyOf added (Takt does not analyse anyOf, so it counts as a new constraint) — {B}, e.g. /data = a value that passes one version's anyOf but not the other's"
        )],
        &[],
    );
    assert_breaks(
        &with(any_of),
        &with(json!({})),
        &[],
        &[format!(
            "/data: anyOf removed (Takt does not analyse anyOf, so it counts as a dropped constraint) — {F}, e.g. /data = a value that passes one version's anyOf but not the other's"
        )],
    );
}

#[test]
fn annotations_never_break() {
    let a = json!({"type": "object", "description": "old", "title": "A", "x-takt-pattern": "event", "properties": {"s": {"type": "string", "description": "x", "examples": ["a"]}}});
    let b = json!({"type": "object", "description": "new", "title": "B", "x-takt-pattern": "event", "x-takt-business-keys": {"order": "/o"}, "properties": {"s": {"type": "string", "description": "y", "default": "z"}}});
    let r = report(Mode::FullTransitive, &a, &b);
    assert!(r.compatible);
    assert!(r.comparisons[0].changes.is_empty());
}

#[test]
fn transitive_modes_check_every_earlier_version() {
    let v1 = uom(&["KGM", "LBR"]);
    let v2 = uom(&["KGM", "LBR", "GRM"]);
    let v3 = uom(&["KGM", "GRM"]);
    let earlier = [
        Version {
            label: "1.0",
            schema: &v1,
        },
        Version {
            label: "1.1",
            schema: &v2,
        },
    ];
    let latest_only = check(
        Mode::Forward,
        &earlier,
        Version {
            label: "1.2",
            schema: &v3,
        },
        "/data",
    );
    assert!(latest_only.compatible);
    assert_eq!(latest_only.comparisons.len(), 1);
    let all = check(
        Mode::ForwardTransitive,
        &earlier,
        Version {
            label: "1.2",
            schema: &v3,
        },
        "/data",
    );
    assert!(!all.compatible);
    let explanations: Vec<&str> = all.breaks().map(|b| b.explanation.as_str()).collect();
    assert_eq!(
        explanations,
        [
            "/data/qty/uom: enum value \"GRM\" added — messages that producers on 1.2 send would be rejected by consumers still on 1.0 (FORWARD), e.g. /data/qty/uom = \"GRM\""
        ]
    );
    assert!(
        check(
            Mode::None,
            &earlier,
            Version {
                label: "1.2",
                schema: &json!(false)
            },
            ""
        )
        .compatible
    );
    assert!(
        check(
            Mode::FullTransitive,
            &[],
            Version {
                label: "1.0",
                schema: &v1
            },
            ""
        )
        .compatible
    );
}

#[test]
fn modes_parse_and_print() {
    for name in Mode::NAMES {
        assert_eq!(name.parse::<Mode>().unwrap().as_str(), name);
    }
    assert_eq!(
        "BACKWARD-TRANSITIVE".parse::<Mode>().unwrap(),
        Mode::BackwardTransitive
    );
    assert!(
        "sideways"
            .parse::<Mode>()
            .unwrap_err()
            .contains("backward_transitive")
    );
    assert_eq!(Mode::FullTransitive.to_string(), "FULL_TRANSITIVE");
}

/// Small schemas built from the keywords the checker models.
fn schema_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!(true)),
        Just(json!({"type": "string"})),
        Just(json!({"type": "string", "maxLength": 3})),
        Just(json!({"type": "string", "enum": ["A", "B"]})),
        Just(json!({"type": "string", "enum": ["A"]})),
        Just(json!({"type": "integer"})),
        Just(json!({"type": "integer", "minimum": 1})),
        Just(json!({"type": "number", "maximum": 10})),
        Just(json!({"type": ["string", "null"]})),
        Just(json!({"type": "boolean"})),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            (
                proptest::collection::btree_map("[abc]", inner.clone(), 0..3),
                any::<bool>(),
                proptest::sample::subsequence(vec!["a", "b", "c"], 0..3)
            )
                .prop_map(|(props, closed, required)| {
                    let mut s =
                        json!({"type": "object", "properties": props, "required": required});
                    if closed {
                        s["additionalProperties"] = json!(false);
                    }
                    s
                }),
            (inner, 0u64..2)
                .prop_map(|(items, min)| json!({"type": "array", "items": items, "minItems": min})),
        ]
    })
}

/// Small JSON values, enough to hit the leaf schemas above.
fn instance_strategy() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(json!(null)),
        Just(json!(true)),
        Just(json!(0)),
        Just(json!(1)),
        Just(json!(11)),
        Just(json!(2.5)),
        Just(json!("A")),
        Just(json!("B")),
        Just(json!("long")),
    ];
    leaf.prop_recursive(3, 16, 3, |inner| {
        prop_oneof![
            proptest::collection::btree_map("[abcd]", inner.clone(), 0..4).prop_map(|m| json!(m)),
            proptest::collection::vec(inner, 0..3).prop_map(Value::Array),
        ]
    })
}

fn accepts(schema: &Value, instance: &Value) -> bool {
    jsonschema::validator_for(schema)
        .unwrap()
        .is_valid(instance)
}

proptest! {
    #[test]
    fn identical_schemas_are_compatible_under_every_mode(s in schema_strategy()) {
        for name in Mode::NAMES {
            let r = report(name.parse().unwrap(), &s, &s);
            prop_assert!(r.compatible, "{name}: {:?}", r.breaks().collect::<Vec<_>>());
        }
    }

    #[test]
    fn full_is_backward_and_forward(a in schema_strategy(), b in schema_strategy()) {
        let backward = report(Mode::Backward, &a, &b);
        let forward = report(Mode::Forward, &a, &b);
        let full = report(Mode::Full, &a, &b);
        prop_assert_eq!(full.compatible, backward.compatible && forward.compatible);
        prop_assert_eq!(full.breaks().count(), backward.breaks().count() + forward.breaks().count());
        // FORWARD from a to b is BACKWARD from b to a, rule for rule.
        let mirrored = report(Mode::Backward, &b, &a);
        prop_assert_eq!(forward.compatible, mirrored.compatible);
    }

    #[test]
    fn a_compatible_verdict_is_never_wrong(a in schema_strategy(), b in schema_strategy(), x in instance_strategy()) {
        // BACKWARD compatible means: whatever the old schema accepts, the new one accepts.
        if report(Mode::Backward, &a, &b).compatible && accepts(&a, &x) {
            prop_assert!(accepts(&b, &x), "old {a} accepts {x}, new {b} rejects it, yet called compatible");
        }
        if report(Mode::Forward, &a, &b).compatible && accepts(&b, &x) {
            prop_assert!(accepts(&a, &x), "new {b} accepts {x}, old {a} rejects it, yet called compatible");
        }
    }
}

#[test]
fn exclusive_bounds_and_typed_additional_properties() {
    let n = |bound: Value| closed(json!({"n": bound}), &[]);
    assert_breaks(
        &n(json!({"type": "number", "exclusiveMinimum": 0})),
        &n(json!({"type": "number", "exclusiveMinimum": 5})),
        &[format!(
            "/data/n: exclusiveMinimum raised from 0 to 5 — {B}, e.g. /data/n = a number just above 0"
        )],
        &[],
    );
    assert_breaks(
        &n(json!({"type": "number", "exclusiveMaximum": 5})),
        &n(json!({"type": "number", "exclusiveMaximum": 9})),
        &[],
        &[format!(
            "/data/n: exclusiveMaximum raised from 5 to 9 — {F}, e.g. /data/n = a number just below 9"
        )],
    );
    let map = |t: &str| json!({"type": "object", "additionalProperties": {"type": t}});
    assert_breaks(
        &map("number"),
        &map("integer"),
        &[format!(
            "/data/<undeclared>: type changed from [\"number\"] to [\"integer\"] — {B}, e.g. /data/<undeclared> = 1.5"
        )],
        &[],
    );
}

#[test]
fn ordering_key_and_pattern_changes_break_both_ways() {
    let with = |key: Value, pattern: &str| json!({"type": "object", "x-takt-ordering-key": key, "x-takt-pattern": pattern});
    let explanations = explain(
        Mode::Full,
        &with(json!(["/siteId", "/orderId"]), "event"),
        &with(json!(["/siteId", "/lotId"]), "command"),
    );
    assert_eq!(
        explanations,
        [
            format!(
                "/data: ordering key (x-takt-ordering-key) changed from [\"/siteId\",\"/orderId\"] to [\"/siteId\",\"/lotId\"] — {B}, e.g. a message whose partitionkey or meaning follows [\"/siteId\",\"/orderId\"]"
            ),
            format!(
                "/data: ordering key (x-takt-ordering-key) changed from [\"/siteId\",\"/orderId\"] to [\"/siteId\",\"/lotId\"] — {F}, e.g. a message whose partitionkey or meaning follows [\"/siteId\",\"/lotId\"]"
            ),
            format!(
                "/data: interaction pattern (x-takt-pattern) changed from \"event\" to \"command\" — {B}, e.g. a message whose partitionkey or meaning follows \"event\""
            ),
            format!(
                "/data: interaction pattern (x-takt-pattern) changed from \"event\" to \"command\" — {F}, e.g. a message whose partitionkey or meaning follows \"command\""
            ),
        ]
    );
}
