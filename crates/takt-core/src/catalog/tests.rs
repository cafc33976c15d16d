//! Tests of the catalog as code: the JSON Schemas of the catalog files,
//! impact analysis and the graph. `check` and `scaffold` have their own.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::{Value, json};

use super::graph::{GraphFormat, render};
use super::impact::{Target, analyse};
use super::*;
use crate::registry::Registry;

pub(crate) fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub(crate) fn acme() -> PathBuf {
    repository().join("examples/acme")
}

/// A copy of the acme example, to break or extend.
pub(crate) fn copy_of_acme() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&acme(), dir.path());
    dir
}

pub(crate) fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let path = entry.unwrap().path();
        let target = to.join(path.file_name().unwrap());
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            fs::copy(&path, &target).unwrap();
        }
    }
}

pub(crate) fn loaded(dir: &Path) -> (Deployment, Registry) {
    let deployment = Deployment::load(dir).unwrap();
    let registry =
        Registry::load(&deployment.contracts_dir().into_iter().collect::<Vec<_>>()).unwrap();
    (deployment, registry)
}

/// A TOML document as JSON, dates as their text (as editors see them).
fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => json!(i),
        toml::Value::Float(f) => json!(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(
            table
                .into_iter()
                .map(|(k, v)| (k, toml_to_json(v)))
                .collect(),
        ),
    }
}

fn schema(name: &str) -> jsonschema::Validator {
    let path = repository().join("schemas/catalog").join(name);
    let schema: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

fn errors(validator: &jsonschema::Validator, text: &str) -> Vec<String> {
    let document = toml_to_json(toml::from_str::<toml::Value>(text).unwrap());
    validator
        .iter_errors(&document)
        .map(|e| format!("{} {e}", e.instance_path().as_str()))
        .collect()
}

/// Which schema checks a file of a deployment directory, by its place.
fn schema_of(relative: &str) -> Option<&'static str> {
    let (dir, _) = relative.rsplit_once('/').unwrap_or(("", relative));
    match (dir, relative) {
        (_, "takt.toml") => Some("takt.schema.json"),
        (_, "lifecycle.toml") => Some("lifecycle.schema.json"),
        (_, "conversions.toml") => Some("conversions.schema.json"),
        ("systems", _) => Some("system.schema.json"),
        ("operators", _) => Some("operator.schema.json"),
        ("interfaces", _) => Some("interface.schema.json"),
        ("subscriptions", _) => Some("subscription.schema.json"),
        _ => None,
    }
}

#[test]
fn every_catalog_file_of_the_examples_and_benches_fits_its_json_schema() {
    let mut checked = 0;
    // bench/delivery is a template ({SINK} is filled in by the load generator).
    for deployment in ["examples/acme", "bench/deployment"] {
        let root = repository().join(deployment);
        let mut files = Vec::new();
        for dir in ["", "systems", "operators", "interfaces", "subscriptions"] {
            let Ok(entries) = fs::read_dir(root.join(dir)) else {
                continue;
            };
            for entry in entries {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "toml") {
                    files.push(path.strip_prefix(&root).unwrap().display().to_string());
                }
            }
        }
        for relative in files {
            let Some(name) = schema_of(&relative) else {
                continue;
            };
            let text = fs::read_to_string(root.join(&relative)).unwrap();
            let found = errors(&schema(name), &text);
            assert!(found.is_empty(), "{deployment}/{relative}: {found:?}");
            checked += 1;
        }
    }
    // acme: takt.toml, 6 systems, 2 operators, 8 interfaces, 1 subscription.
    assert!(checked >= 18, "{checked}");
}

