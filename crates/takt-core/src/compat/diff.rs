//! Walks two versions of a schema side by side and lists every change.
//!
//! The question behind every rule: is there a message that one version
//! accepts and the other rejects? If the old version accepts it and the new
//! one does not, the change breaks BACKWARD; the other way round, FORWARD.
//! Keywords the checker does not model are compared literally and any change
//! to them is treated as breaking, so a verdict of "compatible" is never a
//! guess.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::change::Change;
use super::sample::{accepted, literal, rejected};
use super::schema::{ALL_TYPES, Node, admits, types};

pub(super) static TRUE: Value = Value::Bool(true);

/// Lists the changes from `old` to `new`; paths start with `prefix`.
pub(super) fn diff(old: &Value, new: &Value, prefix: &str) -> Vec<Change> {
    let mut differ = Differ {
        old_root: old,
        new_root: new,
        changes: Vec::new(),
        stack: Vec::new(),
    };
    differ.compare(old, new, prefix);
    differ.declarations(prefix);
    differ.changes
}

/// Declarations that change what a valid message is, though no JSON Schema
/// keyword carries them: the ordering key (a message's `partitionkey` must
/// match it) and the interaction pattern.
const SEMANTIC_DECLARATIONS: [(&str, &str); 2] = [
    ("x-takt-ordering-key", "ordering key"),
    ("x-takt-pattern", "interaction pattern"),
];

pub(super) struct Differ<'a> {
    pub(super) old_root: &'a Value,
    pub(super) new_root: &'a Value,
    pub(super) changes: Vec<Change>,
    /// Pairs of object schemas being compared, to stop on recursive `$ref`s.
    stack: Vec<(usize, usize)>,
}

fn address(map: &Map<String, Value>) -> usize {
    std::ptr::from_ref(map) as usize
}

fn contains_ref(value: &Value) -> bool {
    match value {
        Value::Object(map) => map.contains_key("$ref") || map.values().any(contains_ref),
        Value::Array(items) => items.iter().any(contains_ref),
        _ => false,
    }
}

impl<'a> Differ<'a> {
    fn declarations(&mut self, path: &str) {
        for (keyword, what) in SEMANTIC_DECLARATIONS {
            let (before, after) = (self.old_root.get(keyword), self.new_root.get(keyword));
            if before == after {
                continue;
            }
            let show = |v: Option<&Value>| v.map_or("none".to_owned(), Value::to_string);
            let change = format!(
                "{what} ({keyword}) changed from {} to {}",
                show(before),
                show(after)
            );
            let rule = if keyword == "x-takt-ordering-key" {
                "ordering_key_changed"
            } else {
                "interaction_pattern_changed"
            };
            self.push(
                Change::new(path, rule, change)
                    .breaks_backward(format!(
                        "a message whose partitionkey or meaning follows {}",
                        show(before)
                    ))
                    .breaks_forward(format!(
                        "a message whose partitionkey or meaning follows {}",
                        show(after)
                    )),
            );
        }
    }

    pub(super) fn push(&mut self, change: Change) {
        self.changes.push(change);
    }

    /// Compares two subschemas found at the same message path.
    pub(super) fn compare(&mut self, old: &'a Value, new: &'a Value, path: &str) {
        let (o, n) = (
            Node::resolve(self.old_root, old),
            Node::resolve(self.new_root, new),
        );
        match (o, n) {
            (Node::Any, Node::Any) | (Node::Nothing, Node::Nothing) => {}
            (Node::Unresolved(a), Node::Unresolved(b)) if a == b => {}
            (Node::Unresolved(r), _) | (_, Node::Unresolved(r)) => self.push(
                Change::new(
                    path,
                    "unresolved_ref",
                    format!("$ref {r} cannot be followed, so this part cannot be compared"),
                )
                .breaks_backward(format!("any {path}"))
                .breaks_forward(format!("any {path}")),
            ),
            (Node::Nothing, n) => self.push(
                Change::new(
                    path,
                    "now_allowed",
                    "was `false` (nothing allowed), now accepts values",
                )
                .breaks_forward(format!("{path} = {}", accepted(&n))),
            ),
            (o, Node::Nothing) => self.push(
                Change::new(path, "now_forbidden", "now `false`: no value is allowed")
                    .breaks_backward(format!("{path} = {}", accepted(&o))),
            ),
            (Node::Any, n) => self.push(
                Change::new(
                    path,
                    "constraints_added",
                    "constrained where any value was allowed",
                )
                .breaks_backward(format!("{path} = {}", rejected(&n))),
            ),
            (o, Node::Any) => self.push(
                Change::new(
                    path,
                    "constraints_removed",
                    "no longer constrained: any value is allowed",
                )
                .breaks_forward(format!("{path} = {}", rejected(&o))),
            ),
            (Node::Schema(a), Node::Schema(b)) => {
                let identical = a == b && !a.values().any(contains_ref);
                let pair = (address(a), address(b));
                if identical || self.stack.contains(&pair) {
                    return;
                }
                self.stack.push(pair);
                self.compare_keywords(&o, &n, path);
                self.stack.pop();
            }
        }
    }

