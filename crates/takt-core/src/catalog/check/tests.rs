use std::fs;
use std::path::Path;

use serde_json::{Value, json};

use super::*;
use crate::catalog::tests::{acme, copy_of_acme, repository};
use crate::registry::files;

fn options() -> CheckOptions {
    CheckOptions {
        on: NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        baseline: None,
    }
}

fn check(dir: &Path) -> CheckReport {
    check_dir(dir, &options()).unwrap()
}

fn edit(dir: &Path, relative: &str, change: impl FnOnce(String) -> String) {
    let path = dir.join(relative);
    let text = fs::read_to_string(&path).unwrap();
    fs::write(&path, change(text)).unwrap();
}

/// (severity, rule, file relative to `dir`, field) of every finding.
fn summary(
    dir: &Path,
    report: &CheckReport,
) -> Vec<(Severity, &'static str, String, Option<String>)> {
    report
        .findings
        .iter()
        .map(|f| {
            let file = f
                .file
                .strip_prefix(&format!("{}/", dir.display()))
                .unwrap_or(&f.file);
            (f.severity, f.rule, file.to_owned(), f.field.clone())
        })
        .collect()
}

#[test]
fn acme_passes_with_every_fixture_run() {
    let report = check(&acme());
    assert_eq!(report.findings, Vec::new());
    assert_eq!(
        report.counts,
        Counts {
            systems: 6,
            interfaces: 8,
            subscriptions: 1,
            mappings: 6,
            fixtures: 15,
            contract_versions: 0,
        }
    );
}

#[test]
fn every_governance_rule_is_reported_in_one_run_with_file_and_field() {
    let dir = copy_of_acme();
    let root = dir.path();
    edit(root, "interfaces/qms-quality.toml", |t| {
        let start = t.find("fallback_procedure").unwrap();
        let end = start + t[start..].find('\n').unwrap() + 1;
        format!("{}{}", &t[..start], &t[end..]).replace("owner = \"team-quality\"", "owner = \" \"")
    });
    edit(root, "interfaces/wms-inventory.toml", |t| {
        t.replace(
            "tier = 2",
            "state = \"deprecated\"\ndeprecated_on = 2026-12-01\nsunset_on = 2026-11-20",
        )
    });
    edit(root, "interfaces/erp-production-orders.toml", |t| {
        t.replace(
            "tier = 1",
            "tier = 1\ndepends_on = [\"mes1010-production\", \"wms-inventory\"]",
        )
        .replace("http://127.0.0.1:9110", "http://todo.invalid")
    });
    edit(root, "interfaces/stock-availability.toml", |t| {
        t.replace("tier = 3\n", "")
            .replace("erp-central\"\ntimeout", "erp-x\"\ntimeout")
    });
    fs::write(
        root.join("systems/mes-plant9090.toml"),
        "name = \"mes-plant9090\"\ndescription = \"x\"\nowner = \"team-x\"\nsites = [\"9090\"]\n[[credentials]]\nkind = \"api_key\"\nid = \"k\"\nsha256 = \"0000000000000000000000000000000000000000000000000000000000000000\"\n",
    )
    .unwrap();
    let contract = root.join("contracts/acme.toolwear.measured.v1");
    fs::create_dir_all(&contract).unwrap();
    let schema = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:takt:schema:acme.toolwear.measured.v1:1.0", "type": "object"});
    fs::write(contract.join("1.0.schema.json"), schema.to_string()).unwrap();

    let report = check(root);
    let found = summary(root, &report);
    let has = |severity, rule, file: &str, field: Option<&str>| {
        found
            .iter()
            .any(|f| f.0 == severity && f.1 == rule && f.2 == file && f.3.as_deref() == field)
    };
    use Severity::{Error, Warning};
    let expected = [
        (Error, "owner", "interfaces/qms-quality.toml", Some("owner")),
        (
            Error,
            "fallback",
            "interfaces/qms-quality.toml",
            Some("fallback_procedure"),
        ),
        (
            Error,
            "config",
            "interfaces/wms-inventory.toml",
            Some("sunset_on"),
        ),
        (
            Warning,
            "lifecycle",
            "interfaces/wms-inventory.toml",
            Some("state"),
        ),
        (
            Warning,
            "governance",
            "interfaces/wms-inventory.toml",
            Some("tier"),
        ),
        (
            Warning,
            "lifecycle",
            "interfaces/erp-shipping.toml",
            Some("depends_on"),
        ),
        (
            Warning,
            "depends_on",
            "interfaces/erp-production-orders.toml",
            Some("depends_on"),
        ),
        (
            Error,
            "placeholder",
            "interfaces/erp-production-orders.toml",
            Some("sync.connector.url"),
        ),
        (
            Error,
            "reference",
            "interfaces/stock-availability.toml",
            Some("sync.destination"),
        ),
        (
            Warning,
            "governance",
            "interfaces/stock-availability.toml",
            Some("tier"),
        ),
        (
            Warning,
            "credentials",
            "systems/mes-plant9090.toml",
            Some("credentials"),
        ),
        (
            Warning,
            "orphan",
            "contracts/acme.toolwear.measured.v1/1.0.schema.json",
            None,
        ),
    ];
    for (severity, rule, file, field) in expected {
        assert!(
            has(severity, rule, file, field),
            "{rule} {file} {field:?} not in {found:#?}"
        );
    }
    assert_eq!(report.count(Error), 5, "{found:#?}");
    let cycle = report
        .findings
        .iter()
        .find(|f| f.rule == "depends_on")
        .unwrap();
    assert!(
        cycle
            .message
            .contains("erp-production-orders → mes1010-production → erp-production-orders"),
        "{}",
        cycle.message
    );
}

