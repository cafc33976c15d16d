//! Plant onboarding: `takt catalog scaffold plant 3030 --from 1010` writes
//! the new plant's part of the catalog, cloned from an existing plant, as a
//! deployment overlay (files to copy over the deployment).
//!
//! The rules, applied to every file that mentions the old plant:
//!
//! | what | becomes |
//! |---|---|
//! | a system whose name carries the plant code (`mes-plant1010`) and acts for the plant | a new system `mes-plant3030` acting for 3030 only, **without** API keys (a commented TODO says how to add one) |
//! | any other system acting for 1010 (not `*`) | 3030 appended to its `sites` |
//! | an interface or subscription whose name carries the code | a clone: every `1010` in its values and comments becomes `3030`; connector addresses become `https://todo.invalid/…` |
//! | a mapping or schema file a clone names, whose path carries the code | a copy (with its fixtures), `1010` replaced by `3030` |
//! | any other interface | the clones appended to `producers` and `consumers` (systems) and `depends_on` (interfaces); 3030 appended to `sync.sites` |
//! | any other subscription | 3030 appended to `sites` |
//!
//! `1010` is replaced only where it is not part of a longer number. What the
//! rules cannot decide (a `[sync]` that calls a cloned system, policies that
//! name the plant) is listed for review.

mod clone;
pub mod edit;
mod extend;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use crate::deployment::Deployment;
use crate::{Error, Result};
use edit::replace_code;

/// The host connector addresses of clones point at until someone sets the
/// real one (`.invalid` never resolves, RFC 2606); `takt check` reports it.
pub const PLACEHOLDER_HOST: &str = "todo.invalid";

/// A new plant, and the plant it is cloned from.
#[derive(Debug, Clone, Copy)]
pub struct PlantRequest<'a> {
    /// The new plant's code, e.g. `3030`.
    pub plant: &'a str,
    /// The existing plant's code, e.g. `1010`.
    pub from: &'a str,
}

/// Whether a file is new, or an existing one changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A file the deployment does not have yet.
    New,
    /// A changed copy of a file the deployment has.
    Changed,
}

/// One file of the overlay.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ScaffoldFile {
    /// Path relative to the deployment directory.
    pub path: String,
    /// New or changed.
    pub action: Action,
    /// The file it was made from.
    pub source: String,
    /// What changed, or what is left to do.
    pub notes: Vec<String>,
    /// How many lines say TODO.
    pub todos: usize,
    /// The content.
    #[serde(skip)]
    pub text: String,
}

/// The overlay for a new plant.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Scaffold {
    /// The new plant.
    pub plant: String,
    /// The plant it was cloned from.
    pub from: String,
    /// The files, by path.
    pub files: Vec<ScaffoldFile>,
    /// What a person must decide, one sentence each.
    pub review: Vec<String>,
}

/// What is cloned: old name → new name, for systems, interfaces and subscriptions.
#[derive(Debug, Default)]
pub(super) struct Renames {
    systems: BTreeMap<String, String>,
    interfaces: BTreeMap<String, String>,
    subscriptions: BTreeMap<String, String>,
}

/// Builds the overlay that adds `request.plant`, cloned from `request.from`.
pub fn plant(deployment: &Deployment, request: PlantRequest<'_>) -> Result<Scaffold> {
    let root = deployment
        .root
        .clone()
        .ok_or_else(|| refused("the deployment has no directory"))?;
    validate(deployment, request)?;
    let renames = renames(deployment, request)?;
    let mut scaffold = Scaffold {
        plant: request.plant.to_owned(),
        from: request.from.to_owned(),
        files: Vec::new(),
        review: Vec::new(),
    };
    let context = clone::Context {
        root: &root,
        request,
    };
    clones(deployment, &context, &renames, &mut scaffold)?;
    let extend = extend::Extend {
        deployment,
        root: &root,
        request,
        renames: &renames,
    };
    extend.systems(&mut scaffold)?;
    extend.interfaces(&mut scaffold)?;
    extend.subscriptions(&mut scaffold)?;
    review_policies(deployment, request, &mut scaffold);
    scaffold
        .files
        .sort_by(|a, b| (a.action, &a.path).cmp(&(b.action, &b.path)));
    scaffold.files.dedup_by(|a, b| a.path == b.path);
    Ok(scaffold)
}

