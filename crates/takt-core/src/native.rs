//! Native payloads: a producer's own JSON, checked against its schema,
//! mapped by jq to a canonical contract, and wrapped in a CloudEvent.
//!
//! The mapping outputs an object:
//!
//! | field | required | meaning |
//! |---|---|---|
//! | `data` | yes | the contract payload |
//! | `subject` | yes | the business object, e.g. `productionorder/1010/100012345` |
//! | `key` | no | the producer's unique id of this posting, used for idempotency when the request has no `Idempotency-Key` |
//! | `time` | no | when it happened (default: now) |
//! | `correlationid` | no | default: the subject |
//! | `source` | no | default: `urn:takt:site:<data.siteId>:<principal>` |
//!
//! The hub fills in the rest of the envelope: a UUIDv7 id, the contract's
//! type and latest `dataschema`, `siteid` from `data.siteId`, `partitionkey`
//! from the contract's ordering key, trace and record times.

use serde_json::{Map, Value, json};

use crate::deployment::NativeSource;
use crate::mapping::{MapEnv, Mapping, MappingError};
use crate::registry::{Registry, compile_schema};
use crate::validate::Violation;
use crate::{Error, Result};

/// An interface's compiled native mapping.
pub struct NativeInterface {
    contract: String,
    mapping: Mapping,
    schema: Option<jsonschema::Validator>,
}

impl std::fmt::Debug for NativeInterface {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NativeInterface")
            .field("contract", &self.contract)
            .finish_non_exhaustive()
    }
}

/// What the hub contributes to the envelope of a mapped message.
#[derive(Debug, Clone)]
pub struct EnvelopeFacts<'a> {
    /// The authenticated principal.
    pub principal: &'a str,
    /// A fresh UUIDv7.
    pub id: String,
    /// Now, RFC 3339.
    pub now: String,
    /// W3C traceparent of this request.
    pub traceparent: String,
}

/// A mapped, enveloped message and the producer's key, if the mapping gave one.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    /// The canonical CloudEvent (not yet validated).
    pub message: Value,
    /// The mapping's `key`.
    pub key: Option<String>,
}

/// Why a native payload could not become a canonical message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NativeError {
    /// The payload broke the native schema.
    Invalid(Vec<Violation>),
    /// The mapping failed or produced the wrong shape.
    Mapping(MappingError),
}

impl NativeInterface {
    /// Compiles the mapping and schema read from the deployment.
    pub fn compile(source: &NativeSource) -> Result<Self> {
        let mapping = Mapping::compile(&source.mapping_origin, &source.mapping).map_err(|e| {
            Error::Config {
                origin: source.mapping_origin.clone(),
                reason: e.message,
            }
        })?;
        let schema = match &source.schema {
            None => None,
            Some((origin, schema)) => Some(compile_schema(origin, schema)?),
        };
        Ok(Self {
            contract: source.contract.clone(),
            mapping,
            schema,
        })
    }

    /// The canonical contract produced.
    pub fn contract(&self) -> &str {
        &self.contract
    }

    /// Checks the payload against the native schema, maps it, and builds the envelope.
    pub fn to_canonical(
        &self,
        payload: &Value,
        registry: &Registry,
        env: MapEnv<'_>,
        facts: &EnvelopeFacts<'_>,
    ) -> Result<Mapped, NativeError> {
        if let Some(schema) = &self.schema
            && !schema.is_valid(payload)
        {
            let violations = schema
                .iter_errors(payload)
                .map(|e| Violation {
                    pointer: e.instance_path().as_str().to_owned(),
                    rule: e.kind().keyword().to_owned(),
                    message: e.to_string(),
                })
                .collect();
            return Err(NativeError::Invalid(violations));
        }
        let output = self
            .mapping
            .run(payload, env)
            .map_err(NativeError::Mapping)?;
        self.envelope(output, registry, facts)
    }

