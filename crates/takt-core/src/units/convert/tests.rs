use chrono::NaiveDate;
use num_rational::BigRational;
use proptest::prelude::*;
use takt_model::parse_decimal;

use super::*;

const BUILTIN: &str = include_str!("../../../../../contracts/units.toml");
const MATERIALS: &str = r#"
[[unit]]
code = "BX"
name = "box"
dimension = "count"
factor = "1"
scale = 0
rounding = "up"

[[material]]
material = "CAP-200"
from = "C62"
to = "KGM"
factor = "12/5"
valid_from = "2026-01-01"

[[material]]
material = "CAP-200"
from = "C62"
to = "KGM"
factor = "5/2"
valid_to = "2025-12-31"

[[material]]
material = "RESIN-7"
from = "KGM"
to = "LTR"
factor = "5/6"

[[material]]
material = "RESIN-7"
from = "LTR"
to = "C62"
factor = "1/25"
"#;

fn table() -> UnitTable {
    let mut t = UnitTable::default();
    t.add_toml("builtin", BUILTIN).unwrap();
    t
}

fn plant_table() -> UnitTable {
    let mut t = table();
    t.add_toml("deployment", MATERIALS).unwrap();
    t
}

fn day(s: &str) -> NaiveDate {
    s.parse().unwrap()
}

fn convert(
    t: &UnitTable,
    value: &str,
    from: &str,
    to: &str,
    material: Option<&str>,
) -> Result<Conversion> {
    let value = parse_decimal(value).unwrap();
    t.convert(&ConversionRequest {
        value: &value,
        from,
        to,
        material,
        on: day("2026-11-26"),
    })
}

#[test]
fn pounds_to_kilograms_is_exact_then_rounded() {
    let c = convert(&table(), "12.5", "LBR", "KGM", None).unwrap();
    assert_eq!(c.exact, parse_decimal("5.669904625").unwrap());
    assert_eq!(c.rounded, "5.669905");
    assert!(c.inexact);
    assert_eq!(c.steps.len(), 1);
    assert_eq!(c.steps[0].source, StepSource::Global);
}

#[test]
fn unknown_units_are_named() {
    let err = convert(&table(), "1", "KG", "KGM", None).unwrap_err();
    assert_eq!(
        err.to_string().split(':').next().unwrap(),
        "unknown unit \"KG\""
    );
    assert_eq!(err.code(), takt_model::ErrorCode::UnknownUnit);
}

#[test]
fn crossing_dimensions_needs_a_material() {
    let err = convert(&plant_table(), "10", "C62", "KGM", None).unwrap_err();
    assert!(
        err.to_string().contains("C62 is count and KGM is mass"),
        "{err}"
    );
    let err = convert(&plant_table(), "10", "C62", "KGM", Some("UNKNOWN-1")).unwrap_err();
    assert!(
        err.to_string()
            .contains("material UNKNOWN-1 has no conversion between count and mass"),
        "{err}"
    );
}

#[test]
fn material_conversion_honours_validity_dates() {
    let t = plant_table();
    let ten = parse_decimal("10").unwrap();
    let at = |d: &str| {
        t.convert(&ConversionRequest {
            value: &ten,
            from: "C62",
            to: "KGM",
            material: Some("CAP-200"),
            on: day(d),
        })
        .unwrap()
        .rounded
    };
    assert_eq!(at("2026-03-01"), "24.000000");
    assert_eq!(at("2025-03-01"), "25.000000");
}

#[test]
fn material_chains_cross_several_dimensions_and_back() {
    let t = plant_table();
    // 60 KGM of resin = 50 LTR = 2 C62 (drums); in pounds via the reverse chain.
    let drums = convert(&t, "60", "KGM", "C62", Some("RESIN-7")).unwrap();
    assert_eq!(drums.rounded, "2");
    assert_eq!(drums.steps.len(), 2);
    let back = convert(&t, "2", "C62", "LBR", Some("RESIN-7")).unwrap();
    assert_eq!(
        back.exact,
        parse_decimal("60").unwrap() / parse_decimal("0.45359237").unwrap()
    );
    assert_eq!(back.steps.last().unwrap().source, StepSource::Global);
}

#[test]
fn bare_toml_dates_are_accepted() {
    let mut t = table();
    t.add_toml("d", "[[material]]\nmaterial = \"M2\"\nfrom = \"C62\"\nto = \"KGM\"\nfactor = \"2\"\nvalid_from = 2026-07-01\n").unwrap();
    assert_eq!(
        t.material_conversions("M2")[0].valid_from,
        Some(day("2026-07-01"))
    );
}

#[test]
fn expired_conversions_are_explained() {
    let mut t = table();
    t.add_toml("d", "[[material]]\nmaterial = \"M1\"\nfrom = \"C62\"\nto = \"KGM\"\nfactor = \"2\"\nvalid_to = \"2020-12-31\"\n").unwrap();
    let err = convert(&t, "1", "C62", "KGM", Some("M1")).unwrap_err();
    assert!(
        err.to_string().contains("C62→KGM valid until 2020-12-31"),
        "{err}"
    );
}

