//! The catalog as a graph: systems → interfaces → systems, with the
//! contracts on the edges, `depends_on` as dashed edges, and subscriptions
//! between the interfaces whose contracts they deliver and their
//! destination. Rendered as Graphviz DOT or Mermaid.

use std::collections::BTreeMap;
use std::fmt::Write;

use takt_model::config::InterfaceConfig;

use super::{interface_sites, sites_overlap};
use crate::deployment::Deployment;

/// A graph language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    /// Graphviz: `takt catalog graph --format dot | dot -Tsvg > catalog.svg`.
    Dot,
    /// Mermaid `flowchart`: paste into Markdown on GitHub or GitLab.
    Mermaid,
}

/// The shape a node is drawn with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    System,
    Interface,
    Subscription,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Style {
    Flow,
    DependsOn,
    Feeds,
}

struct Node {
    id: String,
    kind: Kind,
    label: Vec<String>,
}

struct Edge {
    from: String,
    to: String,
    label: Vec<String>,
    style: Style,
}

/// Renders the deployment's catalog in `format`.
pub fn render(deployment: &Deployment, format: GraphFormat) -> String {
    let (nodes, edges) = build(deployment);
    match format {
        GraphFormat::Dot => dot(&nodes, &edges),
        GraphFormat::Mermaid => mermaid(&nodes, &edges),
    }
}

