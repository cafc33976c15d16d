//! Version coexistence at delivery: a subscription of one contract type
//! also receives the messages of another, converted by the deployment's
//! jq conversion (`conversions.toml`), so a consumer pinned to v1 keeps
//! receiving v1 while a producer moved to v2 (and the other way round).
//!
//! The program reads the whole CloudEvent and returns the new `data`; the
//! message keeps its id (the idempotency key), subject and ordering key,
//! takes the target's type and latest schema version, and must then pass
//! that schema, or the delivery is refused (dead-lettered with the reason).

use std::sync::Arc;

use serde_json::Value;
use takt_core::deployment::ConversionSource;
use takt_core::mapping::{MapEnv, Mapping};
use takt_core::registry::Registry;

use super::DeliveryError;

/// One compiled conversion.
pub struct Conversion {
    /// The contract type converted from.
    pub from: String,
    /// The contract type delivered.
    pub to: String,
    /// `urn:takt:schema:<to>:<latest>`.
    target_schema: String,
    mapping: Mapping,
    registry: Arc<Registry>,
}

impl Conversion {
    /// Compiles every conversion of a deployment.
    pub fn compile_all(
        sources: &[ConversionSource],
        registry: &Arc<Registry>,
    ) -> Result<Vec<Arc<Self>>, DeliveryError> {
        sources
            .iter()
            .map(|source| Self::compile(source, registry).map(Arc::new))
            .collect()
    }

    fn compile(source: &ConversionSource, registry: &Arc<Registry>) -> Result<Self, DeliveryError> {
        let fail = |reason: String| DeliveryError::Config {
            subscription: format!("conversion {} → {}", source.config.from, source.config.to),
            field: "mapping".into(),
            reason,
        };
        let target = registry
            .contract(&source.config.to)
            .ok_or_else(|| fail(format!("unknown contract {}", source.config.to)))?;
        let mapping =
            Mapping::compile(&source.origin, &source.code).map_err(|e| fail(e.to_string()))?;
        Ok(Self {
            from: source.config.from.clone(),
            to: source.config.to.clone(),
            target_schema: target.latest().id.to_string(),
            mapping,
            registry: registry.clone(),
        })
    }

    /// The CloudEvent `event`, converted and checked against the target schema.
    pub fn apply(&self, event: &Value, env: MapEnv<'_>) -> Result<Value, String> {
        let data = self
            .mapping
            .run(event, env)
            .map_err(|e| format!("conversion {} → {}: {e}", self.from, self.to))?;
        let mut converted = event.clone();
        converted["type"] = Value::from(self.to.as_str());
        converted["dataschema"] = Value::from(self.target_schema.as_str());
        converted["data"] = data;
        match self.registry.validate(converted) {
            Ok(valid) => Ok(valid.message),
            Err(violations) => {
                let broken: Vec<String> = violations
                    .iter()
                    .take(3)
                    .map(|v| format!("{} ({}): {}", v.pointer, v.rule, v.message))
                    .collect();
                Err(format!(
                    "conversion {} → {} produced a message that breaks {}: {}",
                    self.from,
                    self.to,
                    self.target_schema,
                    broken.join("; ")
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use takt_model::catalog::ConversionConfig;

    use super::*;

    fn conversion(code: &str) -> Conversion {
        let registry = Arc::new(Registry::load::<std::path::PathBuf>(&[]).unwrap());
        let source = ConversionSource {
            config: ConversionConfig {
                from: "mfg.material.consumed.v1".into(),
                to: "mfg.operation.completed.v1".into(),
                mapping: "mappings/test.jq".into(),
            },
            origin: "mappings/test.jq".into(),
            code: code.into(),
        };
        Conversion::compile(&source, &registry).unwrap()
    }

    fn event() -> Value {
        let text = include_str!(
            "../../../../contracts/mfg.material.consumed.v1/examples/valid-lot-managed.json"
        );
        serde_json::from_str(text).unwrap()
    }

    fn env(units: &takt_core::units::UnitTable) -> MapEnv<'_> {
        MapEnv {
            units,
            on: chrono::NaiveDate::default(),
        }
    }

    #[test]
    fn a_conversion_that_breaks_the_target_schema_is_refused_with_the_reason() {
        let registry = Registry::load::<std::path::PathBuf>(&[]).unwrap();
        let broken = conversion("{orderId: .data.orderId}").apply(&event(), env(registry.units()));
        let reason = broken.unwrap_err();
        assert!(
            reason.contains("breaks urn:takt:schema:mfg.operation.completed.v1"),
            "{reason}"
        );
        let failing = conversion("error(\"no\")").apply(&event(), env(registry.units()));
        assert!(
            failing
                .unwrap_err()
                .contains("conversion mfg.material.consumed.v1 → mfg.operation.completed.v1")
        );
    }
}
