//! Exact decimal arithmetic for quantities.
//!
//! Quantities cross the boundary as decimal strings (`"12.500"`) and are held
//! as exact rationals ([`BigRational`]) so that conversions such as
//! LBR → KGM (× 45359237/100000000) never lose precision. A value is rounded
//! only when it is written back as a decimal, by the target unit's
//! [`Rounding`] rule and scale.

use num_bigint::{BigInt, Sign};
use num_integer::Integer;
use num_rational::BigRational;
use num_traits::{One, Signed, Zero};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// How a value is rounded to a unit's scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rounding {
    /// To the nearest; a tie goes to the even neighbour (banker's rounding).
    HalfEven,
    /// To the nearest; a tie goes away from zero (commercial rounding).
    HalfUp,
    /// Toward zero (truncate): never reports more than was there.
    Down,
    /// Away from zero: never reports less than was there.
    Up,
}

impl Rounding {
    /// The rule's name as written in unit tables, e.g. `half_even`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::HalfEven => "half_even",
            Self::HalfUp => "half_up",
            Self::Down => "down",
            Self::Up => "up",
        }
    }
}

/// Parses a plain decimal string (`"12.5"`, `"-0.001"`, `"42"`) exactly.
///
/// Rejects exponents, spaces, a leading `+`, a lone `.`, and empty strings:
/// the boundary format is strict so that every system reads the same number.
pub fn parse_decimal(s: &str) -> Result<BigRational> {
    let invalid = || Error::InvalidDecimal(s.to_owned());
    let (negative, unsigned) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (int_part, frac_part) = match unsigned.split_once('.') {
        Some((i, f)) => (i, f),
        None => (unsigned, ""),
    };
    let digits_ok = |d: &str| d.bytes().all(|b| b.is_ascii_digit());
    let fraction_ok = !unsigned.contains('.') || !frac_part.is_empty();
    if int_part.is_empty() || !digits_ok(int_part) || !digits_ok(frac_part) || !fraction_ok {
        return Err(invalid());
    }
    let mut numer: BigInt = format!("{int_part}{frac_part}")
        .parse()
        .map_err(|_| invalid())?;
    if negative {
        numer = -numer;
    }
    let denom = pow10(frac_part.len());
    Ok(BigRational::new(numer, denom))
}

/// Parses a conversion factor: `"n"`, `"n/d"` or a decimal, strictly positive.
pub fn parse_factor(s: &str) -> Result<BigRational> {
    let invalid = || Error::InvalidFactor(s.to_owned());
    let value = match s.split_once('/') {
        Some((n, d)) => {
            let n: BigInt = parse_unsigned_integer(n).ok_or_else(invalid)?;
            let d: BigInt = parse_unsigned_integer(d).ok_or_else(invalid)?;
            if d.is_zero() {
                return Err(invalid());
            }
            BigRational::new(n, d)
        }
        None => parse_decimal(s).map_err(|_| invalid())?,
    };
    if value.is_positive() {
        Ok(value)
    } else {
        Err(invalid())
    }
}

fn parse_unsigned_integer(s: &str) -> Option<BigInt> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn pow10(exp: usize) -> BigInt {
    num_traits::pow(BigInt::from(10u8), exp)
}

/// `value` rounded to `scale` decimal places by `rule`, as a whole number of
/// the last place (`12.35` at scale 2 is `1235`), and whether rounding
/// changed the value.
///
/// One integer division: the rational is never reduced on the way.
pub fn rounded_units(value: &BigRational, scale: u32, rule: Rounding) -> (BigInt, bool) {
    let scaled = value.numer() * pow10(scale as usize);
    let denom = value.denom();
    let (truncated, remainder) = scaled.div_rem(denom);
    if remainder.is_zero() {
        return (truncated, false);
    }
    // Compare the remainder with half the denominator: 2·|r| against |d|.
    let twice = remainder.abs() * 2u8;
    let half = twice.cmp(&denom.abs());
    let go_away = match rule {
        Rounding::Down => false,
        Rounding::Up => true,
        Rounding::HalfUp => half.is_ge(),
        Rounding::HalfEven => half.is_gt() || (half.is_eq() && truncated.is_odd()),
    };
    let negative = scaled.is_negative() != denom.is_negative();
    let rounded = match (go_away, negative) {
        (false, _) => truncated,
        (true, false) => truncated + 1u8,
        (true, true) => truncated - 1u8,
    };
    (rounded, true)
}

/// Rounds `value` to `scale` decimal places by `rule`, as an exact rational.
pub fn round(value: &BigRational, scale: u32, rule: Rounding) -> BigRational {
    let (units, _) = rounded_units(value, scale, rule);
    BigRational::new(units, pow10(scale as usize))
}

/// Writes `value` with exactly `scale` decimal places after rounding by `rule`.
pub fn format_rounded(value: &BigRational, scale: u32, rule: Rounding) -> String {
    format_units(&rounded_units(value, scale, rule).0, scale)
}

/// Writes a whole number of the `scale`-th decimal place as a decimal:
/// `1235` at scale 2 is `"12.35"`.
pub fn format_units(units: &BigInt, scale: u32) -> String {
    let sign = if units.sign() == Sign::Minus { "-" } else { "" };
    let digits = units.abs().to_string();
    let scale = scale as usize;
    if scale == 0 {
        return format!("{sign}{digits}");
    }
    let padded = format!("{digits:0>width$}", width = scale + 1);
    let (int_part, frac_part) = padded.split_at(padded.len() - scale);
    format!("{sign}{int_part}.{frac_part}")
}

/// Writes `value` as a terminating decimal without trailing zeros, or `None`
/// when it has no finite decimal form (e.g. 1/3).
pub fn format_exact(value: &BigRational) -> Option<String> {
    let mut denom = value.denom().clone();
    let mut places = 0u32;
    let two = BigInt::from(2u8);
    let five = BigInt::from(5u8);
    let ten = BigInt::from(10u8);
    while !denom.is_one() {
        if (&denom % &ten).is_zero() {
            denom /= &ten;
        } else if (&denom % &two).is_zero() {
            denom /= &two;
        } else if (&denom % &five).is_zero() {
            denom /= &five;
        } else {
            return None;
        }
        places += 1;
    }
    let text = format_rounded(value, places, Rounding::Down);
    Some(trim_fraction(&text))
}

fn trim_fraction(text: &str) -> String {
    if !text.contains('.') {
        return text.to_owned();
    }
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Writes `value` as `n/d`, or `n` when it is an integer.
pub fn format_fraction(value: &BigRational) -> String {
    if value.is_integer() {
        value.numer().to_string()
    } else {
        format!("{}/{}", value.numer(), value.denom())
    }
}

#[cfg(test)]
mod tests;
