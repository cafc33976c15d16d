//! Embeds every file under the workspace's `contracts/` directory into the
//! crate, so the `takt` binary carries its canonical contracts and unit table.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs, io};

fn collect(dir: &Path, root: &Path, out: &mut Vec<(String, PathBuf)>) -> io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, root, out)?;
        } else if matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("json" | "toml")
        ) {
            let relative = path.strip_prefix(root).map_err(io::Error::other)?;
            let relative = relative.to_string_lossy().replace('\\', "/");
            out.push((relative, path.canonicalize()?));
        }
    }
    Ok(())
}

fn main() -> io::Result<()> {
    let manifest = PathBuf::from(env::var("CARGO_MANIFEST_DIR").map_err(io::Error::other)?);
    let contracts = manifest.join("../../contracts").canonicalize()?;
    println!("cargo:rerun-if-changed={}", contracts.display());
    let mut files = Vec::new();
    collect(&contracts, &contracts, &mut files)?;
    let mut code = String::from("/// Built-in contract files: (path under contracts/, text).\n");
    code.push_str("pub(crate) static BUILTIN_FILES: &[(&str, &str)] = &[\n");
    for (relative, absolute) in files {
        writeln!(
            code,
            "    ({relative:?}, include_str!({:?})),",
            absolute.display().to_string()
        )
        .map_err(io::Error::other)?;
    }
    code.push_str("];\n");
    let out = PathBuf::from(env::var("OUT_DIR").map_err(io::Error::other)?);
    fs::write(out.join("builtin_contracts.rs"), code)
}
