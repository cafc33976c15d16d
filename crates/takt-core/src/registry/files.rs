//! Where contract files come from: the embedded built-ins or a directory.

use std::fs;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

include!(concat!(env!("OUT_DIR"), "/builtin_contracts.rs"));

/// One contract-directory file: its path relative to the directory's root
/// (always `/`-separated), a label for messages, and its text.
#[derive(Debug, Clone)]
pub struct ContractFile {
    /// Path under the contracts root, e.g. `mfg.material.consumed.v1/1.0.schema.json`.
    pub relative: String,
    /// `builtin:<relative>` or the file's path on disk.
    pub origin: String,
    /// File contents.
    pub text: String,
}

/// The contract files compiled into the binary.
pub fn builtin() -> Vec<ContractFile> {
    BUILTIN_FILES
        .iter()
        .map(|(relative, text)| ContractFile {
            relative: (*relative).to_owned(),
            origin: format!("builtin:{relative}"),
            text: (*text).to_owned(),
        })
        .collect()
}

/// Every `.json` and `.toml` file under `root`, in a stable order.
pub fn read_dir(root: &Path) -> Result<Vec<ContractFile>> {
    let mut paths = Vec::new();
    walk(root, &mut paths)?;
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let relative = path.strip_prefix(root).unwrap_or(&path);
            Ok(ContractFile {
                relative: relative.to_string_lossy().replace('\\', "/"),
                origin: path.display().to_string(),
                text,
            })
        })
        .collect()
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let entries = fs::read_dir(dir).map_err(|e| Error::io(dir, e))?;
    for entry in entries {
        let path = entry.map_err(|e| Error::io(dir, e))?.path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            walk(&path, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "toml")
        ) {
            out.push(path);
        }
    }
    Ok(())
}
