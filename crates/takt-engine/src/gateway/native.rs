//! Native payloads: the producer's own JSON, mapped to a canonical message.

use super::*;

impl Gateway {
    /// Checks a native payload's producer and rate before the mapping runs,
    /// then maps it to a canonical message.
    pub(super) fn map_native(
        &self,
        principal: &Principal,
        name: &str,
        request: &IngestRequest,
    ) -> Result<(Value, Option<String>), Rejection> {
        let (Some(native), Some(interface)) =
            (self.natives.get(name), self.deployment.interfaces.get(name))
        else {
            return Err(Rejection::NotFound(format!(
                "interface {name} takes no native payloads (it has no [native] mapping)"
            )));
        };
        if request.batch {
            return Err(Rejection::BadRequest(
                "native payloads are sent one at a time".into(),
            ));
        }
        let sites = request.header_sites.iter().cloned().collect();
        self.decide(principal, interface, native.contract(), sites)?;
        self.limits.take(name, &principal.name, 1)?;
        let payload: Value = parse_json(&request.body)?;
        let now_ms = self.clock.now_ms();
        let now = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
        let env = MapEnv {
            units: self.registry.units(),
            on: now.date_naive(),
        };
        let facts = EnvelopeFacts {
            principal: &principal.name,
            id: uuid::Uuid::now_v7().to_string(),
            now: now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            traceparent: traceparent(),
        };
        match native.to_canonical(&payload, &self.registry, env, &facts) {
            Ok(mapped) => Ok((mapped.message, mapped.key)),
            Err(NativeError::Invalid(violations)) => Err(Rejection::Invalid(violations)),
            Err(NativeError::Mapping(e)) => Err(Rejection::MappingFailed {
                mapping: e.mapping,
                message: e.message,
            }),
        }
    }
}

/// A fresh W3C traceparent for a request that brought none.
fn traceparent() -> String {
    let trace = *uuid::Uuid::now_v7().as_bytes();
    let span = *uuid::Uuid::now_v7().as_bytes();
    format!("00-{}-{}-01", hex::encode(trace), hex::encode(&span[8..16]))
}
