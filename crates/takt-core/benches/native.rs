//! Benchmarks of the native-payload path: schema check, jq mapping with exact
//! unit conversion, envelope, and canonical validation.
//!
//! Run with `cargo bench -p takt-core --bench native`; figures are recorded in
//! docs/performance.md. The mapping and schema are the load generator's
//! (`bench/deployment`).

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use takt_core::deployment::Deployment;
use takt_core::mapping::MapEnv;
use takt_core::native::{EnvelopeFacts, NativeInterface};
use takt_core::registry::Registry;

// The allocator `takt serve` runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A plant-1010 goods issue in SAP field names, posted in pounds.
const PAYLOAD: &str = r#"{"MBLNR":"4900012345","WERKS":"1010","AUFNR":"100012345","VORNR":"0010","MATNR":"RM-4711","CHARG":"L2026-1187","MENGE":"25.5","MEINS":"LB","LGORT":"0001","BUDAT":"2026-11-26T08:00:00Z"}"#;

fn native(c: &mut Criterion) {
    let registry = Registry::builtin().expect("built-in contracts load");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bench/deployment");
    let deployment = Deployment::load(&dir).expect("bench deployment loads");
    let source = &deployment.natives["bench-production"];
    let interface = NativeInterface::compile(source).expect("mapping compiles");
    let env = MapEnv {
        units: registry.units(),
        on: chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date"),
    };
    let facts = EnvelopeFacts {
        principal: "mes-bench",
        id: "0193a3f0-6c2e-7b1a-9d4e-2f5a6b7c8d90".into(),
        now: "2026-11-26T08:00:01.000Z".into(),
        traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into(),
    };
    let payload: Value = serde_json::from_str(PAYLOAD).expect("json");
    let mapped = interface
        .to_canonical(&payload, &registry, env, &facts)
        .expect("the payload maps");
    let canonical = serde_json::to_vec(&mapped.message).expect("json");
    assert!(
        registry.validate_bytes(&canonical).is_ok(),
        "the mapped message must be valid"
    );

    let mut group = c.benchmark_group("native");
    group.throughput(Throughput::Elements(1));
    group.bench_function("goods_issue_lb_to_kgm", |b| {
        b.iter(|| {
            let payload: Value = serde_json::from_str(black_box(PAYLOAD)).expect("json");
            interface
                .to_canonical(&payload, &registry, env, &facts)
                .expect("maps")
        })
    });
    group.bench_function("goods_issue_then_validate", |b| {
        b.iter(|| {
            let payload: Value = serde_json::from_str(black_box(PAYLOAD)).expect("json");
            let mapped = interface
                .to_canonical(&payload, &registry, env, &facts)
                .expect("maps");
            registry.validate(mapped.message).is_ok()
        })
    });
    group.finish();
}

criterion_group!(benches, native);
criterion_main!(benches);
