use std::fs;
use std::path::Path;

use chrono::NaiveDate;

use super::*;
use crate::catalog::check::{CheckOptions, Severity, check_dir};
use crate::catalog::tests::{acme, copy_of_acme};

const PLANT: PlantRequest<'static> = PlantRequest {
    plant: "3030",
    from: "1010",
};

fn scaffold(dir: &Path, request: PlantRequest<'_>) -> Result<Scaffold> {
    plant(&Deployment::load(dir).unwrap(), request)
}

fn file<'a>(scaffold: &'a Scaffold, path: &str) -> &'a ScaffoldFile {
    scaffold
        .files
        .iter()
        .find(|f| f.path == path)
        .unwrap_or_else(|| panic!("no {path}"))
}

/// Writes the overlay over the deployment in `dir`.
fn apply(scaffold: &Scaffold, dir: &Path) {
    for file in &scaffold.files {
        let path = dir.join(&file.path);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, &file.text).unwrap();
    }
}

fn check(dir: &Path) -> Vec<(Severity, &'static str, String)> {
    let options = CheckOptions {
        on: NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
        baseline: None,
    };
    check_dir(dir, &options)
        .unwrap()
        .findings
        .into_iter()
        .map(|f| (f.severity, f.rule, f.message))
        .collect()
}

#[test]
fn plant_3030_is_cloned_from_plant_1010_of_acme() {
    let scaffold = scaffold(&acme(), PLANT).unwrap();
    let listed: Vec<(Action, &str)> = scaffold
        .files
        .iter()
        .map(|f| (f.action, f.path.as_str()))
        .collect();
    let fixtures = "mappings/mes3030-goods-issue.fixtures";
    let mut expected = vec![(Action::New, "interfaces/mes3030-production.toml")];
    let cases = [
        "kilograms",
        "nothing-issued",
        "pieces-without-lot",
        "pounds-become-kilograms",
    ];
    let mut fixture_files: Vec<String> = cases
        .iter()
        .flat_map(|c| {
            let outcome = if *c == "nothing-issued" {
                "error.txt"
            } else {
                "expected.json"
            };
            [
                format!("{fixtures}/{c}.{outcome}"),
                format!("{fixtures}/{c}.input.json"),
            ]
        })
        .collect();
    fixture_files.sort();
    expected.extend(fixture_files.iter().map(|f| (Action::New, f.as_str())));
    expected.extend([
        (Action::New, "mappings/mes3030-goods-issue.jq"),
        (Action::New, "schemas/mes3030-goods-issue.schema.json"),
        (Action::New, "systems/mes-plant3030.toml"),
        (Action::Changed, "interfaces/erp-production-orders.toml"),
        (Action::Changed, "interfaces/qms-quality.toml"),
        (Action::Changed, "interfaces/stock-availability.toml"),
        (Action::Changed, "subscriptions/erp-goods-movements.toml"),
        (Action::Changed, "systems/3pl-northfreight.toml"),
        (Action::Changed, "systems/qms-saas.toml"),
        (Action::Changed, "systems/wms-central.toml"),
    ]);
    assert_eq!(listed, expected);

    let interface = &file(&scaffold, "interfaces/mes3030-production.toml").text;
    for wanted in [
        "name = \"mes3030-production\"",
        "owner = \"team-mes-3030\"",
        "producers = [\"mes-plant3030\"]",
        "consumers = [\"erp-central\", \"wms-central\", \"qms-saas\"]",
        "system_of_record = \"mes-plant3030\"",
        "runbooks/mes3030-postings",
        "depends_on = [\"erp-production-orders\"]",
        "# POST /v1/interfaces/mes3030-production/messages",
        "mapping = \"mappings/mes3030-goods-issue.jq\"",
        "per_second = 500",
    ] {
        assert!(interface.contains(wanted), "{wanted} not in\n{interface}");
    }
    let body = interface.lines().skip(2).collect::<Vec<_>>().join("\n");
    assert!(
        !body.contains("1010"),
        "only the header names the source plant: {interface}"
    );
    let system = &file(&scaffold, "systems/mes-plant3030.toml").text;
    assert!(
        system.contains("sites = [\"3030\"]\n") && !system.contains("sha256 ="),
        "{system}"
    );
    assert!(
        system.contains("# TODO: mes-plant3030 has no API key yet"),
        "{system}"
    );
    let qms = &file(&scaffold, "systems/qms-saas.toml").text;
    assert!(
        qms.contains("sites = [\"1010\", \"2020\", \"3030\"]"),
        "{qms}"
    );
    assert!(
        qms.contains("# Demo key (published in docs/configuration.md)"),
        "comments are kept: {qms}"
    );
    let orders = file(&scaffold, "interfaces/erp-production-orders.toml");
    assert_eq!(orders.notes, ["consumers += mes-plant3030"]);
    assert!(
        orders
            .text
            .contains("consumers = [\"mes-plant1010\", \"mes-plant2020\", \"mes-plant3030\"]")
    );
    // Its [sync] stays with plant 1010, and that is for a person to decide.
    assert!(
        orders.text.contains("sites = [\"1010\"]\ntimeout_ms"),
        "{}",
        orders.text
    );
    assert_eq!(scaffold.review.len(), 2, "{:?}", scaffold.review);
    assert!(
        scaffold.review[0].starts_with("systems/3pl-northfreight.toml acted for plant 1010 only"),
        "{:?}",
        scaffold.review
    );
    assert!(
        scaffold.review[1].contains("its [sync] calls mes-plant1010"),
        "{:?}",
        scaffold.review
    );
    let fixture = &file(&scaffold, &format!("{fixtures}/kilograms.input.json")).text;
    assert!(fixture.contains("\"WERKS\": \"3030\""), "{fixture}");
}

