//! Benchmarks of the contract hot paths.
//!
//! Run with `cargo bench -p takt-core --bench contracts`; figures are recorded
//! in docs/performance.md.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::{Map, Value, json};
use takt_core::compat::{self, Mode, Version};
use takt_core::registry::Registry;

/// A canonical `mfg.material.consumed.v1` event, compact JSON, ~600 bytes.
fn small_event() -> Vec<u8> {
    let message = json!({
        "specversion": "1.0",
        "id": "0193a3f0-6c2e-7b1a-9d4e-2f5a6b7c8d90",
        "source": "urn:takt:site:1010:mes:mes01",
        "type": "mfg.material.consumed.v1",
        "time": "2026-11-20T08:15:30Z",
        "subject": "productionorder/1010/100012345",
        "datacontenttype": "application/json",
        "dataschema": "urn:takt:schema:mfg.material.consumed.v1:1.0",
        "partitionkey": "1010/100012345",
        "siteid": "1010",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "recordedtime": "2026-11-20T08:15:31Z",
        "correlationid": "productionorder/1010/100012345",
        "causationid": "0193a3f0-6c2e-7b1a-9d4e-2f5a6b7c8d90",
        "data": {
            "consumptionId": "C-981", "siteId": "1010", "orderId": "100012345", "operationId": "0010",
            "materialId": "RM-4711", "lotId": "L1187", "qty": {"value": "12.5", "uom": "KGM"},
            "occurredAt": "2026-11-20T08:15:30Z"
        }
    });
    serde_json::to_vec(&message).expect("serialisable")
}

fn validation(c: &mut Criterion) {
    let registry = Registry::builtin().expect("built-in contracts load");
    let bytes = small_event();
    assert!(
        registry.validate_bytes(&bytes).is_ok(),
        "benchmark event must be valid"
    );
    let mut invalid: Value = serde_json::from_slice(&bytes).expect("json");
    invalid["data"]["qty"] = json!({"value": 12.5, "uom": "KG"});
    let invalid = serde_json::to_vec(&invalid).expect("json");
    let mut group = c.benchmark_group("validate");
    group.throughput(Throughput::Elements(1));
    group.bench_function(format!("valid_event_{}_bytes", bytes.len()), |b| {
        b.iter(|| registry.validate_bytes(black_box(&bytes)).is_ok())
    });
    group.bench_function("invalid_event_all_violations", |b| {
        b.iter(|| registry.validate_bytes(black_box(&invalid)).is_err())
    });
    group.finish();
}

/// A 40-property closed object schema; `variant` changes a few properties.
fn forty_properties(variant: bool) -> Value {
    let mut properties = Map::new();
    for i in 0..40 {
        let schema = match i % 5 {
            0 => {
                json!({"type": "string", "maxLength": if variant && i == 10 { 20 } else { 40 }, "description": "text"})
            }
            1 => json!({"type": "integer", "minimum": 0, "description": "count"}),
            2 => {
                json!({"type": "string", "enum": if variant && i == 7 { json!(["A", "B"]) } else { json!(["A", "B", "C"]) }, "description": "code"})
            }
            3 => json!({"$ref": "#/definitions/quantity", "description": "amount"}),
            _ => json!({"type": "string", "format": "date-time", "description": "time"}),
        };
        properties.insert(format!("field{i:02}"), schema);
    }
    if variant {
        properties.insert(
            "added".into(),
            json!({"type": "string", "description": "new"}),
        );
    }
    json!({
        "type": "object", "additionalProperties": false,
        "required": ["field00", "field01", "field02"],
        "properties": properties,
        "definitions": {"quantity": {"type": "object", "additionalProperties": false, "required": ["value", "uom"],
            "properties": {"value": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]+)?$"}, "uom": {"type": "string", "enum": ["KGM", "LBR", "C62"]}}}}
    })
}

/// FULL check of `new` against `old`, as `takt contract check` runs it.
fn check_full(old: &Value, new: &Value) -> compat::Report {
    let earlier = [Version {
        label: "1.0",
        schema: old,
    }];
    compat::check(
        Mode::Full,
        &earlier,
        Version {
            label: "1.1",
            schema: new,
        },
        "/data",
    )
}

fn compatibility(c: &mut Criterion) {
    let (old, new) = (forty_properties(false), forty_properties(true));
    let breaks = check_full(&old, &new).breaks().count();
    assert_eq!(breaks, 3, "benchmark pair must have breaks to explain");
    c.bench_function("compat/full_40_properties_3_breaks", |b| {
        b.iter(|| check_full(black_box(&old), black_box(&new)))
    });
    c.bench_function("compat/full_40_properties_identical", |b| {
        b.iter(|| check_full(black_box(&old), black_box(&old)))
    });
}

criterion_group!(benches, validation, compatibility);
criterion_main!(benches);
