//! The files a new plant changes without cloning them: shared systems,
//! interfaces and subscriptions gain the new plant and its clones.

use std::fs;
use std::path::Path;

use toml::de::DeTable;

use super::edit::{Edits, append_for};
use super::{Action, PlantRequest, Renames, Scaffold, ScaffoldFile};
use crate::deployment::Deployment;
use crate::{Error, Result};

/// What the edits need to know.
pub(super) struct Extend<'a> {
    pub(super) deployment: &'a Deployment,
    pub(super) root: &'a Path,
    pub(super) request: PlantRequest<'a>,
    pub(super) renames: &'a Renames,
}

impl Extend<'_> {
    /// The new plant, for the old one.
    fn plant(&self, site: &str) -> Option<String> {
        (site == self.request.from).then(|| self.request.plant.to_owned())
    }

    fn system(&self, name: &str) -> Option<String> {
        self.renames.systems.get(name).cloned()
    }

    fn interface(&self, name: &str) -> Option<String> {
        self.renames.interfaces.get(name).cloned()
    }

    /// Systems that act for the old plant get the new one.
    pub(super) fn systems(&self, scaffold: &mut Scaffold) -> Result<()> {
        let PlantRequest { plant, from } = self.request;
        for (name, config) in &self.deployment.systems {
            if self.renames.systems.contains_key(name) {
                continue;
            }
            if config.sites == [from] {
                scaffold.review.push(format!(
                    "systems/{name}.toml acted for plant {from} only and now acts for plant {plant} too; undo that if plant {plant} works with another system"
                ));
            }
            let source = format!("systems/{name}.toml");
            let edited = edit_file(self.root, &source, |table, edits| {
                notes(
                    &append_for(table, "sites", |s| self.plant(s), edits),
                    "sites",
                )
            })?;
            scaffold.files.extend(edited);
        }
        Ok(())
    }

    /// Interfaces get the clones after the originals, and the new plant in
    /// `sync.sites` (unless their `[sync]` calls a cloned system).
    pub(super) fn interfaces(&self, scaffold: &mut Scaffold) -> Result<()> {
        for (name, config) in &self.deployment.interfaces {
            if self.renames.interfaces.contains_key(name) {
                continue;
            }
            let sync = config.sync.as_ref();
            let clone = sync.and_then(|s| self.system(&s.destination));
            if let (Some(sync), Some(clone)) = (sync, &clone) {
                let plant = self.request.plant;
                scaffold.review.push(format!(
                    "interfaces/{name}.toml: its [sync] calls {} while the sender waits, and an interface calls one destination, so plant {plant}'s commands are only recorded; give plant {plant} an interface of its own if {clone} must answer them",
                    sync.destination
                ));
            }
            let source = format!("interfaces/{name}.toml");
            let edited = edit_file(self.root, &source, |table, edits| {
                let mut found = Vec::new();
                for field in ["producers", "consumers"] {
                    let added = append_for(table, field, |s| self.system(s), edits);
                    found.extend(notes(&added, field));
                }
                let added = append_for(table, "depends_on", |s| self.interface(s), edits);
                found.extend(notes(&added, "depends_on"));
                if clone.is_none() {
                    let added = append_for(table, "sync.sites", |s| self.plant(s), edits);
                    found.extend(notes(&added, "sync.sites"));
                }
                found
            })?;
            scaffold.files.extend(edited);
        }
        Ok(())
    }

    /// Subscriptions deliver the new plant's messages too.
    pub(super) fn subscriptions(&self, scaffold: &mut Scaffold) -> Result<()> {
        for (name, config) in &self.deployment.subscriptions {
            if self.renames.subscriptions.contains_key(name) {
                continue;
            }
            if let Some(clone) = self.system(&config.destination) {
                scaffold.review.push(format!(
                    "subscriptions/{name}.toml delivers to {}; {clone} gets nothing from it: copy it by hand if it should",
                    config.destination
                ));
            }
            let source = format!("subscriptions/{name}.toml");
            let edited = edit_file(self.root, &source, |table, edits| {
                notes(
                    &append_for(table, "sites", |s| self.plant(s), edits),
                    "sites",
                )
            })?;
            scaffold.files.extend(edited);
        }
        Ok(())
    }
}

fn notes(added: &[String], field: &str) -> Vec<String> {
    added.iter().map(|a| format!("{field} += {a}")).collect()
}

/// Applies the insertions `edit` makes to `source`; none when it makes none.
fn edit_file(
    root: &Path,
    source: &str,
    edit: impl FnOnce(&DeTable<'_>, &mut Edits) -> Vec<String>,
) -> Result<Option<ScaffoldFile>> {
    let path = root.join(source);
    let text = fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    let table = DeTable::parse(&text).map_err(|e| Error::toml(&path, &text, &e))?;
    let mut edits = Edits::default();
    let notes = edit(table.get_ref(), &mut edits);
    if edits.is_empty() {
        return Ok(None);
    }
    Ok(Some(ScaffoldFile {
        path: source.to_owned(),
        action: Action::Changed,
        source: source.to_owned(),
        notes,
        todos: 0,
        text: edits.apply(&text),
    }))
}
