//! `takt check`: output, exit codes, `--json`, `--deny-warnings` and a git baseline.

use std::fs;
use std::path::Path;
use std::process::Command;

use serde_json::json;

use crate::{copy_of_acme, json_of, stderr, stdout, takt, takt_in};

#[test]
fn check_passes_on_acme_and_its_json_counts_what_it_checked() {
    let output = takt(&["check", "examples/acme"]);
    assert_eq!(output.status.code(), Some(0), "{}", stdout(&output));
    assert_eq!(
        stdout(&output),
        "examples/acme: 8 interfaces, 6 systems, 1 subscriptions, 6 mappings with 15 fixtures, 0 contract versions: 0 error(s), 0 warning(s)\n"
    );
    let output = takt(&["--json", "check", "examples/acme", "--deny-warnings"]);
    assert_eq!(output.status.code(), Some(0));
    let report = json_of(&output);
    assert_eq!(
        (
            report["passed"].clone(),
            report["errors"].clone(),
            report["findings"].clone()
        ),
        (json!(true), json!(0), json!([]))
    );
    assert_eq!(report["counts"]["fixtures"], 15);
}

#[test]
fn findings_name_file_line_field_and_set_the_exit_code() {
    let (tmp, acme) = copy_of_acme();
    let edit = |relative: &str, from: &str, to: &str| {
        let path = acme.join(relative);
        let text = fs::read_to_string(&path).unwrap();
        assert!(text.contains(from), "{relative}: {from}");
        fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    edit(
        "interfaces/qms-quality.toml",
        "fallback_procedure",
        "# fallback_procedure",
    );
    edit("interfaces/wms-inventory.toml", "tier = 2\n", "");
    let output = takt_in(tmp.path(), &["check", "acme"], "");
    assert_eq!(output.status.code(), Some(1), "{}", stdout(&output));
    let text = stdout(&output);
    assert!(text.contains("error[fallback] acme/interfaces/qms-quality.toml: field `fallback_procedure`: a tier-1 interface needs a fallback procedure"), "{text}");
    assert!(
        text.contains(
            "warning[governance] acme/interfaces/wms-inventory.toml: field `tier`: missing"
        ),
        "{text}"
    );
    assert!(text.ends_with(": 1 error(s), 1 warning(s)\n"), "{text}");

    // Warnings alone pass, unless they are denied.
    edit(
        "interfaces/qms-quality.toml",
        "# fallback_procedure",
        "fallback_procedure",
    );
    assert_eq!(
        takt_in(tmp.path(), &["check", "acme"], "").status.code(),
        Some(0)
    );
    let denied = takt_in(
        tmp.path(),
        &["--json", "check", "acme", "--deny-warnings"],
        "",
    );
    assert_eq!(denied.status.code(), Some(1));
    assert_eq!(json_of(&denied)["passed"], false);

    // A file that does not parse is placed by line and column.
    edit("systems/qms-saas.toml", "owner =", "ownr =");
    let output = takt_in(tmp.path(), &["--json", "check", "acme"], "");
    assert_eq!(output.status.code(), Some(1));
    let finding = &json_of(&output)["findings"][0];
    assert_eq!(
        (
            finding["rule"].clone(),
            finding["file"].clone(),
            finding["line"].clone(),
            finding["column"].clone()
        ),
        (
            json!("syntax"),
            json!("acme/systems/qms-saas.toml"),
            json!(3),
            json!(1)
        )
    );
    let text = stdout(&takt_in(tmp.path(), &["check", "acme"], ""));
    assert!(
        text.starts_with("error[syntax] acme/systems/qms-saas.toml:3:1: unknown field `ownr`"),
        "{text}"
    );

    // Usage and could-not-run.
    assert_eq!(takt(&["check", "nowhere"]).status.code(), Some(3));
    let both = takt(&[
        "check",
        "examples/acme",
        "--baseline",
        "x",
        "--baseline-git",
        "HEAD",
    ]);
    assert_eq!(both.status.code(), Some(2));
}

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args([
            "-c",
            "user.name=takt",
            "-c",
            "user.email=takt@example.com",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        status.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&status.stderr)
    );
}

