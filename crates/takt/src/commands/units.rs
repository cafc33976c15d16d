//! `takt units list` and `takt units convert VALUE FROM TO [--material M] [--on DATE]`.

use serde_json::json;
use takt_core::units::{ConversionRequest, StepSource, describe_validity};
use takt_model::quantity::{format_exact, format_fraction};

use crate::Outcome;
use crate::cli::{Cli, ConvertArgs, UnitsCommand};
use crate::output::Output;

pub fn run(cli: &Cli, command: &UnitsCommand, out: &Output) -> anyhow::Result<Outcome> {
    let registry = super::registry(cli)?;
    match command {
        UnitsCommand::List => list(registry.units(), out),
        UnitsCommand::Convert(args) => convert(registry.units(), args, out),
    }
}

fn list(units: &takt_core::units::UnitTable, out: &Output) -> anyhow::Result<Outcome> {
    if out.is_json() {
        let rows: Vec<_> = units
            .units()
            .map(|u| json!({"code": u.code, "name": u.name, "dimension": u.dimension, "factor": format_fraction(&u.factor), "scale": u.scale, "rounding": u.rounding}))
            .collect();
        out.json(&rows)?;
    } else {
        crate::say!(
            "{:5} {:10} {:26} {:>22}  ROUNDING",
            "CODE",
            "DIMENSION",
            "NAME",
            "FACTOR TO BASE"
        );
        for u in units.units() {
            let rounding = format!("{} places, {}", u.scale, u.rounding.as_str());
            crate::say!(
                "{:5} {:10} {:26} {:>22}  {rounding}",
                u.code,
                u.dimension,
                u.name,
                format_fraction(&u.factor)
            );
        }
    }
    Ok(Outcome::Passed)
}

fn convert(
    units: &takt_core::units::UnitTable,
    args: &ConvertArgs,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let on = args.on.unwrap_or_else(|| chrono::Utc::now().date_naive());
    let request = ConversionRequest {
        value: &args.value,
        from: &args.from,
        to: &args.to,
        material: args.material.as_deref(),
        on,
    };
    let input = format_exact(&args.value).unwrap_or_else(|| format_fraction(&args.value));
    let conversion = match units.convert(&request) {
        Ok(c) => c,
        Err(error) => {
            if out.is_json() {
                out.json(&json!({"error": {"code": error.code(), "message": error.to_string()}}))?;
            } else {
                eprintln!("error: {error}");
            }
            return Ok(Outcome::Failed);
        }
    };
    let exact =
        format_exact(&conversion.exact).unwrap_or_else(|| format_fraction(&conversion.exact));
    if out.is_json() {
        let steps: Vec<_> = conversion.steps.iter().map(|s| {
            let (source, material, valid_from, valid_to) = match &s.source {
                StepSource::Global => ("global", None, None, None),
                StepSource::Material { material, valid_from, valid_to } => ("material", Some(material), *valid_from, *valid_to),
            };
            json!({"from": s.from, "to": s.to, "factor": format_fraction(&s.factor), "source": source, "material": material, "valid_from": valid_from, "valid_to": valid_to})
        }).collect();
        out.json(&json!({
            "value": input, "from": args.from, "to": args.to, "material": args.material, "on": on.to_string(),
            "result": conversion.rounded, "exact": exact, "exact_fraction": format_fraction(&conversion.exact),
            "inexact": conversion.inexact, "scale": conversion.scale, "rounding": conversion.rounding,
            "factor": format_fraction(&conversion.factor()), "steps": steps,
        }))?;
    } else {
        crate::say!("{input} {} = {} {}", args.from, conversion.rounded, args.to);
        let rounding = conversion.rounding.as_str();
        if conversion.inexact {
            crate::say!(
                "  exact {exact} {}, rounded {rounding} to {} places",
                args.to,
                conversion.scale
            );
        }
        for s in &conversion.steps {
            let source = match &s.source {
                StepSource::Global => "global".to_owned(),
                StepSource::Material {
                    material,
                    valid_from,
                    valid_to,
                } => {
                    format!(
                        "material {material}, valid {}",
                        describe_validity(*valid_from, *valid_to)
                    )
                }
            };
            crate::say!(
                "  1 {} = {} {} ({source})",
                s.from,
                format_fraction(&s.factor),
                s.to
            );
        }
    }
    Ok(Outcome::Passed)
}
