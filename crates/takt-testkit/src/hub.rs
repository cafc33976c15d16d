//! A `takt serve` child process on ephemeral ports.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// A running `takt serve` and its addresses.
pub struct Hub {
    /// The process (kill it with `child.kill()`: SIGKILL).
    pub child: Child,
    /// `http://127.0.0.1:<port>` of the data plane.
    pub data: String,
    /// `http://127.0.0.1:<port>` of the admin API.
    pub admin: String,
}

impl Drop for Hub {
    /// A test that fails before it stops its hub does not leave it running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `bin serve --config <config> --db <db>` on 127.0.0.1:0 and waits
/// for its "listening" line.
pub fn start_hub(bin: &Path, config: &Path, db: &Path) -> Hub {
    start_hub_with(bin, config, db, &[])
}

/// [`start_hub`] with more arguments for `takt serve` (e.g. `--adopt`).
pub fn start_hub_with(bin: &Path, config: &Path, db: &Path, more: &[&str]) -> Hub {
    let mut args = vec![
        OsStr::new("--config"),
        config.as_os_str(),
        OsStr::new("--db"),
        db.as_os_str(),
    ];
    args.extend(more.iter().map(OsStr::new));
    start_serve(bin, &args)
}

/// Starts `bin serve <args>` on 127.0.0.1:0 and waits for its "listening" line.
pub fn start_serve(bin: &Path, args: &[&OsStr]) -> Hub {
    let mut child = Command::new(bin)
        .arg("serve")
        .args(args)
        .args([
            "--data-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .env("TAKT_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        let _ = BufReader::new(stdout).read_line(&mut line);
    }
    // "listening data=127.0.0.1:PORT admin=127.0.0.1:PORT"
    let addr = |name: &str| {
        line.split_whitespace()
            .find_map(|w| w.strip_prefix(name))
            .unwrap_or_else(|| panic!("takt serve did not say where it listens: {line:?}"))
            .to_owned()
    };
    Hub {
        data: format!("http://{}", addr("data=")),
        admin: format!("http://{}", addr("admin=")),
        child,
    }
}

/// Copies a deployment directory (recursively) to `to`.
pub fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            copy_dir(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}

/// `GET url` with `key` as bearer API key; the answer as JSON.
pub async fn get_json(url: &str, key: &str) -> serde_json::Value {
    let answer = reqwest::Client::new()
        .get(url)
        .bearer_auth(key)
        .send()
        .await;
    let answer = answer.unwrap_or_else(|e| panic!("GET {url}: {e}"));
    answer
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: not JSON: {e}"))
}

/// `POST url` with a JSON body and `key` as bearer API key; the status and the answer as JSON.
pub async fn post_json(url: &str, key: &str, body: &serde_json::Value) -> (u16, serde_json::Value) {
    let answer = reqwest::Client::new()
        .post(url)
        .bearer_auth(key)
        .json(body)
        .send()
        .await;
    let answer = answer.unwrap_or_else(|e| panic!("POST {url}: {e}"));
    let status = answer.status().as_u16();
    (
        status,
        answer
            .json()
            .await
            .unwrap_or_else(|e| panic!("POST {url}: not JSON: {e}")),
    )
}

/// The repository's root (where `contracts/` and `examples/` are).
pub fn repository() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A contract's example message, e.g. `example("mfg.material.consumed.v1",
/// "valid-lot-managed.json")`.
pub fn example(contract: &str, name: &str) -> serde_json::Value {
    let path = repository().join(format!("contracts/{contract}/examples/{name}"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()))
}
