//! docs/onboarding.md, followed as written on a copy of examples/acme:
//! every command it shows is run and its output compared, the files it
//! shows are written, the hub is started and plant 3030's MES posts. The
//! lines the integrator wrote are counted and must be what the guide says.

use std::fs;
use std::path::Path;

use serde_json::{Value, json};
use takt_testkit::{post_json, start_hub};

use crate::{bin, copy_of_acme, root, stderr, stdout, takt_in};

fn guide() -> String {
    fs::read_to_string(root().join("docs/onboarding.md")).unwrap()
}

/// The output the guide shows after `$ command`, up to the next command or
/// the end of the code block.
fn shown_output(guide: &str, command: &str) -> String {
    let start = guide
        .find(&format!("$ {command}\n"))
        .unwrap_or_else(|| panic!("the guide does not run `{command}`"))
        + command.len()
        + 3;
    let mut output = String::new();
    for line in guide[start..].lines() {
        if line.starts_with("$ ") || line.starts_with("```") {
            break;
        }
        output.push_str(line);
        output.push('\n');
    }
    output
}

/// The files the guide shows in full: (path, content) of every
/// ```` ```toml title="…" ```` block.
fn shown_files(guide: &str) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut rest = guide;
    while let Some(at) = rest.find("```toml title=\"") {
        let after = &rest[at + "```toml title=\"".len()..];
        let (path, body) = after.split_once("\"\n").unwrap();
        let end = body.find("\n```").unwrap();
        files.push((path.to_owned(), format!("{}\n", &body[..end])));
        rest = &body[end..];
    }
    files
}

/// Lines of `new` that are not in a longest common subsequence with `old`
/// (written or changed), and lines of `old` that are not (deleted).
fn edited_lines(old: &str, new: &str) -> (usize, usize) {
    let (a, b): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    (b.len() - lcs[0][0], a.len() - lcs[0][0])
}

/// `grep -rn TODO dir`, for a directory whose TODOs are all in one file.
fn todos(base: &Path, dir: &str) -> String {
    let mut files = Vec::new();
    let mut stack = vec![base.join(dir)];
    while let Some(path) = stack.pop() {
        if path.is_dir() {
            stack.extend(fs::read_dir(&path).unwrap().map(|e| e.unwrap().path()));
        } else {
            files.push(path);
        }
    }
    files.sort();
    let mut found = String::new();
    for file in files {
        let text = fs::read_to_string(&file).unwrap();
        for (index, line) in text.lines().enumerate() {
            if line.contains("TODO") {
                let shown = file.strip_prefix(base).unwrap().display();
                found.push_str(&format!("{shown}:{}:{line}\n", index + 1));
            }
        }
    }
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn onboarding_guide_works_as_written() {
    let guide = guide();
    let (tmp, acme) = copy_of_acme();
    let work = tmp.path();

    // 1. Scaffold.
    let command = "takt catalog scaffold plant 3030 --from 1010 --config acme";
    let args: Vec<&str> = command.split_whitespace().skip(1).collect();
    let output = takt_in(work, &args, "");
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert_eq!(stdout(&output), shown_output(&guide, command));

    // 3. The TODOs, the key, the edited files.
    assert_eq!(
        todos(work, "plant-3030"),
        shown_output(&guide, "grep -rn TODO plant-3030")
    );
    let key_command = "printf %s acme-demo-mes-plant3030 | takt key hash";
    let hashed = takt_in(work, &["key", "hash"], "acme-demo-mes-plant3030");
    assert_eq!(stdout(&hashed), shown_output(&guide, key_command));
    let files = shown_files(&guide);
    assert_eq!(files.len(), 1, "the guide shows one file to edit");
    let mut written = 0;
    for (path, text) in &files {
        let scaffolded = fs::read_to_string(work.join(path)).unwrap();
        let (changed, deleted) = edited_lines(&scaffolded, text);
        // The 5 TODO comments, and the description as it was.
        assert_eq!(deleted, 6);
        written += changed;
        fs::write(work.join(path), text).unwrap();
    }
    assert_eq!(written, 5);
    assert!(
        guide.contains(&format!("**{written} lines**")),
        "the guide states {written} lines"
    );

    // 4. Copy the overlay over the deployment, and check.
    takt_testkit::copy_dir(&work.join("plant-3030"), &acme).unwrap();
    let checked = takt_in(work, &["check", "acme"], "");
    assert_eq!(checked.status.code(), Some(0), "{}", stdout(&checked));
    assert_eq!(stdout(&checked), shown_output(&guide, "takt check acme"));

    // 5. Run: plant 3030's MES posts for plant 3030, and only for it.
    let hub = start_hub(&bin(), &acme, &work.join("plant3030.db"));
    let data = guide
        .split("--data '")
        .nth(1)
        .and_then(|d| d.split('\'').next())
        .unwrap();
    let issue: Value = serde_json::from_str(data).unwrap();
    let url = format!("{}/v1/interfaces/mes3030-production/messages", hub.data);
    let (status, answer) = post_json(&url, "acme-demo-mes-plant3030", &issue).await;
    assert_eq!(
        (status, answer["status"].clone()),
        (202, json!("accepted")),
        "{answer}"
    );
    let mut other_plant = issue.clone();
    other_plant["WERKS"] = json!("1010");
    other_plant["MBLNR"] = json!("4900300002");
    let (status, answer) = post_json(&url, "acme-demo-mes-plant3030", &other_plant).await;
    assert_eq!(status, 403, "{answer}");
    assert_eq!(
        answer["errors"][0]["message"],
        "mes-plant3030 may not act for site 1010"
    );
}
