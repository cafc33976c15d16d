//! Object rules: properties added or removed, `required`, open vs closed
//! models (`additionalProperties`).
//!
//! A property a schema does not declare is governed by its
//! `patternProperties` or `additionalProperties` (absent means any value).
//! So "adding an optional property" means different things: to a closed model
//! it breaks FORWARD (old consumers reject the new field: the classic trap);
//! to an open model it breaks BACKWARD (old producers may already send that
//! name with any value).

use std::collections::BTreeSet;

use regex::Regex;
use serde_json::{Map, Value};

use super::change::Change;
use super::diff::{Differ, TRUE};
use super::sample::{accepted, rejected};
use super::schema::Node;
use crate::validate::pointer_segment as segment;

fn properties<'a>(node: &Node<'a>) -> Option<&'a Map<String, Value>> {
    node.get("properties").and_then(Value::as_object)
}

fn required<'a>(node: &Node<'a>) -> BTreeSet<&'a str> {
    let list = node.get("required").and_then(Value::as_array);
    list.into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect()
}

fn additional<'a>(node: &Node<'a>) -> &'a Value {
    node.get("additionalProperties").unwrap_or(&TRUE)
}

/// The subschema that governs property `name` when `properties` omits it.
fn undeclared<'a>(node: &Node<'a>, name: &str) -> &'a Value {
    let patterns = node.get("patternProperties").and_then(Value::as_object);
    let matching = patterns
        .into_iter()
        .flatten()
        .find(|(pattern, _)| Regex::new(pattern).is_ok_and(|re| re.is_match(name)));
    matching.map_or_else(|| additional(node), |(_, schema)| schema)
}

impl<'a> Differ<'a> {
    pub(super) fn objects(&mut self, o: &Node<'a>, n: &Node<'a>, path: &str) {
        let (before, after) = (properties(o), properties(n));
        let names: BTreeSet<&String> = before
            .iter()
            .chain(after.iter())
            .flat_map(|m| m.keys())
            .collect();
        for name in names {
            let child = format!("{path}/{}", segment(name));
            match (
                before.and_then(|m| m.get(name)),
                after.and_then(|m| m.get(name)),
            ) {
                (Some(a), Some(b)) => self.compare(a, b, &child),
                (None, Some(b)) => self.property_added(o, b, name, &child),
                (Some(a), None) => self.property_removed(a, n, name, &child),
                (None, None) => {}
            }
        }
        self.required(o, n, path);
        self.additional_properties(o, n, path);
        if o.get("patternProperties") != n.get("patternProperties") {
            self.push(
                Change::new(path, "pattern_properties_changed", "patternProperties changed (Takt does not analyse it, so both directions count as breaking)")
                    .breaks_backward(format!("{path} = an object with a property matching the old patterns"))
                    .breaks_forward(format!("{path} = an object with a property matching the new patterns")),
            );
        }
    }

    fn property_added(&mut self, o: &Node<'a>, declared: &'a Value, name: &str, path: &str) {
        let governing = undeclared(o, name);
        let new_node = Node::resolve(self.new_root, declared);
        match Node::resolve(self.old_root, governing) {
            Node::Nothing if !matches!(new_node, Node::Nothing) => self.push(
                Change::new(path, "property_added_to_closed_model", "property added to a closed model (additionalProperties: false)")
                    .breaks_forward(format!("a message with {path} = {}", accepted(&new_node))),
            ),
            Node::Any if !matches!(new_node, Node::Any) => self.push(
                Change::new(path, "property_added_to_open_model", "property added to an open model, where the old version allowed any value under this name")
                    .breaks_backward(format!("a message with {path} = {}", rejected(&new_node))),
            ),
            Node::Nothing | Node::Any => {}
            _ => self.compare(governing, declared, path),
        }
    }

    fn property_removed(&mut self, declared: &'a Value, n: &Node<'a>, name: &str, path: &str) {
        let governing = undeclared(n, name);
        let old_node = Node::resolve(self.old_root, declared);
        match Node::resolve(self.new_root, governing) {
            Node::Nothing if !matches!(old_node, Node::Nothing) => self.push(
                Change::new(
                    path,
                    "property_removed_from_closed_model",
                    "property removed from a closed model (additionalProperties: false)",
                )
                .breaks_backward(format!("a message with {path} = {}", accepted(&old_node))),
            ),
            Node::Any if !matches!(old_node, Node::Any) => self.push(
                Change::new(
                    path,
                    "property_removed_from_open_model",
                    "property removed; the open model now allows any value under this name",
                )
                .breaks_forward(format!("a message with {path} = {}", rejected(&old_node))),
            ),
            Node::Nothing | Node::Any => {}
            _ => self.compare(declared, governing, path),
        }
    }

    fn required(&mut self, o: &Node<'a>, n: &Node<'a>, path: &str) {
        let (before, after) = (required(o), required(n));
        for name in after.difference(&before) {
            let child = format!("{path}/{}", segment(name));
            self.push(
                Change::new(&child, "required_added", "property is now required")
                    .breaks_backward(format!("a message without {child}")),
            );
        }
        for name in before.difference(&after) {
            let child = format!("{path}/{}", segment(name));
            self.push(
                Change::new(&child, "required_removed", "property is no longer required")
                    .breaks_forward(format!("a message without {child}")),
            );
        }
    }

    fn additional_properties(&mut self, o: &Node<'a>, n: &Node<'a>, path: &str) {
        let (before, after) = (additional(o), additional(n));
        let old_node = Node::resolve(self.old_root, before);
        let new_node = Node::resolve(self.new_root, after);
        let extra = format!("a message with an undeclared property {path}/extraField = 1");
        match (old_node, new_node) {
            (Node::Nothing, Node::Nothing) | (Node::Any, Node::Any) => {}
            (Node::Nothing, _) => self.push(
                Change::new(
                    path,
                    "model_opened",
                    "additionalProperties is no longer false: the model is now open",
                )
                .breaks_forward(extra),
            ),
            (_, Node::Nothing) => self.push(
                Change::new(
                    path,
                    "model_closed",
                    "additionalProperties set to false: the model is now closed",
                )
                .breaks_backward(extra),
            ),
            _ => self.compare(before, after, &format!("{path}/<undeclared>")),
        }
    }
}