#[test]
fn the_overlay_passes_takt_check_once_the_key_is_added() {
    let dir = copy_of_acme();
    let scaffold = scaffold(dir.path(), PLANT).unwrap();
    apply(&scaffold, dir.path());
    let findings = check(dir.path());
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert_eq!(
        (findings[0].0, findings[0].1),
        (Severity::Warning, "credentials")
    );
    let system = dir.path().join("systems/mes-plant3030.toml");
    let text = fs::read_to_string(&system).unwrap();
    let key = "[[credentials]]\nkind = \"api_key\"\nid = \"mes-plant3030-2026-12\"\nsha256 = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"\n";
    fs::write(&system, format!("{text}{key}")).unwrap();
    assert_eq!(check(dir.path()), Vec::new());
}

#[test]
fn addresses_of_cloned_connectors_become_placeholders_that_check_refuses() {
    let dir = copy_of_acme();
    let subscription = "name = \"mes1010-quality-holds\"\ndescription = \"Quality holds for the MES of plant 1010\"\nowner = \"team-mes-1010\"\ndestination = \"mes-plant1010\"\ncontracts = [\"mfg.qualityhold.place.v1\"]\nsites = [\"1010\"]\n\n[connector]\nkind = \"http\"\nurl = \"http://10.10.1.5:8443/mes/holds/{id}\"\nauth = { kind = \"bearer\", token_env = \"MES1010_TOKEN\" }\n";
    fs::write(
        dir.path().join("subscriptions/mes1010-quality-holds.toml"),
        subscription,
    )
    .unwrap();
    let scaffold = scaffold(dir.path(), PLANT).unwrap();
    let clone = file(&scaffold, "subscriptions/mes3030-quality-holds.toml");
    assert!(
        clone
            .text
            .contains("url = \"http://todo.invalid/mes/holds/{id}\""),
        "{}",
        clone.text
    );
    assert!(
        clone.text.contains("token_env = \"MES3030_TOKEN\""),
        "{}",
        clone.text
    );
    assert!(
        clone.text.contains("destination = \"mes-plant3030\""),
        "{}",
        clone.text
    );
    assert!(clone.text.contains("# TODO: set connector.url: it points at todo.invalid until you do (was http://10.10.1.5:8443/mes/holds/{id})"), "{}", clone.text);
    assert_eq!(clone.todos, 1);
    apply(&scaffold, dir.path());
    let findings = check(dir.path());
    let placeholder: Vec<_> = findings.iter().filter(|f| f.1 == "placeholder").collect();
    assert_eq!(placeholder.len(), 1, "{findings:#?}");
    assert_eq!(placeholder[0].0, Severity::Error);
}

#[test]
fn scaffolds_that_make_no_sense_are_refused() {
    let cases = [
        (
            PlantRequest {
                plant: "2020",
                from: "1010",
            },
            "plant 2020 is already in the deployment",
        ),
        (
            PlantRequest {
                plant: "3030",
                from: "4040",
            },
            "no system acts for plant 4040",
        ),
        (
            PlantRequest {
                plant: "1010",
                from: "1010",
            },
            "are the same",
        ),
        (
            PlantRequest {
                plant: "30 30",
                from: "1010",
            },
            "is not a plant code",
        ),
    ];
    for (request, expected) in cases {
        let error = scaffold(&acme(), request).unwrap_err().to_string();
        assert!(error.contains(expected), "{expected}: {error}");
    }
}
