//! A deployment's catalog as one value: its files by relative path.
//!
//! The governed catalog stores each version as such a snapshot and each
//! proposal as the changes it makes to one. Which files belong to the
//! catalog: everything under [`CATALOG_DIRS`] plus [`CATALOG_FILES`].
//! `takt.toml` does not: listen addresses, storage and authentication are
//! the process's own settings and stay on disk.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Component, Path};

use sha2::{Digest, Sha256};

use crate::store::{CatalogChanges, CatalogFiles};
use crate::{Error, Result};

/// The directories of a deployment that belong to the catalog.
pub const CATALOG_DIRS: [&str; 8] = [
    "systems",
    "operators",
    "interfaces",
    "subscriptions",
    "policies",
    "mappings",
    "schemas",
    "contracts",
];

/// The single files of a deployment that belong to the catalog.
pub const CATALOG_FILES: [&str; 2] = ["lifecycle.toml", "conversions.toml"];

/// Most files in one catalog.
pub const MAX_FILES: usize = 5_000;

/// Most bytes in one catalog, all files together.
pub const MAX_BYTES: usize = 32 * 1024 * 1024;

/// Why `path` cannot name a catalog file, if it cannot: it must be
/// relative, use `/`, stay inside the deployment, not be hidden, and lie
/// in one of [`CATALOG_DIRS`] or be one of [`CATALOG_FILES`].
pub fn path_problem(path: &str) -> Option<String> {
    let parts: Vec<&str> = path.split('/').collect();
    if path.contains('\\')
        || parts
            .iter()
            .any(|p| p.is_empty() || *p == "." || *p == "..")
    {
        return Some(format!(
            "{path:?} must be a relative path with `/` between non-empty parts and no `.` or `..`"
        ));
    }
    if path.chars().any(char::is_control) {
        return Some(format!(
            "{path:?} holds a control character; catalog paths are plain text"
        ));
    }
    if parts.iter().any(|p| p.starts_with('.')) {
        return Some(format!(
            "{path:?} is hidden; hidden files are not catalog files"
        ));
    }
    let in_dir = parts.len() > 1 && CATALOG_DIRS.contains(&parts[0]);
    let single = parts.len() == 1 && CATALOG_FILES.contains(&parts[0]);
    (!in_dir && !single).then(|| {
        format!(
            "{path:?} is not a catalog file: catalog files are {} and files under {}/",
            CATALOG_FILES.join(", "),
            CATALOG_DIRS.join("/, ")
        )
    })
}

/// Why `files` cannot be a catalog, if it cannot: a bad path, too many
/// files or too many bytes.
pub fn files_problem<'a>(paths: impl IntoIterator<Item = (&'a str, usize)>) -> Option<String> {
    let (mut count, mut bytes) = (0usize, 0usize);
    for (path, len) in paths {
        if let Some(problem) = path_problem(path) {
            return Some(problem);
        }
        count += 1;
        bytes = bytes.saturating_add(len);
    }
    if count > MAX_FILES {
        return Some(format!(
            "{count} files; a catalog holds at most {MAX_FILES}"
        ));
    }
    (bytes > MAX_BYTES).then(|| format!("{bytes} bytes; a catalog holds at most {MAX_BYTES}"))
}

/// Reads the catalog files of deployment directory `dir`, skipping hidden
/// files and directories.
pub fn read(dir: &Path) -> Result<CatalogFiles> {
    let mut files = CatalogFiles::new();
    for name in CATALOG_FILES {
        let path = dir.join(name);
        if path.is_file() {
            files.insert(name.to_owned(), text(&path)?);
        }
    }
    for name in CATALOG_DIRS {
        walk(&dir.join(name), name, &mut files)?;
    }
    if let Some(problem) = files_problem(files.iter().map(|(p, c)| (p.as_str(), c.len()))) {
        return Err(Error::Config {
            origin: dir.display().to_string(),
            reason: problem,
        });
    }
    Ok(files)
}

