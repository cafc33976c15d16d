//! `takt catalog scaffold plant PLANT --from PLANT [--out DIR]`: writes the
//! overlay and says what is left to do.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde_json::json;
use takt_core::catalog::scaffold::{Action, PlantRequest, Scaffold, plant};

use crate::Outcome;
use crate::cli::ScaffoldPlantArgs;
use crate::output::Output;

pub fn run(
    contracts: &[PathBuf],
    args: &ScaffoldPlantArgs,
    out: &Output,
) -> anyhow::Result<Outcome> {
    let (deployment, _) = super::load(contracts, &args.source)?;
    let request = PlantRequest {
        plant: &args.plant,
        from: &args.from,
    };
    let scaffold = plant(&deployment, request)?;
    let dir = args
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("plant-{}", args.plant)));
    write(&dir, &scaffold)?;
    if out.is_json() {
        out.json(&json!({"out": dir.display().to_string(), "scaffold": scaffold}))?;
    } else {
        print(&dir, &args.source.config, &scaffold);
    }
    Ok(Outcome::Passed)
}

/// Writes every file under `dir`, which must not exist or be empty.
fn write(dir: &Path, scaffold: &Scaffold) -> anyhow::Result<()> {
    let occupied = dir.exists()
        && fs::read_dir(dir)
            .with_context(|| format!("cannot read {}", dir.display()))?
            .next()
            .is_some();
    if occupied {
        bail!(
            "{} is not empty: choose another --out, so that nothing is overwritten",
            dir.display()
        );
    }
    for file in &scaffold.files {
        let path = dir.join(&file.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        fs::write(&path, &file.text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

fn print(dir: &Path, config: &Path, scaffold: &Scaffold) {
    let new = scaffold
        .files
        .iter()
        .filter(|f| f.action == Action::New)
        .count();
    let todos: usize = scaffold.files.iter().map(|f| f.todos).sum();
    crate::say!(
        "plant {} from {}: {} files in {} ({new} new, {} changed), {todos} TODO line(s)",
        scaffold.plant,
        scaffold.from,
        scaffold.files.len(),
        dir.display(),
        scaffold.files.len() - new
    );
    // Fixture files are summed up per directory.
    let mut fixtures: BTreeMap<String, usize> = BTreeMap::new();
    for file in &scaffold.files {
        if let Some((fixture_dir, _)) = file.path.split_once(".fixtures/") {
            *fixtures
                .entry(format!("{fixture_dir}.fixtures/"))
                .or_default() += 1;
            continue;
        }
        let action = match file.action {
            Action::New => "new",
            Action::Changed => "changed",
        };
        crate::say!("  {action:<8} {:<44} {}", file.path, file.notes.join("; "));
    }
    for (fixture_dir, count) in fixtures {
        crate::say!(
            "  {:<8} {fixture_dir:<44} {count} fixture files, copied",
            "new"
        );
    }
    if !scaffold.review.is_empty() {
        crate::say!("review:");
        for note in &scaffold.review {
            crate::say!("  {note}");
        }
    }
    crate::say!("next:");
    crate::say!("  1. fill in every TODO: grep -rn TODO {}", dir.display());
    crate::say!(
        "  2. copy the overlay over the deployment: cp -R {}/. {}/",
        dir.display(),
        config.display()
    );
    crate::say!("  3. takt check {}", config.display());
}
