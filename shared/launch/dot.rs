//! `copipe graph SPEC --dot`: the wired graph, inserted stages included, as Graphviz DOT.
//!
//! Stages are boxes labelled with their position and command; inserted broadcasts and merges
//! are dashed diamonds; each edge is labelled with what it carries.

use std::fmt::Write as _;

use super::graph::{Graph, Role};
use super::spec::command_text;

/// Escapes text for a double-quoted DOT string.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The graph in DOT.
pub fn to_dot(graph: &Graph) -> String {
    let mut out =
        String::from("digraph copipe {\n  rankdir=LR;\n  node [fontname=\"monospace\"];\n");
    for node in &graph.nodes {
        let (label, style) = match node.role {
            Role::User(_) => {
                let mut label = format!("{}: {}", node.position, command_text(&node.argv));
                if let Some(name) = &node.name {
                    label = format!("{name}\n{label}");
                }
                (label, "shape=box")
            }
            Role::Broadcast | Role::Merge => (
                format!("{}: {}", node.position, node.argv[0]),
                "shape=diamond, style=dashed",
            ),
        };
        let _ = writeln!(
            out,
            "  n{} [label=\"{}\", {style}];",
            node.position,
            escape(&label)
        );
    }
    for link in &graph.links {
        let _ = writeln!(
            out,
            "  n{} -> n{} [label=\"{}\"];",
            graph.nodes[link.from].position, graph.nodes[link.to].position, link.flow
        );
    }
    out.push_str("}\n");
    out
}

/// The graph as plain text: one line per stage with what feeds it.
pub fn to_text(graph: &Graph) -> String {
    let mut out = String::new();
    for node in &graph.nodes {
        let feeders: Vec<String> = node
            .inputs
            .iter()
            .map(|&l| {
                let link = &graph.links[l];
                format!("{} ({})", graph.nodes[link.from].position, link.flow)
            })
            .collect();
        let _ = write!(out, "{}", node.title());
        if !feeders.is_empty() {
            let _ = write!(out, " <- {}", feeders.join(", "));
        }
        out.push('\n');
    }
    out
}