/// Writes 1.2 of mfg.material.consumed.v1 into the deployment: 1.1 with a
/// new property, or with LBR dropped from the units.
fn write_v12(acme: &Path, drop_pounds: bool) {
    let v11 = crate::root().join("contracts/mfg.material.consumed.v1/1.1.schema.json");
    let mut schema: serde_json::Value =
        serde_json::from_str(&fs::read_to_string(v11).unwrap()).unwrap();
    schema["$id"] = json!("urn:takt:schema:mfg.material.consumed.v1:1.2");
    schema["properties"]["shiftId"] = json!({"type": "string", "description": "Shift."});
    if drop_pounds {
        let uoms = schema["definitions"]["quantity"]["properties"]["uom"]["enum"]
            .as_array_mut()
            .unwrap();
        uoms.retain(|u| u != "LBR");
    }
    let dir = acme.join("contracts/mfg.material.consumed.v1");
    fs::create_dir_all(&dir).unwrap();
    fs::write(
        dir.join("1.2.schema.json"),
        serde_json::to_string_pretty(&schema).unwrap(),
    )
    .unwrap();
}

#[test]
fn a_contract_version_changed_since_the_git_baseline_fails() {
    let (tmp, acme) = copy_of_acme();
    git(tmp.path(), &["init", "--quiet"]);
    write_v12(&acme, false);
    git(tmp.path(), &["add", "."]);
    git(tmp.path(), &["commit", "--quiet", "-m", "1.2"]);
    // Unchanged since HEAD: compatible, and nothing to say.
    let output = takt_in(&acme, &["check", ".", "--baseline-git", "HEAD"], "");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}{}",
        stdout(&output),
        stderr(&output)
    );
    assert!(
        stdout(&output).contains("1 contract versions: 0 error(s)"),
        "{}",
        stdout(&output)
    );

    write_v12(&acme, true);
    let output = takt_in(tmp.path(), &["check", "acme", "--baseline-git", "HEAD"], "");
    assert_eq!(output.status.code(), Some(1));
    let text = stdout(&output);
    assert!(text.contains("error[baseline] acme/contracts/mfg.material.consumed.v1/1.2.schema.json: mfg.material.consumed.v1 1.2 changed since the baseline (HEAD:contracts/mfg.material.consumed.v1/1.2.schema.json)"), "{text}");
    assert!(
        text.contains("against the baseline: /data/qty/uom: enum value \"LBR\" removed"),
        "{text}"
    );

    // The same against a baseline directory, and without a baseline only
    // compatibility with 1.0 and 1.1 is checked.
    let baseline = tmp.path().join("baseline");
    git(
        tmp.path(),
        &["worktree", "add", "--quiet", "baseline", "HEAD"],
    );
    let output = takt_in(
        tmp.path(),
        &["--json", "check", "acme", "--baseline", "baseline/acme"],
        "",
    );
    let rules: Vec<String> = json_of(&output)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect();
    assert!(rules.contains(&"baseline".to_owned()), "{rules:?}");
    assert!(baseline.join("acme/contracts").is_dir());
    let output = takt_in(tmp.path(), &["--json", "check", "acme"], "");
    let rules: Vec<String> = json_of(&output)["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        !rules.is_empty() && rules.iter().all(|r| r == "compatibility"),
        "{rules:?}"
    );

    let output = takt_in(
        tmp.path(),
        &["check", "acme", "--baseline-git", "no-such-branch"],
        "",
    );
    assert_eq!(output.status.code(), Some(3));
    assert!(
        stderr(&output).contains("no-such-branch is not a revision"),
        "{}",
        stderr(&output)
    );
}
