use std::collections::{BTreeMap, VecDeque};

use chrono::NaiveDate;
use num_rational::BigRational;
use num_traits::One;
use takt_model::Rounding;
use takt_model::quantity::{format_rounded, format_units, rounded_units};
use takt_model::units::MaterialConversionDef;

use super::table::{UnitTable, validity};
use crate::{Error, Result};

/// What to convert: `value` `from` → `to`, for an optional material, on a day.
#[derive(Debug, Clone)]
pub struct ConversionRequest<'a> {
    /// The exact value to convert.
    pub value: &'a BigRational,
    /// Source unit code.
    pub from: &'a str,
    /// Target unit code.
    pub to: &'a str,
    /// Material number; required when the units are in different dimensions.
    pub material: Option<&'a str>,
    /// The business day whose material conversions apply.
    pub on: NaiveDate,
}

/// Where one conversion step's factor comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StepSource {
    /// A global, dimensional conversion (e.g. LBR → KGM).
    Global,
    /// A material-specific conversion and its validity range.
    Material {
        /// Material number.
        material: String,
        /// First day it applies, if bounded.
        valid_from: Option<NaiveDate>,
        /// Last day it applies, if bounded.
        valid_to: Option<NaiveDate>,
    },
}

/// One hop of a conversion chain: 1 `from` = `factor` `to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Unit converted from.
    pub from: String,
    /// Unit converted to.
    pub to: String,
    /// Exact factor of this hop.
    pub factor: BigRational,
    /// Where the factor comes from.
    pub source: StepSource,
}

/// The result of a conversion: exact value, rounded decimal, and the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    /// The exact converted value.
    pub exact: BigRational,
    /// The value rounded to the target unit's scale, as a decimal string.
    pub rounded: String,
    /// Target unit's scale.
    pub scale: u32,
    /// Target unit's rounding rule.
    pub rounding: Rounding,
    /// Whether rounding changed the value.
    pub inexact: bool,
    /// The hops taken; their factors multiply to the overall factor.
    pub steps: Vec<Step>,
}

impl Conversion {
    /// The overall factor: product of every step's factor.
    pub fn factor(&self) -> BigRational {
        self.steps
            .iter()
            .fold(BigRational::one(), |acc, s| acc * &s.factor)
    }
}

/// A material conversion used in a chain, oriented in travel direction.
struct Hop<'a> {
    from: &'a str,
    to: &'a str,
    factor: BigRational,
    def: &'a MaterialConversionDef,
}

impl UnitTable {
    /// Converts exactly, then rounds to the target unit's rule.
    ///
    /// Units of one dimension convert through their global factors. Across
    /// dimensions, the material's conversions valid on `on` are chained (the
    /// shortest chain wins); without one, this is [`Error::NoConversion`].
    pub fn convert(&self, request: &ConversionRequest<'_>) -> Result<Conversion> {
        let from = self.unit(request.from)?;
        let to = self.unit(request.to)?;
        let hops = if from.dimension == to.dimension {
            Vec::new()
        } else {
            self.material_chain(request, &from.dimension, &to.dimension)?
        };
        let mut steps = Vec::with_capacity(hops.len() * 2 + 1);
        let mut current = from.code.as_str();
        for hop in hops {
            self.push_global(&mut steps, current, hop.from)?;
            steps.push(Step {
                from: hop.from.to_owned(),
                to: hop.to.to_owned(),
                factor: hop.factor,
                source: StepSource::Material {
                    material: hop.def.material.clone(),
                    valid_from: hop.def.valid_from,
                    valid_to: hop.def.valid_to,
                },
            });
            current = hop.to;
        }
        self.push_global(&mut steps, current, &to.code)?;
        let factor = steps
            .iter()
            .fold(BigRational::one(), |acc, s| acc * &s.factor);
        let exact = request.value * factor;
        let (units, inexact) = rounded_units(&exact, to.scale, to.rounding);
        Ok(Conversion {
            rounded: format_units(&units, to.scale),
            inexact,
            exact,
            scale: to.scale,
            rounding: to.rounding,
            steps,
        })
    }

