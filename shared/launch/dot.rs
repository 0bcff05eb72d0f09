//! `copipe graph SPEC --dot`: the wired graph, inserted stages included, as Graphviz DOT.
//!
//! Stages are boxes labelled with their position and command; inserted broadcasts and merges
//! are dashed diamonds; each edge is labelled with what it carries. Stages placed on another
//! host (`name@host = ...`) are grouped in a cluster named after the host.

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
    // Node lines, this host's first, then one group per remote host in order of appearance.
    let mut groups: Vec<(Option<&str>, String)> = vec![(None, String::new())];
    for node in &graph.nodes {
        let host = node.program.host();
        let g = groups
            .iter()
            .position(|(h, _)| *h == host)
            .unwrap_or_else(|| {
                groups.push((host, String::new()));
                groups.len() - 1
            });
        let out = &mut groups[g].1;
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
            Role::NatsPub | Role::NatsSub => (
                format!("{}: {}", node.position, command_text(&node.argv)),
                "shape=cylinder, style=dashed",
            ),
        };
        let _ = writeln!(
            out,
            "  n{} [label=\"{}\", {style}];",
            node.position,
            escape(&label)
        );
    }
    for (i, (host, lines)) in groups.iter().enumerate() {
        match host {
            None => out.push_str(lines),
            Some(host) => {
                let _ = writeln!(
                    out,
                    "  subgraph cluster_{i} {{\n  label=\"{}\";\n  style=rounded;",
                    escape(host)
                );
                out.push_str(lines);
                out.push_str("  }\n");
            }
        }
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
