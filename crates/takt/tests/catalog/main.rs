//! The catalog as code through the `takt` binary (issue 5): `takt check` on
//! real directories (and a real git baseline), `takt catalog impact`,
//! `graph` and `scaffold`, and the onboarding guide followed step by step.
#![allow(clippy::unwrap_used)] // test helpers: a failed unwrap is a failed test

mod check;
mod impact;
mod onboarding;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub(crate) fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub(crate) fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_takt"))
}

/// Runs `takt args…` in `dir`, with `stdin` on standard input.
pub(crate) fn takt_in(dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(bin())
        .args(args)
        .current_dir(dir)
        .env_remove("TAKT_CONTRACTS")
        .env_remove("TAKT_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stdin.take().unwrap();
    pipe.write_all(stdin.as_bytes()).unwrap();
    drop(pipe);
    child.wait_with_output().unwrap()
}

pub(crate) fn takt(args: &[&str]) -> Output {
    takt_in(&root(), args, "")
}

pub(crate) fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

pub(crate) fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

pub(crate) fn json_of(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(output)))
}

/// A copy of examples/acme in a temporary directory, as `<tmp>/acme`.
pub(crate) fn copy_of_acme() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let acme = dir.path().join("acme");
    takt_testkit::copy_dir(&root().join("examples/acme"), &acme).unwrap();
    (dir, acme)
}
