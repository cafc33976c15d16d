//! Units of measure: the merged unit table and exact conversion.
//!
//! A [`UnitTable`] is built from layers of `units.toml` files: Takt's own
//! (UN/CEFACT Rec 20 codes with exact global factors) and then a deployment's
//! (more units, material-specific conversions with validity dates). Every
//! conversion is exact rational arithmetic; a value is rounded only at the
//! end, by the target unit's scale and rounding rule. An unknown unit or a
//! missing conversion is an error, never a guess.

mod convert;
mod table;

pub use convert::{Conversion, ConversionRequest, Step, StepSource};
pub use table::{Unit, UnitTable, describe_validity};
