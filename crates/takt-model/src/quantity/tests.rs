use proptest::prelude::*;

use super::*;

fn dec(s: &str) -> BigRational {
    parse_decimal(s).unwrap()
}

#[test]
fn parses_strict_decimals() {
    assert_eq!(dec("12.5"), BigRational::new(25.into(), 2.into()));
    assert_eq!(dec("-0.001"), BigRational::new((-1).into(), 1000.into()));
    assert_eq!(dec("007"), BigRational::from_integer(7.into()));
    for bad in [
        "", "-", ".5", "5.", "1e3", "+1", " 1", "1,5", "0x10", "1.2.3", "NaN",
    ] {
        assert_eq!(
            parse_decimal(bad),
            Err(Error::InvalidDecimal(bad.into())),
            "{bad}"
        );
    }
}

#[test]
fn parses_factors() {
    assert_eq!(
        parse_factor("45359237/100000000").unwrap(),
        dec("0.45359237")
    );
    assert_eq!(parse_factor("0.001").unwrap(), dec("0.001"));
    for bad in ["0", "-1", "1/0", "a/b", "1/-2", ""] {
        assert!(parse_factor(bad).is_err(), "{bad}");
    }
}

#[test]
fn rounds_by_rule() {
    let cases = [
        ("2.5", 0, Rounding::HalfEven, "2"),
        ("3.5", 0, Rounding::HalfEven, "4"),
        ("-2.5", 0, Rounding::HalfEven, "-2"),
        ("2.5", 0, Rounding::HalfUp, "3"),
        ("-2.5", 0, Rounding::HalfUp, "-3"),
        ("2.9", 0, Rounding::Down, "2"),
        ("-2.9", 0, Rounding::Down, "-2"),
        ("2.1", 0, Rounding::Up, "3"),
        ("-2.1", 0, Rounding::Up, "-3"),
        ("5.669904625", 6, Rounding::HalfEven, "5.669905"),
        ("0.0005", 3, Rounding::HalfEven, "0.000"),
        ("0.0015", 3, Rounding::HalfEven, "0.002"),
        ("12", 3, Rounding::HalfEven, "12.000"),
        ("-0.4", 0, Rounding::HalfUp, "0"),
    ];
    for (value, scale, rule, expected) in cases {
        assert_eq!(
            format_rounded(&dec(value), scale, rule),
            expected,
            "{value} {rule:?}"
        );
    }
}

#[test]
fn formats_exact_values() {
    assert_eq!(
        format_exact(&dec("5.669904625000")).as_deref(),
        Some("5.669904625")
    );
    assert_eq!(format_exact(&dec("-40")).as_deref(), Some("-40"));
    assert_eq!(format_exact(&BigRational::new(1.into(), 3.into())), None);
    assert_eq!(
        format_fraction(&BigRational::new(12.into(), 5.into())),
        "12/5"
    );
}

fn decimal_string() -> impl Strategy<Value = String> {
    (any::<bool>(), 0u64..10_000_000_000, 0u32..10).prop_map(|(neg, units, places)| {
        let digits = format!("{units:0>width$}", width = places as usize + 1);
        let (i, f) = digits.split_at(digits.len() - places as usize);
        let body = if places == 0 {
            i.to_owned()
        } else {
            format!("{i}.{f}")
        };
        if neg { format!("-{body}") } else { body }
    })
}

proptest! {
    #[test]
    fn decimal_text_round_trips(s in decimal_string()) {
        let value = dec(&s);
        let places = s.split_once('.').map_or(0, |(_, f)| f.len() as u32);
        let normalised = format_rounded(&value, places, Rounding::HalfEven);
        prop_assert_eq!(dec(&normalised), value.clone());
        prop_assert_eq!(dec(&format_exact(&value).unwrap()), value);
    }

    #[test]
    fn rounding_stays_within_one_step(s in decimal_string(), scale in 0u32..6) {
        let value = dec(&s);
        let step = BigRational::new(1.into(), pow10(scale as usize));
        for rule in [Rounding::HalfEven, Rounding::HalfUp, Rounding::Down, Rounding::Up] {
            let rounded = round(&value, scale, rule);
            prop_assert!((&rounded - &value).abs() < step);
            match rule {
                Rounding::Down => prop_assert!(rounded.abs() <= value.abs()),
                Rounding::Up => prop_assert!(rounded.abs() >= value.abs()),
                _ => prop_assert!((&rounded - &value).abs() * BigRational::from_integer(2.into()) <= step),
            }
        }
    }
}
