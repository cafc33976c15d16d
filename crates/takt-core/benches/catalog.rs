//! `takt check` on a generated deployment of 500 interfaces: 50 plants, each
//! with its MES, ten interfaces (one with a native mapping and 4 fixtures),
//! `depends_on` chains and a subscription to the ERP. The target is under
//! 2 s; figures are in docs/performance.md.
//!
//! Run with `cargo bench -p takt-core --bench catalog`. With
//! `TAKT_BENCH_CATALOG_DIR=/tmp/catalog500` the deployment is also written
//! there and kept, to time the binary: `time takt check /tmp/catalog500`.

use std::fmt::Write as _;
use std::fs;
use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use takt_core::catalog::check::{CheckOptions, Severity, check_dir};
use takt_core::catalog::scaffold::edit::replace_code;

// The allocator `takt` runs with.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PLANTS: usize = 50;
const INTERFACES_PER_PLANT: usize = 10;
const CONTRACTS: [&str; 5] = [
    "mfg.operation.completed.v1",
    "mfg.material.consumed.v1",
    "mfg.finishedgoods.received.v1",
    "mfg.equipment.downtime.started.v1",
    "mfg.equipment.downtime.ended.v1",
];

fn acme() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/acme")
}

fn write(root: &Path, relative: &str, text: &str) {
    let path = root.join(relative);
    fs::create_dir_all(path.parent().expect("a parent")).expect("directory");
    fs::write(path, text).expect("file written");
}

/// Copies acme's file `relative`, plant 1010 becoming `code`.
fn copy_for(root: &Path, relative: &str, code: &str) {
    let text = fs::read_to_string(acme().join(relative)).expect("acme file");
    write(
        root,
        &replace_code(relative, "1010", code),
        &replace_code(&text, "1010", code),
    );
}

fn system(root: &Path, name: &str, sites: &str, key: usize) {
    let text = format!(
        "name = \"{name}\"\ndescription = \"{name}\"\nowner = \"team-{name}\"\nsites = [{sites}]\n\n[[credentials]]\nkind = \"api_key\"\nid = \"{name}-key\"\nsha256 = \"{key:064x}\"\n"
    );
    write(root, &format!("systems/{name}.toml"), &text);
}

fn interface(code: &str, index: usize) -> String {
    let name = format!("mes{code}-flow{index:02}");
    let mut text = format!(
        "name = \"{name}\"\ndescription = \"Shop-floor facts of plant {code}, flow {index}\"\nowner = \"team-mes-{code}\"\npattern = \"event\"\nproducers = [\"mes-plant{code}\"]\nconsumers = [\"erp-central\"]\ncontracts = [\"{}\", \"{}\"]\ncapability = \"production execution\"\ntier = {}\nlatency = \"near_real_time\"\nsensitivity = \"internal\"\nsystem_of_record = \"mes-plant{code}\"\nfallback_procedure = \"book it in the ERP by hand\"\n",
        CONTRACTS[index % CONTRACTS.len()],
        CONTRACTS[(index + 1) % CONTRACTS.len()],
        index % 4 + 1,
    );
    if index > 0 {
        let _ = writeln!(text, "depends_on = [\"mes{code}-flow{:02}\"]", index - 1);
    }
    let _ = write!(text, "\n[rate_limit]\nper_second = 500\nburst = 1000\n");
    if index == 0 {
        let _ = write!(
            text,
            "\n[native]\ncontract = \"mfg.material.consumed.v1\"\nmapping = \"mappings/mes{code}-goods-issue.jq\"\nschema = \"schemas/mes{code}-goods-issue.schema.json\"\n"
        );
    }
    text
}

fn subscription(code: &str) -> String {
    format!(
        "name = \"erp-{code}-goods-movements\"\ndescription = \"Consumption of plant {code} as ERP goods movements\"\nowner = \"team-erp\"\ndestination = \"erp-central\"\ncontracts = [\"mfg.material.consumed.v1\"]\nsites = [\"{code}\"]\nmapping = \"mappings/erp-goods-movement.jq\"\n\n[connector]\nkind = \"http\"\nurl = \"http://127.0.0.1:9100/erp/goods-movements\"\n"
    )
}

/// Writes the 500-interface deployment into `root`.
fn generate(root: &Path) {
    system(root, "erp-central", "\"*\"", 1);
    copy_for(root, "mappings/erp-goods-movement.jq", "1010");
    for entry in
        fs::read_dir(acme().join("mappings/erp-goods-movement.fixtures")).expect("fixtures")
    {
        let name = entry
            .expect("entry")
            .file_name()
            .to_string_lossy()
            .into_owned();
        copy_for(
            root,
            &format!("mappings/erp-goods-movement.fixtures/{name}"),
            "1010",
        );
    }
    for plant in 0..PLANTS {
        let code = format!("{}", 3000 + plant * 10);
        system(
            root,
            &format!("mes-plant{code}"),
            &format!("\"{code}\""),
            plant + 2,
        );
        copy_for(root, "mappings/mes1010-goods-issue.jq", &code);
        copy_for(root, "schemas/mes1010-goods-issue.schema.json", &code);
        for entry in
            fs::read_dir(acme().join("mappings/mes1010-goods-issue.fixtures")).expect("fixtures")
        {
            let name = entry
                .expect("entry")
                .file_name()
                .to_string_lossy()
                .into_owned();
            copy_for(
                root,
                &format!("mappings/mes1010-goods-issue.fixtures/{name}"),
                &code,
            );
        }
        for index in 0..INTERFACES_PER_PLANT {
            let text = interface(&code, index);
            write(
                root,
                &format!("interfaces/mes{code}-flow{index:02}.toml"),
                &text,
            );
        }
        write(
            root,
            &format!("subscriptions/erp-{code}-goods-movements.toml"),
            &subscription(&code),
        );
    }
}

fn catalog(c: &mut Criterion) {
    let kept = std::env::var_os("TAKT_BENCH_CATALOG_DIR");
    let temporary = tempfile::tempdir().expect("a temporary directory");
    let root = kept.as_deref().map_or(temporary.path(), Path::new);
    generate(root);
    let options = CheckOptions {
        on: chrono::NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date"),
        baseline: None,
    };
    let report = check_dir(root, &options).expect("the deployment is checked");
    assert_eq!(report.counts.interfaces, PLANTS * INTERFACES_PER_PLANT);
    assert_eq!(report.count(Severity::Error), 0, "{:#?}", report.findings);
    assert_eq!(report.counts.fixtures, PLANTS * 4 + 3);

    let mut group = c.benchmark_group("check");
    group.sample_size(10);
    group.bench_function("500_interfaces", |b| {
        b.iter(|| black_box(check_dir(root, &options).expect("checked")));
    });
    group.finish();
}

criterion_group!(benches, catalog);
criterion_main!(benches);
