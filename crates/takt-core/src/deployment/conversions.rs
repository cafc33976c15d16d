//! `conversions.toml`: jq conversions between contract types, read and
//! checked (known types, one per direction, programs that compile).

use std::fs;
use std::path::Path;

use takt_model::catalog::{ConversionConfig, ConversionsFile};

use super::{Deployment, config_error, parse};
use crate::Result;
use crate::mapping::Mapping;
use crate::registry::Registry;

/// One conversion with its program, as read from the deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConversionSource {
    /// As declared.
    pub config: ConversionConfig,
    /// The program's file, relative to the deployment directory.
    pub origin: String,
    /// The jq program.
    pub code: String,
}

/// Reads `conversions.toml` and the programs it names; none without the file.
pub(super) fn read(dir: &Path) -> Result<Vec<ConversionSource>> {
    let file = dir.join("conversions.toml");
    if !file.exists() {
        return Ok(Vec::new());
    }
    let declared: ConversionsFile = parse(&file)?;
    let mut sources = Vec::with_capacity(declared.conversions.len());
    for (index, config) in declared.conversions.into_iter().enumerate() {
        let path = dir.join(&config.mapping);
        let code = fs::read_to_string(&path).map_err(|e| {
            config_error(
                &file,
                format!(
                    "conversions[{index}]: field `mapping`: cannot read {}: {e}",
                    path.display()
                ),
            )
        })?;
        sources.push(ConversionSource {
            origin: config.mapping.display().to_string(),
            config,
            code,
        });
    }
    Ok(sources)
}

impl Deployment {
    /// Checks that conversions join two different known contract types,
    /// once per direction, with a program that compiles.
    pub(super) fn check_conversions(&self, registry: &Registry) -> Result<()> {
        let file = self
            .root
            .as_ref()
            .map_or_else(|| "conversions.toml".into(), |r| r.join("conversions.toml"));
        for (index, source) in self.conversions.iter().enumerate() {
            let fail = |field: &str, reason: String| {
                Err(config_error(
                    &file,
                    format!("conversions[{index}]: field `{field}`: {reason}"),
                ))
            };
            let c = &source.config;
            for (field, contract) in [("from", &c.from), ("to", &c.to)] {
                if registry.contract(contract).is_none() {
                    return fail(
                        field,
                        format!(
                            "unknown contract {contract:?}; `takt contract list` shows the known ones"
                        ),
                    );
                }
            }
            if c.from == c.to {
                return fail("to", format!("{} cannot be converted to itself", c.to));
            }
            let twice = self.conversions[..index]
                .iter()
                .any(|o| o.config.from == c.from && o.config.to == c.to);
            if twice {
                return fail("to", format!("{} → {} is declared twice", c.from, c.to));
            }
            if let Err(e) = Mapping::compile(&source.origin, &source.code) {
                return fail("mapping", e.to_string());
            }
        }
        Ok(())
    }
}
