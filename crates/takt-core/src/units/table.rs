use std::collections::BTreeMap;

use num_rational::BigRational;
use num_traits::One;
use takt_model::Rounding;
use takt_model::units::{MaterialConversionDef, UnitDef, UnitsFile};

use crate::{Error, Result};

/// A unit of measure as known to the merged table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// UN/CEFACT Rec 20 code, e.g. `KGM`.
    pub code: String,
    /// Human name.
    pub name: String,
    /// Dimension name, e.g. `mass`.
    pub dimension: String,
    /// 1 unit = `factor` base units of its dimension.
    pub factor: BigRational,
    /// Decimal places kept when rounding to this unit.
    pub scale: u32,
    /// Rounding rule toward `scale`.
    pub rounding: Rounding,
}

impl From<UnitDef> for Unit {
    fn from(def: UnitDef) -> Self {
        Self {
            code: def.code,
            name: def.name,
            dimension: def.dimension,
            factor: def.factor,
            scale: def.scale,
            rounding: def.rounding,
        }
    }
}

/// All known units, dimensions and material conversions, merged from layers.
#[derive(Debug, Clone, Default)]
pub struct UnitTable {
    pub(super) dimensions: BTreeMap<String, String>,
    pub(super) units: BTreeMap<String, Unit>,
    pub(super) materials: BTreeMap<String, Vec<MaterialConversionDef>>,
}

impl UnitTable {
    /// Adds one `units.toml` layer; `origin` names it in error messages.
    ///
    /// A later layer may add dimensions, units and material conversions, and
    /// may repeat an identical unit, but never redefine one.
    pub fn add_toml(&mut self, origin: &str, text: &str) -> Result<()> {
        let invalid = |reason: String| Error::InvalidUnitTable {
            origin: origin.to_owned(),
            reason,
        };
        let file = parse(text).map_err(invalid)?;
        for dim in file.dimension {
            match self.dimensions.get(&dim.name) {
                Some(base) if *base != dim.base => {
                    return Err(invalid(format!(
                        "dimension {:?} already has base unit {base}, not {}",
                        dim.name, dim.base
                    )));
                }
                _ => self.dimensions.insert(dim.name, dim.base),
            };
        }
        for def in file.unit {
            self.add_unit(def.into()).map_err(invalid)?;
        }
        self.check_bases().map_err(invalid)?;
        for conversion in file.material {
            self.add_material(conversion).map_err(invalid)?;
        }
        Ok(())
    }

    fn add_unit(&mut self, unit: Unit) -> Result<(), String> {
        if !self.dimensions.contains_key(&unit.dimension) {
            return Err(format!(
                "unit {} names unknown dimension {:?}",
                unit.code, unit.dimension
            ));
        }
        if unit.code.is_empty() || !unit.code.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(format!(
                "unit code {:?} must be a Rec 20 code (letters and digits)",
                unit.code
            ));
        }
        match self.units.get(&unit.code) {
            Some(known) if *known != unit => Err(format!(
                "unit {} is already defined differently in an earlier table",
                unit.code
            )),
            _ => {
                self.units.insert(unit.code.clone(), unit);
                Ok(())
            }
        }
    }

    fn check_bases(&self) -> Result<(), String> {
        for (dimension, base) in &self.dimensions {
            match self.units.get(base) {
                Some(unit) if unit.dimension == *dimension && unit.factor.is_one() => {}
                Some(_) => {
                    return Err(format!(
                        "base unit {base} of {dimension} must be in that dimension with factor 1"
                    ));
                }
                None => return Err(format!("base unit {base} of {dimension} is not defined")),
            }
        }
        Ok(())
    }

    fn add_material(&mut self, conversion: MaterialConversionDef) -> Result<(), String> {
        let MaterialConversionDef {
            material, from, to, ..
        } = &conversion;
        let dim = |code: &str| {
            self.units
                .get(code)
                .map(|u| u.dimension.clone())
                .ok_or_else(|| format!("material {material}: unknown unit {code:?}"))
        };
        let (from_dim, to_dim) = (dim(from)?, dim(to)?);
        if from_dim == to_dim {
            return Err(format!(
                "material {material}: {from} and {to} are both {from_dim}; same-dimension \
                 conversions are global and cannot be overridden per material"
            ));
        }
        if let (Some(start), Some(end)) = (conversion.valid_from, conversion.valid_to)
            && start > end
        {
            return Err(format!(
                "material {material}: valid_from {start} is after valid_to {end}"
            ));
        }
        let existing = self.materials.entry(material.clone()).or_default();
        let same_pair = |c: &&MaterialConversionDef| {
            let pair = (dim(&c.from), dim(&c.to));
            pair == (Ok(from_dim.clone()), Ok(to_dim.clone()))
                || pair == (Ok(to_dim.clone()), Ok(from_dim.clone()))
        };
        if let Some(clash) = existing
            .iter()
            .filter(same_pair)
            .find(|c| overlaps(c, &conversion))
        {
            return Err(format!(
                "material {material}: {from}→{to} overlaps the {}→{} conversion valid {}",
                clash.from,
                clash.to,
                validity(clash)
            ));
        }
        existing.push(conversion);
        Ok(())
    }

    /// The unit with this code.
    pub fn unit(&self, code: &str) -> Result<&Unit> {
        self.units
            .get(code)
            .ok_or_else(|| Error::UnknownUnit(code.to_owned()))
    }

    /// Every unit, by code.
    pub fn units(&self) -> impl Iterator<Item = &Unit> {
        self.units.values()
    }

    /// Material conversions for one material, in table order.
    pub fn material_conversions(&self, material: &str) -> &[MaterialConversionDef] {
        self.materials.get(material).map_or(&[], Vec::as_slice)
    }
}

/// Parses a units file; TOML dates may be written bare (`valid_from = 2026-07-01`) or quoted.
fn parse(text: &str) -> Result<UnitsFile, String> {
    let mut table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    for section in ["material"] {
        if let Some(toml::Value::Array(items)) = table.get_mut(section) {
            for item in items.iter_mut().filter_map(toml::Value::as_table_mut) {
                for (_, value) in item.iter_mut() {
                    if let toml::Value::Datetime(date) = &*value {
                        *value = toml::Value::String(date.to_string());
                    }
                }
            }
        }
    }
    toml::Value::Table(table)
        .try_into()
        .map_err(|e: toml::de::Error| e.to_string())
}

fn overlaps(a: &MaterialConversionDef, b: &MaterialConversionDef) -> bool {
    let starts_before_end =
        |x: &MaterialConversionDef, y: &MaterialConversionDef| match (x.valid_from, y.valid_to) {
            (Some(start), Some(end)) => start <= end,
            _ => true,
        };
    starts_before_end(a, b) && starts_before_end(b, a)
}

/// A validity range in words: `from 2026-01-01`, `until 2025-12-31`,
/// `2026-01-01 to 2026-12-31`, or `always`.
pub fn describe_validity(from: Option<chrono::NaiveDate>, to: Option<chrono::NaiveDate>) -> String {
    match (from, to) {
        (Some(from), Some(to)) => format!("{from} to {to}"),
        (Some(from), None) => format!("from {from}"),
        (None, Some(to)) => format!("until {to}"),
        (None, None) => "always".to_owned(),
    }
}

pub(super) fn validity(c: &MaterialConversionDef) -> String {
    describe_validity(c.valid_from, c.valid_to)
}