#[test]
fn inconsistent_tables_are_rejected() {
    let cases = [
        (
            "[[unit]]\ncode = \"KGM\"\nname = \"kilo\"\ndimension = \"mass\"\nfactor = \"2\"\nscale = 0\nrounding = \"down\"\n",
            "already defined differently",
        ),
        (
            "[[unit]]\ncode = \"XX\"\nname = \"x\"\ndimension = \"heat\"\nfactor = \"1\"\nscale = 0\nrounding = \"down\"\n",
            "unknown dimension",
        ),
        (
            "[[material]]\nmaterial = \"M\"\nfrom = \"KGM\"\nto = \"GRM\"\nfactor = \"2\"\n",
            "same-dimension",
        ),
        (
            "[[material]]\nmaterial = \"M\"\nfrom = \"KGM\"\nto = \"C62\"\nfactor = \"0\"\n",
            "positive exact number",
        ),
        (
            "[[material]]\nmaterial = \"M\"\nfrom = \"KGM\"\nto = \"C62\"\nfactor = \"1\"\nvalid_from = \"2026-02-01\"\nvalid_to = \"2026-01-01\"\n",
            "is after valid_to",
        ),
        (
            "[[material]]\nmaterial = \"M\"\nfrom = \"KGM\"\nto = \"C62\"\nfactor = \"1\"\n[[material]]\nmaterial = \"M\"\nfrom = \"C62\"\nto = \"GRM\"\nfactor = \"3\"\nvalid_from = \"2026-01-01\"\n",
            "overlaps",
        ),
        (
            "[[unit]]\ncode = \"ZZ\"\nname = \"z\"\ndimension = \"mass\"\nfactor = \"1\"\nscale = 0\nrounding = \"sideways\"\n",
            "unknown variant",
        ),
        ("[[unknown]]\nx = 1\n", "unknown field"),
        (
            "[[material]]\nmaterial = \"M\"\nfrom = \"KGM\"\nto = \"C62\"\nfactor = \"1\"\nvalid_from = 2026-02-01T10:00:00\n",
            "trailing input",
        ),
    ];
    for (text, expected) in cases {
        let err = table().add_toml("deployment/units.toml", text).unwrap_err();
        assert!(err.to_string().contains(expected), "{expected}: {err}");
        assert!(
            err.to_string().starts_with("deployment/units.toml: "),
            "{err}"
        );
    }
}

fn units_of(t: &UnitTable, dimension: &str) -> Vec<String> {
    t.units()
        .filter(|u| u.dimension == dimension)
        .map(|u| u.code.clone())
        .collect()
}

fn mass_and_count() -> impl Strategy<Value = (String, String, String)> {
    let t = table();
    let mass = units_of(&t, "mass");
    let count = units_of(&t, "count");
    (
        proptest::sample::select(mass.clone()),
        proptest::sample::select(mass),
        proptest::sample::select(count),
    )
}

proptest! {
    #[test]
    fn round_trips_are_exact(units in 0u64..1_000_000_000, (a, b, _) in mass_and_count()) {
        let t = table();
        let value = BigRational::new(units.into(), 1000.into());
        let on = day("2026-11-26");
        let there = t.convert(&ConversionRequest { value: &value, from: &a, to: &b, material: None, on }).unwrap();
        let back = t.convert(&ConversionRequest { value: &there.exact, from: &b, to: &a, material: None, on }).unwrap();
        prop_assert_eq!(back.exact, value);
    }

    #[test]
    fn chains_agree_with_direct_conversion(units in 0u64..1_000_000, (a, b, c) in mass_and_count()) {
        let t = plant_table();
        let value = BigRational::new(units.into(), 100.into());
        let on = day("2026-11-26");
        let m = Some("CAP-200");
        let direct = t.convert(&ConversionRequest { value: &value, from: &a, to: &c, material: m, on }).unwrap();
        let hop = t.convert(&ConversionRequest { value: &value, from: &a, to: &b, material: m, on }).unwrap();
        let chained = t.convert(&ConversionRequest { value: &hop.exact, from: &b, to: &c, material: m, on }).unwrap();
        prop_assert_eq!(&direct.exact, &chained.exact);
        prop_assert_eq!(direct.factor(), hop.factor() * chained.factor());
    }

    #[test]
    fn the_rounded_fast_path_agrees_with_the_explained_conversion(
        units in -1_000_000_000i64..1_000_000_000, (a, b, c) in mass_and_count()
    ) {
        let t = plant_table();
        let value = BigRational::new(units.into(), 1000.into());
        let on = day("2026-11-26");
        for (from, to) in [(&a, &b), (&b, &a), (&a, &c), (&c, &b)] {
            let request = ConversionRequest { value: &value, from, to, material: Some("CAP-200"), on };
            prop_assert_eq!(t.convert_rounded(&request).unwrap(), t.convert(&request).unwrap().rounded);
        }
    }
}
