//! Mappings: jq programs (run by jaq) that turn a system's native payload
//! into a canonical contract.
//!
//! A mapping is compiled once and run per message. Besides the jq standard
//! library it has Takt's exact unit conversion, as jq functions on a
//! quantity object `{"value": "<decimal>", "uom": "<code>"}`:
//!
//! ```jq
//! .weight | to_uom("KGM")               # global conversion, e.g. LBR → KGM
//! .count  | to_uom("KGM"; .materialNo)  # material-specific, e.g. C62 → KGM
//! ```
//!
//! Conversion is exact; the result is rounded by the target unit's rule. An
//! unknown unit or a missing conversion stops the mapping with an error.

use chrono::NaiveDate;
use jaq_core::box_iter::box_once;
use jaq_core::data::{DataT, HasLut};
use jaq_core::load::{Arena, File, Loader};
use jaq_core::{Bind, Ctx, Cv, Error as JqError, Exn, Lut, Native, RunPtr, ValXs, Vars};
use jaq_json::{Map, Val};
use serde_json::Value;
use takt_model::parse_decimal;

use crate::units::{ConversionRequest, UnitTable};
use values::{as_str, field, to_json, to_val};

mod values;

/// What a mapping runs with: the unit table and the day whose material
/// conversions apply.
#[derive(Clone, Copy)]
pub struct MapEnv<'a> {
    /// Units and conversions.
    pub units: &'a UnitTable,
    /// Business day for material conversions.
    pub on: NaiveDate,
}

/// jaq's view of Takt's data: JSON values plus the mapping environment.
struct TaktData;

#[derive(Clone)]
struct RunData<'a> {
    lut: &'a Lut<TaktData>,
    env: MapEnv<'a>,
}

impl DataT for TaktData {
    type V<'a> = Val;
    type Data<'a> = RunData<'a>;
}

impl<'a> HasLut<'a, TaktData> for RunData<'a> {
    fn lut(&self) -> &'a Lut<TaktData> {
        self.lut
    }
}

/// Why a mapping did not compile or failed on a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("mapping {mapping}: {message}")]
pub struct MappingError {
    /// The mapping's name.
    pub mapping: String,
    /// What went wrong.
    pub message: String,
}

/// A compiled jq mapping.
pub struct Mapping {
    name: String,
    filter: jaq_core::Filter<TaktData>,
}

impl std::fmt::Debug for Mapping {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapping")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn position(code: &str, at: &str) -> String {
    let offset = (at.as_ptr() as usize)
        .saturating_sub(code.as_ptr() as usize)
        .min(code.len());
    let before = &code[..offset];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, str::len) + 1;
    format!("line {line}, column {column}")
}

fn to_uom_1<'a>(cv: Cv<'a, TaktData>) -> ValXs<'a, Val> {
    let (mut ctx, input) = cv;
    let target = ctx.pop_var();
    box_once(convert(ctx.data().env, &input, &target, None).map_err(Exn::from))
}

fn to_uom_2<'a>(cv: Cv<'a, TaktData>) -> ValXs<'a, Val> {
    let (mut ctx, input) = cv;
    let material = ctx.pop_var();
    let target = ctx.pop_var();
    box_once(convert(ctx.data().env, &input, &target, Some(&material)).map_err(Exn::from))
}

fn convert(
    env: MapEnv<'_>,
    input: &Val,
    target: &Val,
    material: Option<&Val>,
) -> Result<Val, JqError<Val>> {
    let fail = |message: String| JqError::str(message);
    let (Some(value), Some(from)) = (
        field(input, "value").and_then(as_str),
        field(input, "uom").and_then(as_str),
    ) else {
        return Err(fail(format!(
            "to_uom takes a quantity {{\"value\": \"<decimal>\", \"uom\": \"<code>\"}}, not {input}"
        )));
    };
    let Some(to) = as_str(target) else {
        return Err(fail("to_uom: the target unit must be a string".into()));
    };
    let material = match material {
        None => None,
        Some(m) => Some(
            as_str(m)
                .ok_or_else(|| fail(format!("to_uom: the material must be a string, not {m}")))?,
        ),
    };
    let exact = parse_decimal(value).map_err(|e| fail(e.to_string()))?;
    let request = ConversionRequest {
        value: &exact,
        from,
        to,
        material,
        on: env.on,
    };
    let rounded = env
        .units
        .convert_rounded(&request)
        .map_err(|e| fail(e.to_string()))?;
    let mut quantity = Map::with_capacity_and_hasher(2, Default::default());
    quantity.insert(Val::utf8_str("value"), Val::utf8_str(rounded.into_bytes()));
    quantity.insert(
        Val::utf8_str("uom"),
        Val::utf8_str(to.to_owned().into_bytes()),
    );
    Ok(Val::obj(quantity))
}

