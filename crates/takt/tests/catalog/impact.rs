//! `takt catalog impact` and `takt catalog graph` on examples/acme.

use crate::{json_of, stderr, stdout, takt};

#[test]
fn impact_lists_interfaces_subscriptions_sites_owners_and_tiers() {
    let output = takt(&[
        "catalog",
        "impact",
        "wms-central",
        "--config",
        "examples/acme",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.starts_with("impact of system wms-central: "), "{text}");
    assert!(text.contains("\nTIER  INTERFACE"), "{text}");
    assert!(
        text.contains(
            "3pl-shipment-confirmation  active  team-logistics  1010       depends on erp-shipping"
        ),
        "{text}"
    );
    assert!(text.contains("owners to call:\n"), "{text}");

    let output = takt(&[
        "--json",
        "catalog",
        "impact",
        "mfg.material.consumed.v1",
        "--config",
        "examples/acme",
    ]);
    let impact = json_of(&output);
    assert_eq!(impact["target"]["kind"], "contract");
    let names: Vec<&str> = impact["interfaces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["mes1010-production", "mes2020-production"]);
    assert_eq!(impact["subscriptions"][0]["name"], "erp-goods-movements");
    assert_eq!(impact["highest_tier"], 1);

    let unknown = takt(&[
        "catalog",
        "impact",
        "mes-plant9999",
        "--config",
        "examples/acme",
    ]);
    assert_eq!(unknown.status.code(), Some(3));
    assert!(
        stderr(&unknown).contains("\"mes-plant9999\" is no system, interface or contract"),
        "{}",
        stderr(&unknown)
    );
    let no_config = takt(&["catalog", "impact", "wms-central"]);
    assert_eq!(no_config.status.code(), Some(2));
}

#[test]
fn graph_prints_dot_or_mermaid() {
    let dot = stdout(&takt(&["catalog", "graph", "--config", "examples/acme"]));
    assert!(
        dot.starts_with("digraph takt {\n") && dot.ends_with("}\n"),
        "{dot}"
    );
    assert_eq!(dot.matches("shape=box").count(), 6, "{dot}");
    assert_eq!(dot.matches("shape=ellipse").count(), 8, "{dot}");
    let mermaid = stdout(&takt(&[
        "catalog",
        "graph",
        "--config",
        "examples/acme",
        "--format",
        "mermaid",
    ]));
    assert!(mermaid.starts_with("flowchart LR\n"), "{mermaid}");
    assert!(mermaid.contains("-.->|\"depends on\"|"), "{mermaid}");
}