fn walk(dir: &Path, prefix: &str, files: &mut CatalogFiles) -> Result<()> {
    if !dir.is_dir() {
        return Ok(());
    }
    let mut entries: Vec<_> = fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(dir, e))?;
    entries.sort_by_key(fs::DirEntry::file_name);
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        let relative = format!("{prefix}/{name}");
        if path.is_dir() {
            walk(&path, &relative, files)?;
        } else {
            files.insert(relative, text(&path)?);
        }
    }
    Ok(())
}

fn text(path: &Path) -> Result<String> {
    let bytes = fs::read(path).map_err(|e| Error::io(path, e))?;
    String::from_utf8(bytes).map_err(|_| Error::Config {
        origin: path.display().to_string(),
        reason: "is not UTF-8 text; catalog files are text".into(),
    })
}

/// Writes `files` under `dir` (which should be empty), creating directories.
pub fn write(files: &CatalogFiles, dir: &Path) -> Result<()> {
    for (relative, content) in files {
        if let Some(problem) = path_problem(relative) {
            return Err(Error::Config {
                origin: relative.clone(),
                reason: problem,
            });
        }
        let path = dir.join(relative);
        debug_assert!(
            path.components()
                .all(|c| !matches!(c, Component::ParentDir))
        );
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        fs::write(&path, content).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// SHA-256 over every path and content, as lowercase hex: equal digests,
/// equal catalogs.
pub fn digest(files: &CatalogFiles) -> String {
    let mut hash = Sha256::new();
    for (path, content) in files {
        for part in [path.as_bytes(), content.as_bytes()] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part);
        }
    }
    hex::encode(hash.finalize())
}

/// What turns `from` into `to`: changed and added files with their new
/// content, removed ones as `None`.
pub fn changes(from: &CatalogFiles, to: &CatalogFiles) -> CatalogChanges {
    let mut found = CatalogChanges::new();
    for (path, content) in to {
        if from.get(path) != Some(content) {
            found.insert(path.clone(), Some(content.clone()));
        }
    }
    for path in from.keys().filter(|p| !to.contains_key(*p)) {
        found.insert(path.clone(), None);
    }
    found
}

/// `base` with `changes` applied.
pub fn apply(base: &CatalogFiles, changes: &CatalogChanges) -> CatalogFiles {
    let mut files = base.clone();
    for (path, content) in changes {
        match content {
            Some(content) => files.insert(path.clone(), content.clone()),
            None => files.remove(path),
        };
    }
    files
}

/// The changed paths whose content in `active` is no longer what it was
/// in `base`, the version the changes were made against: applying the
/// changes would silently undo someone else's.
pub fn conflicts(
    base: &CatalogFiles,
    active: &CatalogFiles,
    changes: &CatalogChanges,
) -> Vec<String> {
    changes
        .keys()
        .filter(|path| base.get(*path) != active.get(*path))
        .cloned()
        .collect()
}

