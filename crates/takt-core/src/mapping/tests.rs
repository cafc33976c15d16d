use serde_json::json;

use super::*;

fn units() -> UnitTable {
    let mut t = UnitTable::default();
    t.add_toml("builtin", include_str!("../../../../contracts/units.toml"))
        .unwrap();
    t.add_toml(
        "acme",
        "[[material]]\nmaterial = \"CAP-200\"\nfrom = \"C62\"\nto = \"KGM\"\nfactor = \"12/5\"\n",
    )
    .unwrap();
    t
}

fn env(units: &UnitTable) -> MapEnv<'_> {
    MapEnv {
        units,
        on: "2026-11-26".parse().unwrap(),
    }
}

#[test]
fn maps_a_native_payload_with_exact_units() {
    let mapping = Mapping::compile(
        "mes-consumption",
        r#"{
            orderId: .AUFNR,
            qty: ({value: .MENGE, uom: ({"KG": "KGM", "LB": "LBR", "ST": "C62"}[.MEINS])} | to_uom("KGM")),
            caps: ({value: .CAPS, uom: "C62"} | to_uom("KGM"; "CAP-200"))
        }"#,
    )
    .unwrap();
    let units = units();
    let out = mapping
        .run(
            &json!({"AUFNR": "100012345", "MENGE": "12.5", "MEINS": "LB", "CAPS": "10"}),
            env(&units),
        )
        .unwrap();
    assert_eq!(
        out,
        json!({"orderId": "100012345", "qty": {"value": "5.669905", "uom": "KGM"}, "caps": {"value": "24.000000", "uom": "KGM"}})
    );
}

#[test]
fn conversion_failures_name_the_mapping_and_the_reason() {
    let units = units();
    let mapping = Mapping::compile("m1", r#"{value: .v, uom: .u} | to_uom("KGM")"#).unwrap();
    let err = mapping
        .run(&json!({"v": "1", "u": "KG"}), env(&units))
        .unwrap_err();
    assert_eq!(err.mapping, "m1");
    assert!(
        err.message.starts_with("unknown unit \"KG\""),
        "{}",
        err.message
    );
    let err = mapping
        .run(&json!({"v": "1", "u": "C62"}), env(&units))
        .unwrap_err();
    assert!(
        err.message
            .contains("crossing dimensions needs a material-specific conversion"),
        "{}",
        err.message
    );
    let err = mapping
        .run(&json!({"v": 1.5, "u": "KGM"}), env(&units))
        .unwrap_err();
    assert!(
        err.message.contains("to_uom takes a quantity"),
        "{}",
        err.message
    );
}

#[test]
fn a_mapping_produces_exactly_one_value() {
    let units = units();
    let none = Mapping::compile("none", "empty").unwrap();
    assert!(
        none.run(&json!({}), env(&units))
            .unwrap_err()
            .message
            .contains("no output")
    );
    let many = Mapping::compile("many", ".[]").unwrap();
    assert!(
        many.run(&json!([1, 2]), env(&units))
            .unwrap_err()
            .message
            .contains("more than one output")
    );
    let failing = Mapping::compile("fails", r#"error("no order number")"#).unwrap();
    assert_eq!(
        failing.run(&json!({}), env(&units)).unwrap_err().message,
        "no order number"
    );
}

#[test]
fn compile_errors_say_where() {
    let err = Mapping::compile("broken", "{orderId: .a,\n  qty: }").unwrap_err();
    assert!(err.message.contains("line 2"), "{}", err.message);
    let err = Mapping::compile("unknown", ".a | frobnicate").unwrap_err();
    assert!(
        err.message
            .contains("undefined filter frobnicate at line 1, column 6"),
        "{}",
        err.message
    );
}