    fn compare_keywords(&mut self, o: &Node<'a>, n: &Node<'a>, path: &str) {
        self.types(o, n, path);
        self.enums(o, n, path);
        for (keyword, lower) in [
            ("minimum", true),
            ("exclusiveMinimum", true),
            ("maximum", false),
            ("exclusiveMaximum", false),
            ("minLength", true),
            ("maxLength", false),
            ("minItems", true),
            ("maxItems", false),
        ] {
            self.bound(o, n, path, keyword, lower);
        }
        self.multiple_of(o, n, path);
        self.text_rule(o, n, path, "pattern");
        self.text_rule(o, n, path, "format");
        self.unique_items(o, n, path);
        self.items(o, n, path);
        self.objects(o, n, path);
        self.unanalysed(o, n, path);
    }

    fn types(&mut self, o: &Node<'_>, n: &Node<'_>, path: &str) {
        let (before, after) = (types(o), types(n));
        let narrowed: Vec<&str> = ALL_TYPES
            .iter()
            .copied()
            .filter(|t| admits(&before, t) && !admits(&after, t))
            .collect();
        let widened: Vec<&str> = ALL_TYPES
            .iter()
            .copied()
            .filter(|t| admits(&after, t) && !admits(&before, t))
            .collect();
        if narrowed.is_empty() && widened.is_empty() {
            return;
        }
        let show = |t: &Option<Vec<&str>>| {
            t.as_ref()
                .map_or("any type".to_owned(), |l| format!("{l:?}"))
        };
        let mut change = Change::new(
            path,
            "type_changed",
            format!("type changed from {} to {}", show(&before), show(&after)),
        );
        if let Some(t) = narrowed.first() {
            change = change.breaks_backward(format!("{path} = {}", literal(t)));
        }
        if let Some(t) = widened.first() {
            change = change.breaks_forward(format!("{path} = {}", literal(t)));
        }
        self.push(change);
    }