impl Mapping {
    /// Compiles `code`; `name` identifies the mapping in every error.
    pub fn compile(name: &str, code: &str) -> Result<Self, MappingError> {
        let error = |message: String| MappingError {
            mapping: name.to_owned(),
            message,
        };
        let defs = jaq_core::defs()
            .chain(jaq_std::defs())
            .chain(jaq_json::defs());
        let funs = jaq_core::funs()
            .chain(jaq_std::funs())
            .chain(jaq_json::funs())
            .chain([
                (
                    "to_uom",
                    Box::from([Bind::Var(())]),
                    Native::<TaktData>::new(to_uom_1 as RunPtr<TaktData>),
                ),
                (
                    "to_uom",
                    Box::from([Bind::Var(()), Bind::Var(())]),
                    Native::<TaktData>::new(to_uom_2 as RunPtr<TaktData>),
                ),
            ]);
        let arena = Arena::default();
        let modules = Loader::new(defs)
            .load(&arena, File { code, path: () })
            .map_err(|errors| {
                let described: Vec<String> = errors
                    .into_iter()
                    .flat_map(|(_, e)| match e {
                        jaq_core::load::Error::Io(io) => {
                            io.into_iter().map(|(_, m)| m).collect::<Vec<_>>()
                        }
                        jaq_core::load::Error::Lex(lex) => lex
                            .into_iter()
                            .map(|(expect, at)| {
                                format!("expected {} at {}", expect.as_str(), position(code, at))
                            })
                            .collect(),
                        jaq_core::load::Error::Parse(parse) => parse
                            .into_iter()
                            .map(|(expect, at)| {
                                format!("expected {} at {}", expect.as_str(), position(code, at))
                            })
                            .collect(),
                    })
                    .collect();
                error(described.join("; "))
            })?;
        let filter = jaq_core::Compiler::default()
            .with_funs(funs)
            .compile(modules)
            .map_err(|errors| {
                let described: Vec<String> = errors
                    .into_iter()
                    .flat_map(|(_, undefined)| undefined)
                    .map(|(symbol, kind)| {
                        format!(
                            "undefined {} {symbol} at {}",
                            kind.as_str(),
                            position(code, symbol)
                        )
                    })
                    .collect();
                error(described.join("; "))
            })?;
        Ok(Self {
            name: name.to_owned(),
            filter,
        })
    }

    /// The mapping's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs the mapping on one input; it must produce exactly one value.
    pub fn run(&self, input: &Value, env: MapEnv<'_>) -> Result<Value, MappingError> {
        let error = |message: String| MappingError {
            mapping: self.name.clone(),
            message,
        };
        let input = to_val(input);
        let data = RunData {
            lut: &self.filter.lut,
            env,
        };
        let ctx = Ctx::<TaktData>::new(data, Vars::new([]));
        let mut outputs = self.filter.id.run((ctx, input)).map(jaq_core::unwrap_valr);
        let first = match outputs.next() {
            None => {
                return Err(error(
                    "produced no output; a mapping must produce exactly one value".into(),
                ));
            }
            Some(Err(e)) => return Err(error(describe(&e))),
            Some(Ok(value)) => value,
        };
        if outputs.next().is_some() {
            return Err(error(
                "produced more than one output; a mapping must produce exactly one value".into(),
            ));
        }
        Ok(to_json(&first))
    }
}

/// A jq error as a sentence: string errors unquoted, others as JSON.
fn describe(error: &JqError<Val>) -> String {
    let text = error.to_string();
    serde_json::from_str::<String>(&text).unwrap_or(text)
}

#[cfg(test)]
mod tests;