#[test]
fn the_json_schemas_refuse_what_the_hub_refuses() {
    let interface = fs::read_to_string(acme().join("interfaces/mes1010-production.toml")).unwrap();
    let cases = [
        (
            "interface.schema.json",
            interface.replace("tier = 1", "tier = 5"),
            "/tier",
        ),
        (
            "interface.schema.json",
            interface.replace("owner =", "ownr ="),
            "ownr",
        ),
        (
            "interface.schema.json",
            interface.replace("latency = \"near_real_time\"", "latency = \"fast\""),
            "/latency",
        ),
        (
            "interface.schema.json",
            interface.replace("tier = 1", "tier = 1\nsunset_on = \"30.06.2027\""),
            "/sunset_on",
        ),
        (
            "lifecycle.schema.json",
            "[[contracts]]\ncontract = \"x\"\nstate = \"sunny\"\n".to_owned(),
            "/contracts/0/state",
        ),
        (
            "system.schema.json",
            fs::read_to_string(acme().join("systems/erp-central.toml"))
                .unwrap()
                .replace("sha256 = \"", "sha256 = \"XY"),
            "/credentials/0/sha256",
        ),
    ];
    for (name, text, pointer) in cases {
        let found = errors(&schema(name), &text);
        assert!(
            found
                .iter()
                .any(|e| e.starts_with(pointer) || e.contains(pointer)),
            "{name} {pointer}: {found:?}"
        );
    }
    // Dates are TOML dates or strings, as in the hub.
    let lifecycle = "[[contracts]]\ncontract = \"mfg.material.consumed.v1\"\nstate = \"deprecated\"\ndeprecated_on = 2026-12-01\nsunset_on = \"2027-06-30\"\n";
    assert_eq!(
        errors(&schema("lifecycle.schema.json"), lifecycle),
        Vec::<String>::new()
    );
    let conversion = "[[conversions]]\nfrom = \"mfg.material.consumed.v2\"\nto = \"mfg.material.consumed.v1\"\nmapping = \"mappings/down.jq\"\n";
    let conversions = schema("conversions.schema.json");
    assert_eq!(errors(&conversions, conversion), Vec::<String>::new());
    let typo = errors(&conversions, &conversion.replace("mapping =", "program ="));
    assert!(typo.iter().any(|e| e.contains("program")), "{typo:?}");
}

#[test]
fn interface_sites_follow_producers_or_else_consumers() {
    let (deployment, _) = loaded(&acme());
    let sites = |name: &str| -> Vec<String> {
        interface_sites(&deployment, &deployment.interfaces[name])
            .into_iter()
            .collect()
    };
    assert_eq!(sites("mes1010-production"), ["1010"]);
    assert_eq!(sites("stock-availability"), ["1010", "2020"]);
    // The ERP acts for every plant; its releases concern the plants of the MESs.
    assert_eq!(sites("erp-production-orders"), ["1010", "2020"]);
    assert!(carries(
        &deployment.interfaces["mes1010-production"],
        "mfg.material.consumed.v1",
        Some("1.0")
    ));
    assert!(!carries(
        &deployment.interfaces["wms-inventory"],
        "mfg.material.consumed.v1",
        None
    ));
}

fn names<T>(items: &[T], name: impl Fn(&T) -> &str) -> Vec<String> {
    items.iter().map(|i| name(i).to_owned()).collect()
}

#[test]
fn the_impact_of_a_plant_system_stays_in_its_plant_and_follows_dependencies() {
    let (deployment, registry) = loaded(&acme());
    let target = Target::resolve(&deployment, &registry, "mes-plant1010").unwrap();
    let impact = analyse(&deployment, &target);
    assert_eq!(
        names(&impact.interfaces, |i| &i.name),
        // Its own flows first (by tier), then what depends on them, and so on.
        [
            "erp-production-orders",
            "mes1010-production",
            "qms-quality",
            "stock-availability",
            "erp-shipping",
            "wms-inventory",
            "3pl-shipment-confirmation"
        ]
    );
    let orders = &impact.interfaces[0];
    assert_eq!(
        (orders.via.as_str(), orders.sites.clone()),
        ("sync destination", vec!["1010".to_owned()])
    );
    // mes2020-production depends on erp-production-orders, but only at 2020.
    assert!(
        !impact
            .interfaces
            .iter()
            .any(|i| i.name == "mes2020-production")
    );
    // Through contract use: its consumptions reach the ERP's goods movements.
    assert_eq!(
        names(&impact.subscriptions, |s| &s.name),
        ["erp-goods-movements"]
    );
    assert_eq!(impact.subscriptions[0].sites, ["1010"]);
    assert_eq!(impact.sites, ["1010"]);
    assert_eq!(impact.highest_tier, Some(1));
    let owners = names(&impact.owners, |o| &o.owner);
    assert!(
        owners.contains(&"team-mes-1010".to_owned()) && owners.contains(&"team-quality".to_owned()),
        "{owners:?}"
    );
    // The MES of plant 2020 is on some of these flows, but not at plant 1010.
    assert!(
        !impact.systems.contains(&"mes-plant2020".to_owned()),
        "{:?}",
        impact.systems
    );
    assert!(!owners.contains(&"team-mes-2020".to_owned()), "{owners:?}");
}

