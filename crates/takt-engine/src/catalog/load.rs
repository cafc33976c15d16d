//! Turning a catalog version's files into a deployment and its registry,
//! exactly as `takt serve --config DIR` would from a directory holding them.

use std::path::{Path, PathBuf};

use takt_core::catalog::snapshot;
use takt_core::deployment::Deployment;
use takt_core::registry::Registry;
use takt_core::store::CatalogFiles;

/// A catalog version, loaded and checked.
pub(crate) struct Loaded {
    pub(crate) deployment: Deployment,
    pub(crate) registry: Registry,
}

/// Writes `files` to a directory of their own, reads them with the process
/// settings of `base`, builds the registry (built-in contracts, the
/// catalog's `contracts/`, then `contract_dirs`), and checks every
/// reference, schema and mapping. Every problem is returned, each naming
/// its file relative to the deployment (`interfaces/x.toml: field …`).
pub(crate) fn load(
    base: &Deployment,
    files: &CatalogFiles,
    contract_dirs: &[PathBuf],
) -> Result<Loaded, Vec<String>> {
    let dir = tempfile::Builder::new()
        .prefix("takt-catalog-")
        .tempdir()
        .map_err(|e| vec![format!("cannot write the catalog out to check it: {e}")])?;
    let root = dir.path();
    let relative = |e: &dyn std::fmt::Display| relative_to(root, &e.to_string());
    snapshot::write(files, root).map_err(|e| vec![relative(&e)])?;
    let mut deployment = base.with_catalog(root).map_err(|e| vec![relative(&e)])?;
    let mut layers: Vec<PathBuf> = deployment.contracts_dir().into_iter().collect();
    layers.extend(contract_dirs.iter().cloned());
    let registry = Registry::load(&layers).map_err(|e| vec![relative(&e)])?;
    let problems: Vec<String> = deployment
        .problems(&registry)
        .iter()
        .map(|e| relative(e))
        .collect();
    if !problems.is_empty() {
        return Err(problems);
    }
    // The directory goes away with this function: nothing reads it later,
    // and messages name files relative to the deployment.
    deployment.root = None;
    Ok(Loaded {
        deployment,
        registry,
    })
}

/// `message` with the temporary directory's path taken out.
fn relative_to(root: &Path, message: &str) -> String {
    let prefix = format!("{}/", root.display());
    message
        .replace(&prefix, "")
        .replace(&root.display().to_string(), ".")
}