/// A unified diff (as `git diff` prints it) from `from` to `to`, file by
/// file in path order; empty when they are equal.
pub fn unified_diff(from: &CatalogFiles, to: &CatalogFiles) -> String {
    let paths: BTreeSet<&String> = from.keys().chain(to.keys()).collect();
    let mut out = String::new();
    for path in paths {
        let (old, new) = (from.get(path), to.get(path));
        if old == new {
            continue;
        }
        let (old_name, new_name) = (
            old.map_or("/dev/null".to_owned(), |_| format!("a/{path}")),
            new.map_or("/dev/null".to_owned(), |_| format!("b/{path}")),
        );
        let (old, new) = (
            old.map_or("", String::as_str),
            new.map_or("", String::as_str),
        );
        let diff = similar::TextDiff::from_lines(old, new);
        out.push_str(&format!("diff --takt a/{path} b/{path}\n"));
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&old_name, &new_name)
                .to_string(),
        );
        if !out.ends_with('\n') {
            out.push_str("\n\\ No newline at end of file\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(pairs: &[(&str, &str)]) -> CatalogFiles {
        pairs
            .iter()
            .map(|(p, c)| ((*p).to_owned(), (*c).to_owned()))
            .collect()
    }

    #[test]
    fn only_relative_catalog_paths_are_accepted() {
        for good in [
            "interfaces/a.toml",
            "mappings/x.fixtures/case.input.json",
            "lifecycle.toml",
        ] {
            assert_eq!(path_problem(good), None, "{good}");
        }
        for (bad, says) in [
            ("takt.toml", "not a catalog file"),
            ("../etc/passwd", "relative path"),
            ("/etc/passwd", "relative path"),
            ("interfaces/../takt.toml", "relative path"),
            ("interfaces\\a.toml", "relative path"),
            ("interfaces/.secret", "hidden"),
            ("interfaces", "not a catalog file"),
            ("target/x.toml", "not a catalog file"),
            ("interfaces/a\n+++ b/x.toml", "control character"),
            ("interfaces/\u{1b}[2Ka.toml", "control character"),
        ] {
            let problem = path_problem(bad).unwrap_or_default();
            assert!(problem.contains(says), "{bad}: {problem}");
        }
    }

    #[test]
    fn changes_applied_to_the_base_give_the_target() {
        let base = files(&[("systems/a.toml", "a"), ("systems/b.toml", "b")]);
        let target = files(&[("systems/a.toml", "a2"), ("systems/c.toml", "c")]);
        let found = changes(&base, &target);
        assert_eq!(
            found,
            CatalogChanges::from([
                ("systems/a.toml".into(), Some("a2".into())),
                ("systems/b.toml".into(), None),
                ("systems/c.toml".into(), Some("c".into())),
            ])
        );
        assert_eq!(apply(&base, &found), target);
        assert_eq!(digest(&apply(&base, &found)), digest(&target));
        assert_ne!(digest(&base), digest(&target));
    }

    #[test]
    fn a_change_to_a_file_changed_meanwhile_conflicts() {
        let base = files(&[("systems/a.toml", "a"), ("systems/b.toml", "b")]);
        let active = files(&[
            ("systems/a.toml", "a"),
            ("systems/b.toml", "b-by-someone-else"),
        ]);
        let mine = changes(
            &base,
            &files(&[("systems/a.toml", "a2"), ("systems/b.toml", "b")]),
        );
        assert!(
            conflicts(&base, &active, &mine).is_empty(),
            "other files merge"
        );
        let theirs = changes(
            &base,
            &files(&[("systems/a.toml", "a"), ("systems/b.toml", "b3")]),
        );
        assert_eq!(conflicts(&base, &active, &theirs), ["systems/b.toml"]);
    }

    #[test]
    fn the_digest_separates_path_from_content() {
        assert_ne!(
            digest(&files(&[("systems/ab", "c")])),
            digest(&files(&[("systems/a", "bc")]))
        );
    }

    #[test]
    fn the_diff_shows_added_changed_and_removed_files() {
        let from = files(&[
            ("systems/a.toml", "x = 1\ny = 2\n"),
            ("systems/b.toml", "gone\n"),
        ]);
        let to = files(&[
            ("systems/a.toml", "x = 1\ny = 3\n"),
            ("systems/c.toml", "new\n"),
        ]);
        let diff = unified_diff(&from, &to);
        assert!(
            diff.contains("--- a/systems/a.toml\n+++ b/systems/a.toml\n"),
            "{diff}"
        );
        assert!(diff.contains("-y = 2\n+y = 3\n"), "{diff}");
        assert!(
            diff.contains("--- a/systems/b.toml\n+++ /dev/null\n"),
            "{diff}"
        );
        assert!(
            diff.contains("--- /dev/null\n+++ b/systems/c.toml\n"),
            "{diff}"
        );
        assert!(diff.contains("+new\n"), "{diff}");
        assert_eq!(unified_diff(&from, &from), "");
    }

    #[test]
    fn a_directory_reads_back_as_written() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let catalog = files(&[
            ("interfaces/a.toml", "name = \"a\"\n"),
            ("mappings/m.fixtures/one.input.json", "{}"),
            ("lifecycle.toml", ""),
        ]);
        write(&catalog, dir.path()).unwrap_or_else(|e| panic!("{e}"));
        fs::write(dir.path().join("takt.toml"), "[server]\n").unwrap_or_else(|e| panic!("{e}"));
        fs::write(dir.path().join("interfaces/.swp"), "x").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(read(dir.path()).unwrap_or_else(|e| panic!("{e}")), catalog);
    }
}