#[test]
fn every_file_that_does_not_parse_is_reported_with_its_line_and_column() {
    let dir = copy_of_acme();
    let root = dir.path();
    edit(root, "systems/qms-saas.toml", |t| {
        t.replace("owner =", "ownr =")
    });
    edit(root, "interfaces/wms-inventory.toml", |t| {
        t.replace("tier = 2", "tier = 7")
    });
    edit(root, "takt.toml", |t| {
        t.replace("max_batch_events", "max_batch_event")
    });
    let report = check(root);
    let placed: Vec<(String, Option<usize>, Option<usize>)> = report
        .findings
        .iter()
        .map(|f| {
            (
                f.file.rsplit('/').next().unwrap().to_owned(),
                f.line,
                f.column,
            )
        })
        .collect();
    assert_eq!(
        placed,
        [
            ("wms-inventory.toml".to_owned(), Some(14), Some(8)),
            ("qms-saas.toml".to_owned(), Some(3), Some(1)),
            ("takt.toml".to_owned(), Some(8), Some(1)),
        ]
    );
    assert!(report.findings.iter().all(|f| f.rule == "syntax"));
    assert!(
        report.findings[0].message.contains("tier 7 is not 1"),
        "{:?}",
        report.findings[0]
    );
    assert!(report.findings[1].message.contains("unknown field `ownr`"));
}

#[test]
fn fixtures_that_fail_name_the_case_and_the_difference() {
    let dir = copy_of_acme();
    let root = dir.path();
    let fixtures = "mappings/erp-goods-movement.fixtures";
    edit(
        root,
        &format!("{fixtures}/lot-managed.expected.json"),
        |t| t.replace("\"MEINS\": \"KG\"", "\"MEINS\": \"KGM\""),
    );
    edit(
        root,
        &format!("{fixtures}/unit-the-erp-lacks.error.txt"),
        |_| "no unit for TNE".into(),
    );
    fs::write(root.join(format!("{fixtures}/stray.expect.json")), "{}").unwrap();
    fs::write(
        root.join(format!("{fixtures}/broken.input.json")),
        "{\n  \"a\": ,\n}",
    )
    .unwrap();
    fs::write(root.join(format!("{fixtures}/broken.expected.json")), "{}").unwrap();
    fs::remove_dir_all(root.join("mappings/erp-availability-request.fixtures")).unwrap();
    let report = check(root);
    let messages: Vec<String> = report
        .findings
        .iter()
        .map(|f| {
            let file = f.file.rsplit('/').next().unwrap();
            format!(
                "{:?} {} {file}:{:?}: {}",
                f.severity, f.rule, f.line, f.message
            )
        })
        .collect();
    let expected = [
        "Error fixture lot-managed.expected.json:None: mappings/erp-goods-movement.jq on case lot-managed: output differs: /MEINS: expected \"KGM\", got \"KG\"",
        "Error fixture unit-the-erp-lacks.error.txt:None: mappings/erp-goods-movement.jq on case unit-the-erp-lacks: the mapping failed with \"no ERP unit for TNE\", which does not contain \"no unit for TNE\"",
        "Error fixture stray.expect.json:None: stray.expect.json is not a fixture file",
        "Error fixture broken.input.json:Some(2):",
        "Warning fixture erp-availability-request.jq:None: no fixtures: add mappings/erp-availability-request.fixtures/",
    ];
    for wanted in expected {
        assert!(
            messages.iter().any(|m| m.starts_with(wanted)),
            "{wanted}\nnot in {messages:#?}"
        );
    }
    assert_eq!(messages.len(), 5, "{messages:#?}");
}

