//! The typed form of a unit table file (`units.toml`).
//!
//! Takt ships one table with its contracts (`contracts/units.toml`: UN/CEFACT
//! Rec 20 codes and exact global conversions); a deployment adds units and
//! material-specific conversions in its own contracts directory. The logic that
//! merges tables and converts lives in `takt-core::units`.

use chrono::NaiveDate;
use num_rational::BigRational;
use serde::{Deserialize, Deserializer};

use crate::Rounding;
use crate::quantity::parse_factor;

/// One `units.toml` file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitsFile {
    /// Dimensions (mass, length, …) with their base unit.
    #[serde(default)]
    pub dimension: Vec<DimensionDef>,
    /// Units with their exact factor to the base unit of their dimension.
    #[serde(default)]
    pub unit: Vec<UnitDef>,
    /// Material-specific conversions across dimensions.
    #[serde(default)]
    pub material: Vec<MaterialConversionDef>,
}

/// A physical dimension and its base unit, e.g. mass with base KGM.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DimensionDef {
    /// Name used by units, e.g. `mass`.
    pub name: String,
    /// Code of the unit whose factor is 1, e.g. `KGM`.
    pub base: String,
}

/// A unit of measure.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UnitDef {
    /// UN/CEFACT Rec 20 code, e.g. `LBR`.
    pub code: String,
    /// Human name, e.g. `pound (avoirdupois)`.
    pub name: String,
    /// Name of its dimension.
    pub dimension: String,
    /// 1 unit = `factor` base units, exactly.
    #[serde(deserialize_with = "factor")]
    pub factor: BigRational,
    /// Decimal places kept when a converted value is rounded to this unit.
    pub scale: u32,
    /// How a converted value is rounded to `scale`.
    pub rounding: Rounding,
}

/// "1 `from` of `material` = `factor` `to`", valid on an inclusive date range.
///
/// This is what an ERP keeps as alternative units of measure per material
/// (SAP MARM): e.g. one each (C62) of material `CAP-200` weighs 12/5 KGM.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaterialConversionDef {
    /// Material number.
    pub material: String,
    /// Unit code converted from.
    pub from: String,
    /// Unit code converted to, in another dimension.
    pub to: String,
    /// 1 `from` = `factor` `to`, exactly.
    #[serde(deserialize_with = "factor")]
    pub factor: BigRational,
    /// First day the conversion applies; open-ended when absent.
    #[serde(default)]
    pub valid_from: Option<NaiveDate>,
    /// Last day the conversion applies; open-ended when absent.
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
}

impl MaterialConversionDef {
    /// Whether the conversion applies on `day`.
    pub fn is_valid_on(&self, day: NaiveDate) -> bool {
        self.valid_from.is_none_or(|from| from <= day) && self.valid_to.is_none_or(|to| day <= to)
    }
}

fn factor<'de, D: Deserializer<'de>>(deserializer: D) -> Result<BigRational, D::Error> {
    let text = String::deserialize(deserializer)?;
    parse_factor(&text).map_err(serde::de::Error::custom)
}