/// Node ids by (kind prefix, name): `s<n>` systems, `i<n>` interfaces,
/// `u<n>` subscriptions, numbered by name.
type Ids = BTreeMap<(&'static str, String), String>;

fn build(deployment: &Deployment) -> (Vec<Node>, Vec<Edge>) {
    let mut nodes = Vec::new();
    let mut ids = Ids::new();
    let kinds: [(&'static str, Kind, Vec<&String>); 3] = [
        ("s", Kind::System, deployment.systems.keys().collect()),
        ("i", Kind::Interface, deployment.interfaces.keys().collect()),
        (
            "u",
            Kind::Subscription,
            deployment.subscriptions.keys().collect(),
        ),
    ];
    for (prefix, kind, names) in kinds {
        for (index, name) in names.into_iter().enumerate() {
            let id = format!("{prefix}{index}");
            ids.insert((prefix, name.clone()), id.clone());
            let label = label(deployment, kind, name);
            nodes.push(Node { id, kind, label });
        }
    }
    let mut edges = Edges {
        ids: &ids,
        found: Vec::new(),
    };
    for interface in deployment.interfaces.values() {
        edges.of_interface(deployment, interface);
    }
    for subscription in deployment.subscriptions.values() {
        let (name, destination) = (&subscription.name, &subscription.destination);
        edges.add(
            ("u", name),
            ("s", destination),
            subscription.contracts.clone(),
            Style::Flow,
        );
    }
    (nodes, edges.found)
}

/// Edges between known nodes (an edge to an unknown name is left out).
struct Edges<'a> {
    ids: &'a Ids,
    found: Vec<Edge>,
}

impl Edges<'_> {
    fn add(
        &mut self,
        from: (&'static str, &String),
        to: (&'static str, &String),
        label: Vec<String>,
        style: Style,
    ) {
        let id = |(prefix, name): (&'static str, &String)| {
            self.ids.get(&(prefix, name.clone())).cloned()
        };
        if let (Some(from), Some(to)) = (id(from), id(to)) {
            self.found.push(Edge {
                from,
                to,
                label,
                style,
            });
        }
    }

    /// Producers → interface → consumers, `depends_on`, and the
    /// subscriptions the interface feeds.
    fn of_interface(&mut self, deployment: &Deployment, interface: &InterfaceConfig) {
        let me = ("i", &interface.name);
        for producer in &interface.producers {
            self.add(
                ("s", producer),
                me,
                interface.contracts.clone(),
                Style::Flow,
            );
        }
        for consumer in &interface.consumers {
            self.add(
                me,
                ("s", consumer),
                interface.contracts.clone(),
                Style::Flow,
            );
        }
        for needed in &interface.depends_on {
            self.add(
                me,
                ("i", needed),
                vec!["depends on".into()],
                Style::DependsOn,
            );
        }
        let sites = interface_sites(deployment, interface);
        for subscription in deployment.subscriptions.values() {
            let wanted = subscription.sites.iter().cloned().collect();
            let carried = subscription
                .contracts
                .iter()
                .any(|c| interface.contracts.contains(c));
            let here = subscription.sites.is_empty() || sites_overlap(&sites, &wanted);
            if carried && here {
                self.add(me, ("u", &subscription.name), Vec::new(), Style::Feeds);
            }
        }
    }
}

fn label(deployment: &Deployment, kind: Kind, name: &str) -> Vec<String> {
    let mut lines = vec![name.to_owned()];
    match kind {
        Kind::System => {
            if let Some(system) = deployment.systems.get(name) {
                lines.push(format!(
                    "{} · sites {}",
                    system.owner,
                    system.sites.join(",")
                ));
            }
        }
        Kind::Interface => {
            if let Some(interface) = deployment.interfaces.get(name) {
                let tier = interface
                    .tier
                    .map_or("tier ?".into(), |t| format!("tier {}", t.get()));
                let pattern = serde_json::to_value(interface.pattern)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default();
                lines.push(format!("{pattern} · {tier} · {}", interface.owner));
            }
        }
        Kind::Subscription => {
            if let Some(subscription) = deployment.subscriptions.get(name) {
                lines.push(format!("subscription · {}", subscription.owner));
            }
        }
    }
    lines
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"")
}

fn dot(nodes: &[Node], edges: &[Edge]) -> String {
    let mut out = String::from(
        "digraph takt {\n  rankdir=LR;\n  node [fontname=\"Helvetica\", fontsize=10];\n  edge [fontname=\"Helvetica\", fontsize=8];\n",
    );
    for node in nodes {
        let shape = match node.kind {
            Kind::System => "box",
            Kind::Interface => "ellipse",
            Kind::Subscription => "cds",
        };
        let label: Vec<String> = node.label.iter().map(|l| dot_escape(l)).collect();
        let _ = writeln!(
            out,
            "  {} [shape={shape}, label=\"{}\"];",
            node.id,
            label.join("\\n")
        );
    }
    for edge in edges {
        let style = match edge.style {
            Style::Flow => "solid",
            Style::DependsOn => "dashed",
            Style::Feeds => "dotted",
        };
        let label: Vec<String> = edge.label.iter().map(|l| dot_escape(l)).collect();
        let _ = writeln!(
            out,
            "  {} -> {} [style={style}, label=\"{}\"];",
            edge.from,
            edge.to,
            label.join("\\n")
        );
    }
    out.push_str("}\n");
    out
}

fn mermaid_escape(text: &str) -> String {
    text.replace('"', "#quot;")
}

fn mermaid(nodes: &[Node], edges: &[Edge]) -> String {
    let mut out = String::from("flowchart LR\n");
    for node in nodes {
        let label: Vec<String> = node.label.iter().map(|l| mermaid_escape(l)).collect();
        let label = label.join("<br/>");
        let _ = match node.kind {
            Kind::System => writeln!(out, "  {}[\"{label}\"]", node.id),
            Kind::Interface => writeln!(out, "  {}([\"{label}\"])", node.id),
            Kind::Subscription => writeln!(out, "  {}{{{{\"{label}\"}}}}", node.id),
        };
    }
    for edge in edges {
        let arrow = match edge.style {
            Style::Flow => "-->",
            Style::DependsOn | Style::Feeds => "-.->",
        };
        let label: Vec<String> = edge.label.iter().map(|l| mermaid_escape(l)).collect();
        let _ = if label.is_empty() {
            writeln!(out, "  {} {arrow} {}", edge.from, edge.to)
        } else {
            writeln!(
                out,
                "  {} {arrow}|\"{}\"| {}",
                edge.from,
                label.join("<br/>"),
                edge.to
            )
        };
    }
    out
}