    fn envelope(
        &self,
        output: Value,
        registry: &Registry,
        facts: &EnvelopeFacts<'_>,
    ) -> Result<Mapped, NativeError> {
        let shape = |message: &str| {
            NativeError::Mapping(MappingError {
                mapping: self.mapping.name().to_owned(),
                message: message.to_owned(),
            })
        };
        let Value::Object(mut out) = output else {
            return Err(shape(
                "must output an object {data, subject, key?, time?, correlationid?, source?}",
            ));
        };
        let Some(Value::Object(data)) = out.remove("data") else {
            return Err(shape(
                "output field `data` must be an object (the contract payload)",
            ));
        };
        let Some(Value::String(subject)) = out.remove("subject") else {
            return Err(shape(
                "output field `subject` must be a string, e.g. productionorder/1010/100012345",
            ));
        };
        let text = |out: &mut Map<String, Value>, field: &str| match out.remove(field) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(shape(&format!(
                "output field `{field}` must be a string, not {other}"
            ))),
        };
        let key = text(&mut out, "key")?;
        let time = text(&mut out, "time")?.unwrap_or_else(|| facts.now.clone());
        let correlation = text(&mut out, "correlationid")?.unwrap_or_else(|| subject.clone());
        let site = data
            .get("siteId")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let source = text(&mut out, "source")?
            .unwrap_or_else(|| format!("urn:takt:site:{site}:{}", facts.principal));
        if let Some(unknown) = out.keys().next() {
            return Err(shape(&format!(
                "output field `{unknown}` is not known; use data, subject, key, time, correlationid, source"
            )));
        }
        let data = Value::Object(data);
        let version = registry.contract(&self.contract).map(|c| c.latest());
        let mut message = json!({
            "specversion": "1.0",
            "id": facts.id,
            "source": source,
            "type": self.contract,
            "time": time,
            "subject": subject,
            "datacontenttype": "application/json",
            "siteid": site,
            "traceparent": facts.traceparent,
            "recordedtime": facts.now,
            "correlationid": correlation,
            "causationid": facts.id,
        });
        if let Some(version) = version {
            message["dataschema"] = json!(version.id.to_string());
            if let Some(key) = version.partition_key(&data) {
                message["partitionkey"] = json!(key);
            }
        }
        message["data"] = data;
        Ok(Mapped { message, key })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::UnitTable;

    fn source(mapping: &str) -> NativeSource {
        NativeSource {
            contract: "mfg.material.consumed.v1".into(),
            mapping_origin: "mappings/test.jq".into(),
            mapping: mapping.into(),
            schema: Some((
                "schemas/test.json".into(),
                json!({"type": "object", "required": ["AUFNR"]}),
            )),
        }
    }

    const MAPPING: &str = r#"{
        key: .MBLNR,
        subject: "productionorder/\(.WERKS)/\(.AUFNR)",
        time: .BUDAT,
        data: {consumptionId: .MBLNR, siteId: .WERKS, orderId: .AUFNR, operationId: .VORNR, materialId: .MATNR,
               qty: ({value: .MENGE, uom: {"KG": "KGM", "LB": "LBR"}[.MEINS]} | to_uom("KGM")), occurredAt: .BUDAT}
    }"#;

    fn facts() -> EnvelopeFacts<'static> {
        EnvelopeFacts {
            principal: "mes-plant1010",
            id: "0193a3f0-6c2e-7b1a-9d4e-000000000001".into(),
            now: "2026-11-26T10:00:00.000Z".into(),
            traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
        }
    }

    #[test]
    fn a_native_posting_becomes_a_valid_canonical_event() {
        let registry = Registry::builtin().unwrap();
        let native = NativeInterface::compile(&source(MAPPING)).unwrap();
        let mut units = UnitTable::default();
        units
            .add_toml("u", include_str!("../../../contracts/units.toml"))
            .unwrap();
        let env = MapEnv {
            units: &units,
            on: "2026-11-26".parse().unwrap(),
        };
        let payload = json!({"MBLNR": "4900012345", "WERKS": "1010", "AUFNR": "100012345", "VORNR": "0010", "MATNR": "RM-4711", "MENGE": "25", "MEINS": "LB", "BUDAT": "2026-11-26T08:00:00Z"});
        let mapped = native
            .to_canonical(&payload, &registry, env, &facts())
            .unwrap();
        assert_eq!(mapped.key.as_deref(), Some("4900012345"));
        let validated = registry.validate(mapped.message.clone()).unwrap();
        assert_eq!(validated.message["partitionkey"], "1010/100012345");
        assert_eq!(
            validated.message["source"],
            "urn:takt:site:1010:mes-plant1010"
        );
        assert_eq!(
            validated.message["data"]["qty"],
            json!({"value": "11.339809", "uom": "KGM"})
        );

        let bad = native
            .to_canonical(&json!({"WERKS": "1010"}), &registry, env, &facts())
            .unwrap_err();
        let NativeError::Invalid(violations) = bad else {
            panic!("expected schema violations")
        };
        assert_eq!(
            (violations[0].pointer.as_str(), violations[0].rule.as_str()),
            ("", "required")
        );

        let numeric_key =
            NativeInterface::compile(&source(r#"{data: {}, subject: "x", key: 4900012345}"#))
                .unwrap();
        let err = numeric_key
            .to_canonical(&payload, &registry, env, &facts())
            .unwrap_err();
        assert!(
            matches!(&err, NativeError::Mapping(e) if e.message == "output field `key` must be a string, not 4900012345"),
            "{err:?}"
        );

        let wrong_shape =
            NativeInterface::compile(&source(r#"{data: {}, subject: "x", extra: 1}"#)).unwrap();
        let err = wrong_shape
            .to_canonical(&payload, &registry, env, &facts())
            .unwrap_err();
        assert_eq!(err, NativeError::Mapping(MappingError { mapping: "mappings/test.jq".into(), message: "output field `extra` is not known; use data, subject, key, time, correlationid, source".into() }));
    }
}