/// A copy of acme whose contracts directory holds `versions` of
/// `mfg.material.consumed.v1`: (minor, schema changed from 1.1 by `change`).
/// A change to a schema.
type Change = fn(&mut Value);

fn with_consumed_versions(root: &Path, versions: &[(u32, Change)]) {
    let v11 = repository().join("contracts/mfg.material.consumed.v1/1.1.schema.json");
    let v11: Value = serde_json::from_str(&fs::read_to_string(v11).unwrap()).unwrap();
    let dir = root.join("contracts/mfg.material.consumed.v1");
    fs::create_dir_all(&dir).unwrap();
    for (minor, change) in versions {
        let mut schema = v11.clone();
        schema["$id"] = json!(format!(
            "urn:takt:schema:mfg.material.consumed.v1:1.{minor}"
        ));
        change(&mut schema);
        fs::write(
            dir.join(format!("1.{minor}.schema.json")),
            schema.to_string(),
        )
        .unwrap();
    }
}

fn add_shift(schema: &mut Value) {
    schema["properties"]["shiftId"] = json!({"type": "string", "description": "Shift."});
}

fn drop_pounds(schema: &mut Value) {
    let uoms = schema["definitions"]["quantity"]["properties"]["uom"]["enum"]
        .as_array_mut()
        .unwrap();
    uoms.retain(|u| u != "LBR");
}

#[test]
fn contract_versions_are_compatible_and_the_baseline_immutable() {
    let baseline_dir = tempfile::tempdir().unwrap();
    with_consumed_versions(baseline_dir.path(), &[(2, add_shift), (3, add_shift)]);
    let baseline = files::read_dir(&baseline_dir.path().join("contracts")).unwrap();

    let dir = copy_of_acme();
    let root = dir.path();
    // 1.2 is unchanged, 1.3 is gone, 1.4 is new and drops LBR.
    with_consumed_versions(root, &[(2, add_shift), (4, drop_pounds)]);
    let mut options = options();
    let without_baseline = check_dir(root, &options).unwrap();
    let rules: Vec<&str> = without_baseline.findings.iter().map(|f| f.rule).collect();
    assert!(rules.iter().all(|r| *r == "compatibility"), "{rules:?}");
    assert!(
        without_baseline
            .findings
            .iter()
            .any(|f| f.file.ends_with("1.4.schema.json")
                && f.message.contains("enum value \"LBR\" removed"))
    );
    assert_eq!(without_baseline.counts.contract_versions, 2);

    options.baseline = Some(baseline);
    let report = check_dir(root, &options).unwrap();
    let removed = report
        .findings
        .iter()
        .find(|f| f.rule == "baseline")
        .unwrap();
    assert!(
        removed
            .file
            .ends_with("contracts/mfg.material.consumed.v1/1.3.schema.json"),
        "{removed:?}"
    );
    assert!(
        removed
            .message
            .contains("mfg.material.consumed.v1 1.3 was published in the baseline")
    );

    // 1.2 changed in place.
    with_consumed_versions(root, &[(2, drop_pounds)]);
    let report = check_dir(root, &options).unwrap();
    let changed: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.rule == "baseline" && f.file.ends_with("1.2.schema.json"))
        .map(|f| f.message.as_str())
        .collect();
    assert!(
        changed[0].contains("mfg.material.consumed.v1 1.2 changed since the baseline"),
        "{changed:?}"
    );
    assert!(
        changed[0].contains("publish the change as 1.3"),
        "{changed:?}"
    );
    assert!(
        changed
            .iter()
            .any(|m| m.contains("against the baseline: /data/qty/uom: enum value \"LBR\" removed")),
        "{changed:?}"
    );
}