    fn enums(&mut self, o: &Node<'_>, n: &Node<'_>, path: &str) {
        let values = |node: &Node<'_>| -> Option<(Vec<Value>, &'static str)> {
            if let Some(list) = node.get("enum").and_then(Value::as_array) {
                return Some((list.clone(), "enum value"));
            }
            node.get("const").map(|c| (vec![c.clone()], "const value"))
        };
        match (values(o), values(n)) {
            (Some((before, label)), Some((after, _))) => {
                for v in before.iter().filter(|v| !after.contains(v)) {
                    self.push(
                        Change::new(path, "enum_value_removed", format!("{label} {v} removed"))
                            .breaks_backward(format!("{path} = {v}")),
                    );
                }
                for v in after.iter().filter(|v| !before.contains(v)) {
                    self.push(
                        Change::new(path, "enum_value_added", format!("{label} {v} added"))
                            .breaks_forward(format!("{path} = {v}")),
                    );
                }
            }
            (None, Some((after, _))) => self.push(
                Change::new(
                    path,
                    "enum_added",
                    format!("values restricted to {}", Value::Array(after)),
                )
                .breaks_backward(format!("{path} = a value outside that list")),
            ),
            (Some((before, _)), None) => self.push(
                Change::new(
                    path,
                    "enum_removed",
                    format!(
                        "value list {} removed: any value is now accepted",
                        Value::Array(before)
                    ),
                )
                .breaks_forward(format!("{path} = a value outside the old list")),
            ),
            (None, None) => {}
        }
    }

    /// A numeric limit: a lower one breaks BACKWARD when raised or added.
    fn bound(&mut self, o: &Node<'_>, n: &Node<'_>, path: &str, keyword: &str, lower: bool) {
        let number = |node: &Node<'_>| node.get(keyword).and_then(Value::as_f64);
        let (before, after) = (number(o), number(n));
        let subject = |limit: f64| describe(keyword, limit);
        let tighter = |a: f64, b: f64| if lower { b > a } else { b < a };
        let change = match (before, after) {
            (Some(a), Some(b)) if a == b => return,
            (None, None) => return,
            (Some(a), Some(b)) => {
                let verb = if b > a { "raised" } else { "lowered" };
                let change = Change::new(
                    path,
                    "limit_changed",
                    format!("{keyword} {verb} from {a} to {b}"),
                );
                if tighter(a, b) {
                    change.breaks_backward(format!("{path} = {}", subject(a)))
                } else {
                    change.breaks_forward(format!("{path} = {}", subject(b)))
                }
            }
            (None, Some(b)) => Change::new(path, "limit_added", format!("{keyword} {b} added"))
                .breaks_backward(format!("{path} = {}", beyond(keyword, b, lower))),
            (Some(a), None) => Change::new(path, "limit_removed", format!("{keyword} {a} removed"))
                .breaks_forward(format!("{path} = {}", beyond(keyword, a, lower))),
        };
        self.push(change);
    }

    fn multiple_of(&mut self, o: &Node<'_>, n: &Node<'_>, path: &str) {
        let number = |node: &Node<'_>| node.get("multipleOf").and_then(Value::as_f64);
        let divides = |a: f64, b: f64| (a / b).fract() == 0.0;
        let change = match (number(o), number(n)) {
            (Some(a), Some(b)) if a == b => return,
            (None, None) => return,
            (Some(a), Some(b)) => {
                let mut change = Change::new(
                    path,
                    "multiple_of_changed",
                    format!("multipleOf changed from {a} to {b}"),
                );
                if !divides(a, b) {
                    change = change.breaks_backward(format!("{path} = {a}"));
                }
                if !divides(b, a) {
                    change = change.breaks_forward(format!("{path} = {b}"));
                }
                change
            }
            (None, Some(b)) => {
                Change::new(path, "multiple_of_added", format!("multipleOf {b} added"))
                    .breaks_backward(format!("{path} = a number that is not a multiple of {b}"))
            }
            (Some(a), None) => Change::new(
                path,
                "multiple_of_removed",
                format!("multipleOf {a} removed"),
            )
            .breaks_forward(format!("{path} = a number that is not a multiple of {a}")),
        };
        self.push(change);
    }

    /// `pattern` and `format`: regular languages Takt does not compare, so
    /// any change other than adding or removing one is breaking both ways.
    fn text_rule(&mut self, o: &Node<'a>, n: &Node<'a>, path: &str, keyword: &'static str) {
        let text =
            |node: &Node<'a>| -> Option<&'a str> { node.get(keyword).and_then(Value::as_str) };
        let (rule_added, rule_removed, rule_changed) = match keyword {
            "pattern" => ("pattern_added", "pattern_removed", "pattern_changed"),
            _ => ("format_added", "format_removed", "format_changed"),
        };
        let change = match (text(o), text(n)) {
            (a, b) if a == b => return,
            (None, Some(b)) => Change::new(path, rule_added, format!("{keyword} {b:?} added"))
                .breaks_backward(format!("{path} = a string not matching {keyword} {b:?}")),
            (Some(a), None) => Change::new(path, rule_removed, format!("{keyword} {a:?} removed"))
                .breaks_forward(format!("{path} = a string not matching {keyword} {a:?}")),
            (Some(a), Some(b)) => Change::new(path, rule_changed, format!("{keyword} changed from {a:?} to {b:?} (Takt cannot prove one accepts every string of the other)"))
                .breaks_backward(format!("{path} = a string matching {a:?} but not {b:?}"))
                .breaks_forward(format!("{path} = a string matching {b:?} but not {a:?}")),
            (None, None) => return,
        };
        self.push(change);
    }

    fn unique_items(&mut self, o: &Node<'_>, n: &Node<'_>, path: &str) {
        let unique = |node: &Node<'_>| {
            node.get("uniqueItems")
                .and_then(Value::as_bool)
                .unwrap_or(false)
        };
        let example = format!("{path} = an array with a repeated item");
        match (unique(o), unique(n)) {
            (false, true) => self.push(
                Change::new(
                    path,
                    "unique_items_added",
                    "uniqueItems added: repeated items are now rejected",
                )
                .breaks_backward(example),
            ),
            (true, false) => self.push(
                Change::new(
                    path,
                    "unique_items_removed",
                    "uniqueItems removed: repeated items are now accepted",
                )
                .breaks_forward(example),
            ),
            _ => {}
        }
    }

    fn items(&mut self, o: &Node<'a>, n: &Node<'a>, path: &str) {
        let (before, after) = (o.get("items"), n.get("items"));
        if before.is_none() && after.is_none() {
            return;
        }
        let is_tuple = |v: Option<&Value>| matches!(v, Some(Value::Array(_)));
        if is_tuple(before) || is_tuple(after) {
            if before != after {
                self.push(unanalysed_change(path, "items (tuple form)", before, after));
            }
            return;
        }
        let item_path = format!("{path}/*");
        self.compare(before.unwrap_or(&TRUE), after.unwrap_or(&TRUE), &item_path);
    }

    fn unanalysed(&mut self, o: &Node<'_>, n: &Node<'_>, path: &str) {
        let keywords: BTreeSet<&String> = o
            .other_keywords()
            .into_iter()
            .chain(n.other_keywords())
            .map(|(k, _)| k)
            .collect();
        for keyword in keywords {
            let (before, after) = (o.get(keyword), n.get(keyword));
            if before != after || before.is_some_and(contains_ref) {
                self.push(unanalysed_change(path, keyword, before, after));
            }
        }
    }
}