#[test]
fn the_impact_of_an_interface_is_transitive_through_depends_on() {
    let (deployment, registry) = loaded(&acme());
    let target = Target::resolve(&deployment, &registry, "qms-quality").unwrap();
    let impact = analyse(&deployment, &target);
    let found: Vec<(String, usize, String)> = impact
        .interfaces
        .iter()
        .map(|i| (i.name.clone(), i.depth, i.via.clone()))
        .collect();
    assert_eq!(
        found[0],
        ("qms-quality".into(), 0, "the interface itself".into())
    );
    // wms-inventory and erp-shipping depend on it; 3pl-shipment-confirmation
    // on erp-shipping, stock-availability on wms-inventory.
    let at = |name: &str| found.iter().find(|f| f.0 == name).map(|f| f.1);
    assert_eq!(at("wms-inventory"), Some(1));
    assert_eq!(at("erp-shipping"), Some(1));
    assert_eq!(at("3pl-shipment-confirmation"), Some(2));
    assert_eq!(at("stock-availability"), Some(2));
    assert_eq!(impact.interfaces.len(), 5);
    assert_eq!(impact.sites, ["1010", "2020"]);
}

#[test]
fn the_impact_of_a_contract_version_respects_pins() {
    let dir = copy_of_acme();
    let path = dir.path().join("interfaces/mes2020-production.toml");
    let text = fs::read_to_string(&path).unwrap();
    fs::write(
        &path,
        format!("{text}\n[contract_versions]\n\"mfg.material.consumed.v1\" = [\"1.1\"]\n"),
    )
    .unwrap();
    let (deployment, registry) = loaded(dir.path());
    let target = Target::resolve(&deployment, &registry, "mfg.material.consumed.v1@1.0").unwrap();
    let impact = analyse(&deployment, &target);
    let own: Vec<&str> = impact
        .interfaces
        .iter()
        .filter(|i| i.depth == 0)
        .map(|i| i.name.as_str())
        .collect();
    assert_eq!(own, ["mes1010-production"]);
    assert_eq!(
        impact.subscriptions[0].via,
        "delivers mfg.material.consumed.v1@1.0"
    );
    for wrong in [
        "mfg.material.consumed.v1@9.9",
        "mfg.nothing.v1@1.0",
        "nobody",
    ] {
        assert!(
            Target::resolve(&deployment, &registry, wrong).is_err(),
            "{wrong}"
        );
    }
}

#[test]
fn the_graph_links_systems_through_interfaces_with_contracts_on_the_edges() {
    let (deployment, _) = loaded(&acme());
    let dot = render(&deployment, GraphFormat::Dot);
    assert!(dot.starts_with("digraph takt {\n"), "{dot}");
    // Systems are s<index> by name, interfaces i<index>: mes-plant1010 is s2,
    // mes1010-production i3, erp-central s1.
    assert!(
        dot.contains(
            "  s2 -> i3 [style=solid, label=\"mfg.operation.completed.v1\\nmfg.material.consumed.v1"
        ),
        "{dot}"
    );
    assert!(dot.contains("  i3 -> s1 [style=solid"), "{dot}");
    assert!(
        dot.contains("  i3 -> i1 [style=dashed, label=\"depends on\"];"),
        "{dot}"
    );
    assert!(
        dot.contains("  u0 -> s1 [style=solid, label=\"mfg.material.consumed.v1\"];"),
        "{dot}"
    );
    assert!(
        dot.contains(
            "i3 [shape=ellipse, label=\"mes1010-production\\nevent · tier 1 · team-mes-1010\"]"
        ),
        "{dot}"
    );
    let mermaid = render(&deployment, GraphFormat::Mermaid);
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(
        mermaid.contains("  i3 -.->|\"depends on\"| i1\n"),
        "{mermaid}"
    );
    assert!(
        mermaid.contains("  s2 -->|\"mfg.operation.completed.v1<br/>"),
        "{mermaid}"
    );
    assert!(
        mermaid.contains("  u0{{\"erp-goods-movements<br/>subscription · team-erp\"}}"),
        "{mermaid}"
    );
}
