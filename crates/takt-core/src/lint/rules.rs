//! The schema-level lint rules. Each takes one contract version (or the
//! registry) and reports into [`Findings`].

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::Findings;
use crate::compat::{self, Version};
use crate::registry::{Contract, ContractVersion, Pattern, Registry};
use crate::validate::pointer_segment;

/// Keywords draft-07 tools do not know.
const NOT_IN_DRAFT07: [&str; 10] = [
    "$defs",
    "prefixItems",
    "dependentRequired",
    "dependentSchemas",
    "unevaluatedProperties",
    "unevaluatedItems",
    "$anchor",
    "$dynamicRef",
    "$dynamicAnchor",
    "$recursiveRef",
];

/// Envelope attributes Takt requires besides the CloudEvents core ones.
pub(super) const TAKT_EXTENSIONS: [&str; 6] = [
    "partitionkey",
    "siteid",
    "traceparent",
    "recordedtime",
    "correlationid",
    "causationid",
];

/// Past-tense verbs that do not end in -ed.
const IRREGULAR_PAST: [&str; 12] = [
    "sent", "built", "held", "made", "done", "begun", "lost", "found", "set", "put", "split",
    "shut",
];

/// The strings in an array keyword such as `required`; empty when absent.
fn strings<'a>(schema: &'a Value, keyword: &str) -> Vec<&'a str> {
    let items = schema.get(keyword).and_then(Value::as_array);
    items
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

/// Calls `visit(pointer, object)` for every JSON object in the schema.
fn walk<'a>(value: &'a Value, pointer: &str, visit: &mut dyn FnMut(&str, &'a Map<String, Value>)) {
    match value {
        Value::Object(map) => {
            visit(pointer, map);
            for (key, child) in map {
                walk(child, &format!("{pointer}/{}", pointer_segment(key)), visit);
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk(child, &format!("{pointer}/{i}"), visit);
            }
        }
        _ => {}
    }
}

/// Every property schema: (pointer, property name, schema).
fn properties(schema: &Value) -> Vec<(String, String, &Value)> {
    let mut found = Vec::new();
    walk(schema, "", &mut |pointer, map| {
        if let Some(Value::Object(props)) = map.get("properties") {
            for (name, child) in props {
                found.push((format!("{pointer}/properties/{name}"), name.clone(), child));
            }
        }
    });
    found
}

/// Follows a local `$ref` chain to an object schema, with its pointer.
fn resolve<'a>(root: &'a Value, value: &'a Value, pointer: &str) -> (String, &'a Value) {
    let mut current = (pointer.to_owned(), value);
    for _ in 0..16 {
        match current
            .1
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(target) => match root.pointer(target) {
                Some(next) => current = (target.to_owned(), next),
                None => break,
            },
            None => break,
        }
    }
    current
}

pub(super) fn naming(version: &ContractVersion, findings: &mut Findings) {
    let verb = version.contract().verb();
    let past = verb.ends_with("ed") || IRREGULAR_PAST.contains(&verb);
    let problem = match version.meta.pattern {
        Pattern::Event if !past => {
            Some("an event is a fact: name its verb in the past tense (e.g. consumed, released)")
        }
        Pattern::Command if past || verb == "query" => {
            Some("a command is a request: name its verb in the imperative (e.g. release, place)")
        }
        Pattern::Query if verb != "query" => Some(
            "a query's type ends in .query.v<major> (e.g. mfg.inventory.availability.query.v1)",
        ),
        _ => None,
    };
    if let Some(problem) = problem {
        let pattern = version.meta.pattern.as_str();
        let article = if pattern.starts_with('e') { "an" } else { "a" };
        let message = format!(
            "{} is {article} {pattern} but its verb is {verb:?}: {problem}",
            version.contract()
        );
        findings.error(&version.origin, "", "naming", message);
    }
}

pub(super) fn metadata(version: &ContractVersion, findings: &mut Findings) {
    for (key, default) in [
        ("x-takt-pattern", "event"),
        ("x-takt-compatibility", "backward_transitive"),
    ] {
        if version.schema.get(key).is_none() {
            let message = format!("{key} is not declared, so it defaults to {default}; declare it");
            findings.warning(&version.origin, "", "metadata", message);
        }
    }
}

pub(super) fn draft07_subset(version: &ContractVersion, findings: &mut Findings) {
    walk(&version.schema, "", &mut |pointer, map| {
        for key in map.keys().filter(|k| NOT_IN_DRAFT07.contains(&k.as_str())) {
            let message = format!(
                "{key} is 2020-12-only; draft-07 tools ignore it (use definitions instead of $defs)"
            );
            findings.error(
                &version.origin,
                &format!("{pointer}/{key}"),
                "draft07-subset",
                message,
            );
        }
        if map.contains_key("$ref") {
            let beside: Vec<&String> = map
                .keys()
                .filter(|k| !matches!(k.as_str(), "$ref" | "description" | "title" | "$comment"))
                .collect();
            if !beside.is_empty() {
                let message = format!(
                    "draft-07 tools ignore keywords beside $ref ({beside:?}); wrap them in allOf or move them into the referenced schema"
                );
                findings.error(&version.origin, pointer, "draft07-subset", message);
            }
        }
    });
}

pub(super) fn descriptions(version: &ContractVersion, findings: &mut Findings) {
    for key in ["title", "description"] {
        if version
            .schema
            .get(key)
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            findings.error(
                &version.origin,
                "",
                "description",
                format!("the schema has no {key}"),
            );
        }
    }
    for (pointer, name, schema) in properties(&version.schema) {
        if schema
            .get("description")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            let message =
                format!("property {name} has no description: say what it means for the business");
            findings.error(&version.origin, &pointer, "description", message);
        }
    }
}