/// A change to a keyword Takt does not model: adding a constraint narrows,
/// removing one widens, and changing one may do both.
fn unanalysed_change(
    path: &str,
    keyword: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Change {
    let example =
        format!("{path} = a value that passes one version's {keyword} but not the other's");
    match (before, after) {
        (None, _) => Change::new(path, "unanalysed_keyword_added", format!("{keyword} added (Takt does not analyse {keyword}, so it counts as a new constraint)"))
            .breaks_backward(example),
        (_, None) => Change::new(path, "unanalysed_keyword_removed", format!("{keyword} removed (Takt does not analyse {keyword}, so it counts as a dropped constraint)"))
            .breaks_forward(example),
        _ => Change::new(path, "unanalysed_keyword_changed", format!("{keyword} changed (Takt does not analyse {keyword}, so both directions count as breaking)"))
            .breaks_backward(example.clone())
            .breaks_forward(example),
    }
}

/// A value exactly at `limit` for a limit keyword, e.g. `a string of 40 characters`.
fn describe(keyword: &str, limit: f64) -> String {
    match keyword {
        "minLength" | "maxLength" => format!("a string of {limit} characters"),
        "minItems" | "maxItems" => format!("an array of {limit} items"),
        "exclusiveMinimum" => format!("a number just above {limit}"),
        "exclusiveMaximum" => format!("a number just below {limit}"),
        _ => format!("{limit}"),
    }
}

/// A value on the wrong side of a newly added (or dropped) limit.
fn beyond(keyword: &str, limit: f64, lower: bool) -> String {
    let side = if lower { "below" } else { "above" };
    match keyword {
        "minLength" | "maxLength" => format!("a string {side} {limit} characters"),
        "minItems" | "maxItems" => format!("an array {side} {limit} items"),
        _ => format!("a number {side} {limit}"),
    }
}
