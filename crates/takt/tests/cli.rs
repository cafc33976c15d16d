//! The `takt` binary, end to end: real files, real exit codes, real output.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn takt(args: &[&str]) -> Output {
    takt_in(&root(), args, None)
}

fn takt_in(dir: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_takt"))
        .args(args)
        .current_dir(dir)
        .env_remove("TAKT_CONTRACTS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.unwrap_or_default().as_bytes())
        .unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn json_of(output: &Output) -> Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

fn examples(kind: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in fs::read_dir(root().join("contracts")).unwrap() {
        let dir = entry.unwrap().path().join("examples");
        if dir.is_dir() {
            for file in fs::read_dir(dir).unwrap() {
                let path = file.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().to_string();
                if name.starts_with(kind) && name.ends_with(".json") {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    found.sort();
    found
}

#[test]
fn readme_main_command_validates_every_shipped_valid_example() {
    let files = examples("valid-");
    let mut args = vec!["contract", "validate"];
    args.extend(files.iter().map(String::as_str));
    let output = takt(&args);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert!(stdout(&output).ends_with(&format!("{} valid, 0 invalid\n", files.len())));
}

#[test]
fn invalid_examples_fail_with_pointer_and_rule_in_json() {
    let files = examples("invalid-");
    let mut args = vec!["--json", "contract", "validate"];
    args.extend(files.iter().map(String::as_str));
    let output = takt(&args);
    assert_eq!(output.status.code(), Some(1));
    let report = json_of(&output);
    assert_eq!(report["valid"], 0);
    assert_eq!(report["invalid"], files.len());
    let float = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| {
            r["source"]
                .as_str()
                .unwrap()
                .ends_with("mfg.material.consumed.v1/examples/invalid-float-quantity.json")
        })
        .unwrap();
    assert_eq!(
        float["violations"],
        json!([{"pointer": "/data/qty/value", "rule": "type", "message": "12.5 is not of type \"string\""}])
    );
}

#[test]
fn batches_ndjson_and_stdin_are_read_message_by_message() {
    let dir = tempfile::tempdir().unwrap();
    let valid = fs::read_to_string(
        root().join("contracts/mfg.material.consumed.v1/examples/valid-lot-managed.json"),
    )
    .unwrap();
    let message: Value = serde_json::from_str(&valid).unwrap();
    let mut broken = message.clone();
    broken["siteid"] = json!("2020");
    let ndjson = format!("{}\n\n{}\n{{oops\n", message, broken);
    fs::write(dir.path().join("day.ndjson"), &ndjson).unwrap();
    fs::write(
        dir.path().join("batch.json"),
        json!([message, broken]).to_string(),
    )
    .unwrap();
    let output = takt_in(
        dir.path(),
        &[
            "--json",
            "contract",
            "validate",
            "day.ndjson",
            "batch.json",
            "-",
        ],
        Some(&valid),
    );
    assert_eq!(output.status.code(), Some(1));
    let report = json_of(&output);
    let summary: Vec<(String, bool)> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["source"].as_str().unwrap().to_owned(),
                r["valid"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("day.ndjson:1".to_owned(), true),
            ("day.ndjson:3".to_owned(), false),
            ("day.ndjson:4".to_owned(), false),
            ("batch.json#0".to_owned(), true),
            ("batch.json#1".to_owned(), false),
            ("-".to_owned(), true),
        ]
    );
    assert_eq!(report["results"][1]["violations"][0]["rule"], "siteid");
    assert_eq!(report["results"][2]["violations"][0]["rule"], "json");
}

#[test]
fn check_explains_each_break_and_sets_the_exit_code() {
    let dir = tempfile::tempdir().unwrap();
    let v10 = fs::read_to_string(root().join("contracts/mfg.material.consumed.v1/1.0.schema.json"))
        .unwrap();
    let mut schema: Value = serde_json::from_str(&v10).unwrap();
    schema["$id"] = json!("urn:takt:schema:mfg.material.consumed.v1:1.2");
    schema["definitions"]["quantity"]["properties"]["uom"]["enum"] = json!(["KGM", "C62"]);
    fs::write(dir.path().join("1.2.schema.json"), schema.to_string()).unwrap();

    let output = takt_in(
        dir.path(),
        &[
            "contract",
            "check",
            "mfg.material.consumed.v1",
            "1.2.schema.json",
            "--mode",
            "backward_transitive",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(
        text.starts_with("1.2 against 1.0, 1.1 under BACKWARD_TRANSITIVE: INCOMPATIBLE\n"),
        "{text}"
    );
    assert!(text.contains("  break: /data/qty/uom: enum value \"LBR\" removed — messages that producers on 1.0 still send would be rejected by consumers on 1.2 (BACKWARD), e.g. /data/qty/uom = \"LBR\"\n"), "{text}");
    // 1.1 added equipmentId to a closed model; 1.2 (built from 1.0) drops it again.
    assert!(text.contains("  break: /data/equipmentId: property removed from a closed model (additionalProperties: false) — messages that producers on 1.1 still send would be rejected by consumers on 1.2 (BACKWARD)"), "{text}");

    let output = takt(&[
        "--json",
        "contract",
        "check",
        "contracts/mfg.material.consumed.v1",
        "contracts/mfg.material.consumed.v1/1.1.schema.json",
    ]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let report = json_of(&output);
    assert_eq!(
        (report["mode"].as_str(), report["compatible"].as_bool()),
        (Some("backward_transitive"), Some(true))
    );
    assert_eq!(
        report["comparisons"][0]["changes"][0]["rule"],
        "property_added_to_closed_model"
    );

    let output = takt(&[
        "contract",
        "check",
        "nothing-here",
        "contracts/mfg.material.consumed.v1/1.1.schema.json",
    ]);
    assert_eq!(output.status.code(), Some(3));
    let output = takt(&["contract", "check", "a", "b", "--mode", "sideways"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn lint_passes_on_takts_contracts_and_fails_on_a_bad_directory() {
    let output = takt(&["contract", "lint", "contracts"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(stdout(&output), "contracts: 0 error(s), 0 warning(s)\n");

    let dir = tempfile::tempdir().unwrap();
    let schema = json!({"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:takt:schema:acme.scrap.book.v1:1.0", "type": "object"});
    fs::create_dir_all(dir.path().join("acme.scrap.book.v1")).unwrap();
    fs::write(
        dir.path().join("acme.scrap.book.v1/1.0.schema.json"),
        schema.to_string(),
    )
    .unwrap();
    let output = takt_in(dir.path(), &["--json", "contract", "lint", "."], None);
    assert_eq!(output.status.code(), Some(1));
    let report = json_of(&output);
    let rules: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    for rule in ["naming", "description", "envelope", "examples", "metadata"] {
        assert!(rules.contains(&rule), "{rule} not in {rules:?}");
    }
}

#[test]
fn deployment_contracts_load_from_flag_and_environment() {
    let dir = tempfile::tempdir().unwrap();
    let units = "[[material]]\nmaterial = \"CAP-200\"\nfrom = \"C62\"\nto = \"KGM\"\nfactor = \"12/5\"\nvalid_from = \"2026-01-01\"\n";
    fs::write(dir.path().join("units.toml"), units).unwrap();
    let path = dir.path().display().to_string();
    let args = [
        "--json",
        "units",
        "convert",
        "10",
        "C62",
        "LBR",
        "--material",
        "CAP-200",
        "--on",
        "2026-06-01",
    ];
    let with_flag: Vec<&str> = ["--contracts", path.as_str()]
        .into_iter()
        .chain(args)
        .collect();
    let output = takt(&with_flag);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    let result = json_of(&output);
    assert_eq!(result["result"], "52.910943");
    assert_eq!(result["exact_fraction"], "2400000000/45359237");
    assert_eq!(result["steps"].as_array().unwrap().len(), 2);
    assert_eq!(
        result["steps"][0],
        json!({"from": "C62", "to": "KGM", "factor": "12/5", "source": "material", "material": "CAP-200", "valid_from": "2026-01-01", "valid_to": null})
    );

    let output = Command::new(env!("CARGO_BIN_EXE_takt"))
        .args(args)
        .env("TAKT_CONTRACTS", &path)
        .output()
        .unwrap();
    assert_eq!(json_of(&output)["result"], "52.910943");

    let output = takt(&[
        "--contracts",
        &path,
        "units",
        "convert",
        "10",
        "C62",
        "KGM",
        "--material",
        "CAP-200",
        "--on",
        "2025-06-01",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let error = String::from_utf8(output.stderr).unwrap();
    assert!(error.contains("material CAP-200 has no chain of conversions from count to mass valid on 2025-06-01; it has: C62→KGM valid from 2026-01-01"), "{error}");
}

#[test]
fn units_convert_is_exact_and_rejects_what_it_cannot_know() {
    let output = takt(&["units", "convert", "12.5", "LBR", "KGM"]);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(
        stdout(&output),
        "12.5 LBR = 5.669905 KGM\n  exact 5.669904625 KGM, rounded half_even to 6 places\n  1 LBR = 45359237/100000000 KGM (global)\n"
    );
    let output = takt(&["--json", "units", "convert", "1", "KG", "KGM"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(json_of(&output)["error"]["code"], "unknown_unit");
    let output = takt(&["units", "convert", "1e3", "KGM", "GRM"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8(output.stderr)
            .unwrap()
            .contains("\"1e3\" is not a decimal number")
    );
    let output = takt(&["--json", "units", "list"]);
    let units = json_of(&output);
    let codes: Vec<&str> = units
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"LBR") && codes.contains(&"C62"));
}

#[test]
fn list_and_show_describe_contracts() {
    let output = takt(&["--json", "contract", "list"]);
    let list = json_of(&output);
    assert_eq!(list.as_array().unwrap().len(), 21);
    let consumed = list
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["type"] == "mfg.material.consumed.v1")
        .unwrap();
    assert_eq!(consumed["versions"], json!(["1.0", "1.1"]));
    let output = takt(&[
        "--json",
        "contract",
        "show",
        "mfg.material.consumed.v1",
        "--version",
        "1.0",
    ]);
    let shown = json_of(&output);
    assert_eq!(shown["id"], "urn:takt:schema:mfg.material.consumed.v1:1.0");
    assert_eq!(shown["ordering_key"], json!(["/siteId", "/orderId"]));
    let output = takt(&["--json", "contract", "show", "mfg.nothing.happened.v1"]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(json_of(&output)["error"]["code"], "unknown_contract");
}

/// The official AsyncAPI 3.0.0 JSON Schema from the `@asyncapi/specs` npm
/// package, installed on first use from `tools/specs/package-lock.json`.
fn official_asyncapi_schema() -> Value {
    let tools = root().join("tools/specs");
    let schema = tools.join("node_modules/@asyncapi/specs/schemas/3.0.0.json");
    if !schema.exists() {
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--prefix"])
            .arg(&tools)
            .status()
            .expect("npm is needed to fetch the official schemas");
        assert!(status.success(), "npm ci in tools/specs failed");
    }
    serde_json::from_str(&fs::read_to_string(schema).unwrap()).unwrap()
}

#[test]
fn asyncapi_document_passes_the_official_schema() {
    let validator = jsonschema::validator_for(&official_asyncapi_schema()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = takt(&[
        "contract",
        "asyncapi",
        "--output",
        &dir.path().join("asyncapi.json").display().to_string(),
    ]);
    assert_eq!(output.status.code(), Some(0));
    let document: Value =
        serde_json::from_str(&fs::read_to_string(dir.path().join("asyncapi.json")).unwrap())
            .unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&document)
        .map(|e| format!("{}: {e}", e.instance_path().as_str()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    // The check is real: a broken document fails.
    let mut broken = document.clone();
    broken["operations"]["receive.mfg.material.consumed.v1"]["action"] = json!("publish");
    assert!(!validator.is_valid(&broken));
}

#[test]
fn rough_edges_are_handled() {
    // A reader that goes away is not a crash.
    let mut child = Command::new(env!("CARGO_BIN_EXE_takt"))
        .args(["contract", "asyncapi"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    // An empty input is a failure, not "0 invalid".
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("empty.json"), "[]").unwrap();
    let output = takt_in(
        dir.path(),
        &["--json", "contract", "validate", "empty.json"],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        json_of(&output)["results"][0]["violations"][0]["rule"],
        "empty"
    );

    // A published version cannot be changed in place.
    let v10 = fs::read_to_string(root().join("contracts/mfg.material.consumed.v1/1.0.schema.json"))
        .unwrap();
    fs::write(
        dir.path().join("1.0.schema.json"),
        v10.replace("Consumed quantity.", "Quantity consumed."),
    )
    .unwrap();
    let output = takt_in(
        dir.path(),
        &[
            "contract",
            "check",
            "mfg.material.consumed.v1",
            "1.0.schema.json",
        ],
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stdout(&output).contains("version 1.0 is already published with different content"),
        "{}",
        stdout(&output)
    );

    // Two different contracts are not versions of each other.
    let output = takt(&[
        "contract",
        "check",
        "mfg.inventory.moved.v1",
        "contracts/mfg.material.consumed.v1/1.1.schema.json",
    ]);
    assert_eq!(output.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&output.stderr).contains("compare versions of one contract"));

    // A malformed argument is a usage error; a missing file reports the io code.
    let output = takt(&[
        "contract",
        "show",
        "mfg.material.consumed.v1",
        "--version",
        "1",
    ]);
    assert_eq!(output.status.code(), Some(2));
    let output = takt(&["--json", "contract", "validate", "no-such-file.json"]);
    assert_eq!(output.status.code(), Some(3));
    assert_eq!(json_of(&output)["error"]["code"], "io");
}

#[test]
fn audit_verify_refuses_a_missing_database_and_reads_postgres_by_url() {
    let output = takt(&["audit", "verify", "--db", "/nonexistent/takt.db"]);
    assert_eq!(output.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&output.stderr)
            .contains("no database at /nonexistent/takt.db: nothing to verify")
    );
    let url = std::env::var("TAKT_TEST_POSTGRES")
        .unwrap_or_else(|_| "host=127.0.0.1 port=5432 user=postgres dbname=test".into());
    let output = takt(&["--json", "audit", "verify", "--postgres-url", &url]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(json_of(&output)["intact"], true);
}