/// The clones of the old plant's own systems, interfaces and subscriptions.
fn clones(
    deployment: &Deployment,
    context: &clone::Context<'_>,
    renames: &Renames,
    scaffold: &mut Scaffold,
) -> Result<()> {
    for (old, new) in &renames.systems {
        let file = clone::system(deployment, context, old, new)?;
        scaffold.files.push(file);
    }
    for (kind, names) in [
        ("interfaces", &renames.interfaces),
        ("subscriptions", &renames.subscriptions),
    ] {
        for (old, new) in names {
            let source = format!("{kind}/{old}.toml");
            let target = format!("{kind}/{new}.toml");
            scaffold
                .files
                .extend(clone::file(context, &source, &target)?);
        }
    }
    Ok(())
}

fn refused(reason: impl Into<String>) -> Error {
    Error::Config {
        origin: "takt catalog scaffold".into(),
        reason: reason.into(),
    }
}

fn is_code(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 32
        && code
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fn validate(deployment: &Deployment, request: PlantRequest<'_>) -> Result<()> {
    for code in [request.plant, request.from] {
        if !is_code(code) {
            return Err(refused(format!(
                "{code:?} is not a plant code: use letters, digits, - and _, e.g. 3030"
            )));
        }
    }
    if request.plant == request.from {
        return Err(refused(
            "the new plant and the plant it is cloned from are the same",
        ));
    }
    let acts_for = |code: &str| {
        deployment
            .systems
            .values()
            .find(|s| s.sites.iter().any(|site| site == code))
    };
    if let Some(system) = acts_for(request.plant) {
        return Err(refused(format!(
            "plant {} is already in the deployment: systems/{}.toml acts for it",
            request.plant, system.name
        )));
    }
    if acts_for(request.from).is_none() {
        return Err(refused(format!(
            "no system acts for plant {}, so there is nothing to clone",
            request.from
        )));
    }
    Ok(())
}

/// Old → new names of what is cloned; refuses a clone whose name is taken.
fn renames(deployment: &Deployment, request: PlantRequest<'_>) -> Result<Renames> {
    let renamed = |name: &str| {
        let new = replace_code(name, request.from, request.plant);
        (new != name).then_some(new)
    };
    let mut renames = Renames::default();
    for system in deployment.systems.values() {
        if system.sites.iter().any(|s| s == request.from)
            && let Some(new) = renamed(&system.name)
        {
            renames.systems.insert(system.name.clone(), new);
        }
    }
    for name in deployment.interfaces.keys() {
        if let Some(new) = renamed(name) {
            renames.interfaces.insert(name.clone(), new);
        }
    }
    for name in deployment.subscriptions.keys() {
        if let Some(new) = renamed(name) {
            renames.subscriptions.insert(name.clone(), new);
        }
    }
    let taken = renames
        .systems
        .values()
        .find(|n| deployment.systems.contains_key(*n) || deployment.operators.contains_key(*n))
        .or_else(|| {
            renames
                .interfaces
                .values()
                .find(|n| deployment.interfaces.contains_key(*n))
        })
        .or_else(|| {
            renames
                .subscriptions
                .values()
                .find(|n| deployment.subscriptions.contains_key(*n))
        });
    match taken {
        Some(name) => Err(refused(format!(
            "{name} already exists: the clone would replace it"
        ))),
        None => Ok(renames),
    }
}

/// Policies that name the old plant may need a rule for the new one.
fn review_policies(deployment: &Deployment, request: PlantRequest<'_>, scaffold: &mut Scaffold) {
    for (file, text) in &deployment.policies {
        if replace_code(text, request.from, request.plant) != *text {
            let name = Path::new(file)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| file.clone());
            scaffold.review.push(format!(
                "policies/{name} names plant {}: decide whether plant {} needs the same rule",
                request.from, request.plant
            ));
        }
    }
}

/// Reads a deployment file as text.
fn read(root: &Path, relative: &str) -> Result<String> {
    let path: PathBuf = root.join(relative);
    fs::read_to_string(&path).map_err(|e| Error::io(&path, e))
}

#[cfg(test)]
mod tests;