    /// Converts like [`UnitTable::convert`], and returns only the rounded
    /// decimal: the path mappings take for every quantity. Factors of global
    /// conversions come from the units' own factors; no steps are recorded.
    pub fn convert_rounded(&self, request: &ConversionRequest<'_>) -> Result<String> {
        let from = self.unit(request.from)?;
        let to = self.unit(request.to)?;
        if from.dimension != to.dimension {
            return Ok(self.convert(request)?.rounded);
        }
        let exact = if from.code == to.code {
            request.value.clone()
        } else {
            request.value * &from.factor / &to.factor
        };
        Ok(format_rounded(&exact, to.scale, to.rounding))
    }

    fn push_global(&self, steps: &mut Vec<Step>, from: &str, to: &str) -> Result<()> {
        if from != to {
            let factor = &self.unit(from)?.factor / &self.unit(to)?.factor;
            steps.push(Step {
                from: from.to_owned(),
                to: to.to_owned(),
                factor,
                source: StepSource::Global,
            });
        }
        Ok(())
    }

    fn material_chain<'a>(
        &'a self,
        request: &ConversionRequest<'_>,
        from_dim: &str,
        to_dim: &str,
    ) -> Result<Vec<Hop<'a>>> {
        let no_conversion = |reason: String| Error::NoConversion {
            from: request.from.to_owned(),
            to: request.to.to_owned(),
            reason,
        };
        let Some(material) = request.material else {
            return Err(no_conversion(format!(
                "{} is {from_dim} and {} is {to_dim}; crossing dimensions needs a \
                 material-specific conversion, so name the material",
                request.from, request.to
            )));
        };
        let all = self.material_conversions(material);
        let valid: Vec<&MaterialConversionDef> =
            all.iter().filter(|c| c.is_valid_on(request.on)).collect();
        self.shortest_chain(&valid, from_dim, to_dim)
            .ok_or_else(|| {
                no_conversion(self.explain_missing(material, all, request.on, from_dim, to_dim))
            })
    }

    /// Breadth-first search over dimensions, material conversions as edges.
    fn shortest_chain<'a>(
        &'a self,
        valid: &[&'a MaterialConversionDef],
        from_dim: &str,
        to_dim: &str,
    ) -> Option<Vec<Hop<'a>>> {
        let mut came_from: BTreeMap<&str, Option<(&str, usize, bool)>> = BTreeMap::new();
        came_from.insert(from_dim, None);
        let mut queue = VecDeque::from([from_dim]);
        while let Some(dim) = queue.pop_front() {
            if dim == to_dim {
                break;
            }
            for (index, c) in valid.iter().enumerate() {
                let (a, b) = (
                    self.units[&c.from].dimension.as_str(),
                    self.units[&c.to].dimension.as_str(),
                );
                for (here, there, forward) in [(a, b, true), (b, a, false)] {
                    if here == dim && !came_from.contains_key(there) {
                        came_from.insert(there, Some((dim, index, forward)));
                        queue.push_back(there);
                    }
                }
            }
        }
        let mut hops = Vec::new();
        let mut dim = to_dim;
        while let Some(Some((previous, index, forward))) = came_from.get(dim).cloned() {
            let def = valid[index];
            hops.push(if forward {
                Hop {
                    from: &def.from,
                    to: &def.to,
                    factor: def.factor.clone(),
                    def,
                }
            } else {
                Hop {
                    from: &def.to,
                    to: &def.from,
                    factor: def.factor.recip(),
                    def,
                }
            });
            dim = previous;
        }
        if dim != from_dim || !came_from.contains_key(to_dim) {
            return None;
        }
        hops.reverse();
        Some(hops)
    }

    fn explain_missing(
        &self,
        material: &str,
        all: &[MaterialConversionDef],
        on: NaiveDate,
        from_dim: &str,
        to_dim: &str,
    ) -> String {
        if all.is_empty() {
            return format!(
                "material {material} has no conversion between {from_dim} and {to_dim}; \
                 add one to the deployment's units.toml"
            );
        }
        let known: Vec<String> = all
            .iter()
            .map(|c| format!("{}→{} valid {}", c.from, c.to, validity(c)))
            .collect();
        format!(
            "material {material} has no chain of conversions from {from_dim} to {to_dim} \
             valid on {on}; it has: {}",
            known.join(", ")
        )
    }
}

#[cfg(test)]
mod tests;
