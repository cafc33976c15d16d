//! Verdicts: which changes break the chosen mode, each explained.

use serde_json::Value;

use super::change::Change;
use super::diff::diff;
use super::mode::{Direction, Mode};

/// One version of a schema to compare, with the label used in explanations.
#[derive(Debug, Clone, Copy)]
pub struct Version<'a> {
    /// How the version is named in sentences, e.g. `1.2`.
    pub label: &'a str,
    /// The schema.
    pub schema: &'a Value,
}

/// A change that breaks a direction the mode requires, explained.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Break {
    /// JSON pointer into the message.
    pub path: String,
    /// Stable rule code, e.g. `enum_value_removed`.
    pub rule: &'static str,
    /// What changed.
    pub change: String,
    /// The direction that breaks.
    pub direction: Direction,
    /// A message that shows it.
    pub example: String,
    /// The whole explanation as one sentence.
    pub explanation: String,
}

/// The result of comparing the new version with one earlier version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Comparison {
    /// Label of the earlier version.
    pub old: String,
    /// Label of the new version.
    pub new: String,
    /// Every change found, breaking or not.
    pub changes: Vec<Change>,
    /// The changes that break a direction the mode requires.
    pub breaks: Vec<Break>,
}

/// The verdict for a mode: one comparison per earlier version checked.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Report {
    /// The mode checked.
    pub mode: Mode,
    /// Whether no comparison has a break.
    pub compatible: bool,
    /// Comparisons, oldest earlier version first.
    pub comparisons: Vec<Comparison>,
}

impl Report {
    /// Every break of every comparison.
    pub fn breaks(&self) -> impl Iterator<Item = &Break> {
        self.comparisons.iter().flat_map(|c| c.breaks.iter())
    }
}

/// Checks `new` against `earlier` versions (oldest first) under `mode`.
///
/// Non-transitive modes compare with the last earlier version only. Paths in
/// explanations start with `prefix` (`/data` for contract schemas).
pub fn check(mode: Mode, earlier: &[Version<'_>], new: Version<'_>, prefix: &str) -> Report {
    let against: &[Version<'_>] = match earlier.split_last() {
        Some((last, _)) if !mode.is_transitive() => std::slice::from_ref(last),
        _ => earlier,
    };
    let comparisons: Vec<Comparison> = against
        .iter()
        .map(|old| compare(mode, *old, new, prefix))
        .collect();
    let compatible = comparisons.iter().all(|c| c.breaks.is_empty());
    Report {
        mode,
        compatible,
        comparisons,
    }
}

fn compare(mode: Mode, old: Version<'_>, new: Version<'_>, prefix: &str) -> Comparison {
    let changes = diff(old.schema, new.schema, prefix);
    let mut breaks = Vec::new();
    for change in &changes {
        for &direction in mode.directions() {
            let impact = match direction {
                Direction::Backward => &change.backward,
                Direction::Forward => &change.forward,
            };
            if let Some(impact) = impact {
                breaks.push(explain(
                    change,
                    direction,
                    &impact.example,
                    old.label,
                    new.label,
                ));
            }
        }
    }
    Comparison {
        old: old.label.to_owned(),
        new: new.label.to_owned(),
        changes,
        breaks,
    }
}

fn explain(change: &Change, direction: Direction, example: &str, old: &str, new: &str) -> Break {
    let consequence = match direction {
        Direction::Backward => {
            format!(
                "messages that producers on {old} still send would be rejected by consumers on {new}"
            )
        }
        Direction::Forward => {
            format!(
                "messages that producers on {new} send would be rejected by consumers still on {old}"
            )
        }
    };
    Break {
        path: change.path.clone(),
        rule: change.rule,
        change: change.change.clone(),
        direction,
        example: example.to_owned(),
        explanation: format!(
            "{}: {} — {consequence} ({}), e.g. {example}",
            change.path,
            change.change,
            direction.label()
        ),
    }
}