fn is_quantity_name(name: &str) -> bool {
    name == "qty" || name == "quantity" || name.ends_with("Qty") || name.ends_with("Quantity")
}

pub(super) fn quantities(registry: &Registry, version: &ContractVersion, findings: &mut Findings) {
    let root = &version.schema;
    let mut checked = BTreeSet::new();
    let mut candidates: Vec<(String, &Value)> = Vec::new();
    for (pointer, name, schema) in properties(root) {
        if is_quantity_name(&name) {
            candidates.push((pointer, schema));
        }
    }
    walk(root, "", &mut |pointer, map| {
        let props = map.get("properties").and_then(Value::as_object);
        if props.is_some_and(|p| {
            p.contains_key("uom") || p.contains_key("value") && p.contains_key("unit")
        }) {
            candidates.push((
                pointer.to_owned(),
                root.pointer(pointer).unwrap_or(&Value::Null),
            ));
        }
    });
    for (pointer, schema) in candidates {
        let (target, resolved) = resolve(root, schema, &pointer);
        if checked.insert(target.clone()) {
            check_quantity(registry, version, &target, resolved, findings);
        }
    }
}

fn check_quantity(
    registry: &Registry,
    version: &ContractVersion,
    pointer: &str,
    schema: &Value,
    findings: &mut Findings,
) {
    let mut fail = |message: String| findings.error(&version.origin, pointer, "quantity", message);
    let required = strings(schema, "required");
    if !(required.contains(&"value") && required.contains(&"uom")) {
        fail("a quantity must be an object that requires both value and uom, e.g. {\"value\": \"12.5\", \"uom\": \"KGM\"}".to_owned());
        return;
    }
    let value = &schema["properties"]["value"];
    if value.get("type").and_then(Value::as_str) != Some("string") || value.get("pattern").is_none()
    {
        fail("quantity value must be a decimal string with a pattern, never a JSON number (floats lose precision)".to_owned());
    }
    match schema["properties"]["uom"]
        .get("enum")
        .and_then(Value::as_array)
    {
        None => {
            fail("quantity uom must list the accepted UN/CEFACT Rec 20 codes in an enum".to_owned())
        }
        Some(codes) => {
            let unknown: Vec<&str> = codes
                .iter()
                .filter_map(Value::as_str)
                .filter(|c| registry.units().unit(c).is_err())
                .collect();
            if !unknown.is_empty() {
                fail(format!(
                    "uom codes {unknown:?} are not in the unit table; add them to units.toml or remove them"
                ));
            }
        }
    }
}

/// Whether a pointer names a property that must be present (required all the way down).
fn is_required_path(schema: &Value, pointer: &str) -> bool {
    let mut node = schema;
    for segment in pointer.trim_start_matches('/').split('/') {
        let required = node.get("required").and_then(Value::as_array);
        let is_required = required.is_some_and(|r| r.iter().any(|v| v.as_str() == Some(segment)));
        match node.get("properties").and_then(|p| p.get(segment)) {
            Some(child) if is_required => node = resolve(schema, child, "").1,
            _ => return false,
        }
    }
    true
}

pub(super) fn site_and_ordering(version: &ContractVersion, findings: &mut Findings) {
    let schema = &version.schema;
    if !is_required_path(schema, "/siteId") {
        let message = "every transaction belongs to one plant: declare a required top-level siteId (it must equal the envelope's siteid)".to_owned();
        findings.error(&version.origin, "/required", "envelope", message);
    }
    if version.meta.ordering_key.is_empty() {
        let message = "declare x-takt-ordering-key (JSON pointers into data) so the hub can derive and check partitionkey".to_owned();
        findings.error(&version.origin, "", "envelope", message);
    }
    for pointer in &version.meta.ordering_key {
        if !is_required_path(schema, pointer) {
            let message = format!(
                "ordering key {pointer} is not a required property, so partitionkey could not always be derived"
            );
            findings.error(&version.origin, "/x-takt-ordering-key", "envelope", message);
        }
    }
}

pub(super) fn envelope(registry: &Registry, findings: &mut Findings) {
    let required = strings(registry.envelope_schema(), "required");
    for attribute in TAKT_EXTENSIONS.iter().filter(|a| !required.contains(a)) {
        let message = format!("the envelope must require the {attribute} extension");
        findings.error(
            "envelope/cloudevents.schema.json",
            "/required",
            "envelope",
            message,
        );
    }
}

pub(super) fn compatibility(contract: &Contract, findings: &mut Findings) {
    let versions: Vec<&ContractVersion> = contract.versions().collect();
    for (index, new) in versions.iter().enumerate().skip(1) {
        let labels: Vec<String> = versions.iter().map(|v| v.id.version.to_string()).collect();
        let earlier: Vec<Version<'_>> = versions[..index]
            .iter()
            .zip(&labels)
            .map(|(v, label)| Version {
                label,
                schema: &v.schema,
            })
            .collect();
        let report = compat::check(
            new.meta.compatibility,
            &earlier,
            Version {
                label: &labels[index],
                schema: &new.schema,
            },
            "/data",
        );
        for b in report.breaks() {
            let message = format!(
                "{} (declared mode {})",
                b.explanation, new.meta.compatibility
            );
            findings.error(&new.origin, "", "compatibility", message);
        }
    }
}
