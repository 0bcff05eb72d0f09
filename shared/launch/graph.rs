//! The wired graph: what runs, and the mistakes found before anything does.
//!
//! A [`Graph`] is the spec made explicit: every program found ([`Located`]), every link's
//! [`Flow`] checked, and a `co-broadcast` after each stage feeding several others, a
//! `co-merge` before each stage fed by several, so every stage but those has at most one
//! input and one output. [`super::plan`] builds it; [`super::spawn`] runs it.

use std::fmt;
use std::path::{Path, PathBuf};

use super::find::Located;
use super::spec::{command_text, Carrier, Pos};
use crate::protocol::{Flow, Port, StageInfo};

/// Why a stage is in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Written in the spec (index into the spec's stages).
    User(usize),
    /// A `co-broadcast` inserted after a stage that feeds several others.
    Broadcast,
    /// A `co-merge` inserted before a stage that several others feed.
    Merge,
    /// A `co-nats-pub` inserted at the writing end of a `nats:` link.
    NatsPub,
    /// A `co-nats-sub` inserted at the reading end of a `nats:` link.
    NatsSub,
}

/// One process of the wired graph.
#[derive(Clone, Debug)]
pub struct Node {
    /// 1-based place in graph order (the order stages first appear in the spec, inserted
    /// stages beside the stage they serve): what messages call "stage N".
    pub position: usize,
    pub role: Role,
    /// The name given in the spec, if any.
    pub name: Option<String>,
    /// The command as written (inserted stages: their program name).
    pub argv: Vec<String>,
    /// The program that runs, and where.
    pub program: Located,
    /// What the program said to `--describe`; `None` when it did not answer.
    pub info: Option<StageInfo>,
    /// Links in, and out (indices into [`Graph::links`]), in spec order.
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
}

impl Node {
    /// How messages name the stage: `stage 3 "co-filter route=22"`.
    pub fn stage_ref(&self) -> StageRef {
        let command = match self.role {
            Role::User(_) => command_text(&self.argv),
            Role::Broadcast | Role::Merge | Role::NatsPub | Role::NatsSub => {
                format!("{} (inserted)", command_text(&self.argv))
            }
        };
        StageRef {
            position: self.position,
            command,
        }
    }

    /// `stage 3 "co-filter route=22"`, as a string.
    pub fn title(&self) -> String {
        self.stage_ref().to_string()
    }

    /// A short tag for the stage's stderr lines: its name, or its program's file name.
    pub fn tag(&self) -> String {
        let short = self.name.clone().unwrap_or_else(|| {
            Path::new(&self.argv[0]).file_name().map_or_else(
                || self.argv[0].clone(),
                |n| n.to_string_lossy().into_owned(),
            )
        });
        format!("{} {short}", self.position)
    }

    /// True when the stage takes its inputs as paths (`co-merge`).
    pub fn many_inputs(&self) -> bool {
        self.info.as_ref().is_some_and(|p| p.many_inputs)
    }

    /// True when the stage takes its outputs as paths (`co-broadcast`).
    pub fn many_outputs(&self) -> bool {
        self.info.as_ref().is_some_and(|p| p.many_outputs)
    }

    /// True when the stage reads something (an input port other than `none`).
    pub fn reads(&self) -> bool {
        self.info.as_ref().is_none_or(|p| p.input != Port::None)
    }

    /// True when the stage writes something (an output port other than `none`).
    pub fn writes(&self) -> bool {
        self.info.as_ref().is_none_or(|p| p.output != Port::None)
    }
}

/// A link of the wired graph.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub from: usize,
    pub to: usize,
    pub flow: Flow,
    /// What carries the events at run time.
    pub carrier: Carrier,
}

/// The wired graph: nodes in graph order, and links.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
    /// The stages restarted on failure, each with the ends of its `nats:` links.
    pub restarts: Vec<RestartUnit>,
}

/// Nodes restarted together when one of them fails: a stage with a restart policy and the
/// `co-nats-sub` and `co-nats-pub` of its links (nothing else holds a pipe to them).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RestartUnit {
    /// The nodes (indices into [`Graph::nodes`]), in graph order; the stage is `nodes[1]`.
    pub nodes: Vec<usize>,
    /// Restarts allowed.
    pub max: u32,
}

impl Graph {
    /// Adds a link and records it on both of its ends.
    pub fn add_link(&mut self, from: usize, to: usize, flow: Flow, carrier: Carrier) {
        let l = self.links.len();
        self.links.push(Link {
            from,
            to,
            flow,
            carrier,
        });
        self.nodes[from].outputs.push(l);
        self.nodes[to].inputs.push(l);
    }

    /// Stages with no input link: they start the flow.
    pub fn sources(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.inputs.is_empty())
    }

    /// The stages a drain (the first Ctrl-C) asks to stop: on every path, the first stage
    /// that writes events. A source writing events stops itself, between two events. A
    /// source writing text (a document, a log) is not stopped mid-document: the stage that
    /// turns its text into events stops reading instead, at an event boundary, so no stage
    /// downstream sees a document cut mid-token; the text source then finds its reader gone,
    /// a quiet early exit. A path that never reaches events (`co-gen-buses | cat`) is
    /// stopped at its last stage.
    pub fn drain_points(&self) -> Vec<usize> {
        let text = |l: &usize| self.links[*l].flow == Flow::Text;
        (0..self.nodes.len())
            .filter(|&i| {
                let node = &self.nodes[i];
                let fed_text_only = node.inputs.iter().all(text);
                let writes_text_only = !node.outputs.is_empty() && node.outputs.iter().all(text);
                fed_text_only && !writes_text_only
            })
            .collect()
    }
}

/// How messages name a stage: its 1-based position and its command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StageRef {
    pub position: usize,
    /// The command as written, quoted for display.
    pub command: String,
}

/// The longest command a message shows in full; a longer one (a 200 KB argument) is cut.
const SHOWN_COMMAND: usize = 160;

impl fmt::Display for StageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let command = &self.command;
        if command.len() <= SHOWN_COMMAND {
            return write!(f, "stage {} \"{command}\"", self.position);
        }
        let mut cut = SHOWN_COMMAND - 20;
        while !command.is_char_boundary(cut) {
            cut -= 1;
        }
        write!(
            f,
            "stage {} \"{}...\" ({} bytes)",
            self.position,
            &command[..cut],
            command.len()
        )
    }
}

/// Where the launcher looked for a program it did not find.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Looked {
    /// The name held a `/`: only that path.
    AtPath,
    /// Beside the `copipe` executable (in this directory), then on `PATH`.
    Beside(PathBuf),
    /// On `PATH` only (the launcher's own directory is unknown).
    OnPath,
    /// On another host, by its agent (`places` as the agent says: beside its `copipe`, PATH).
    OnHost { host: String, places: String },
    /// On another host, where a program of that name answers `--describe` unlike the one
    /// this launcher means (an inserted stage of another copipe version).
    Unlike { host: String, said: String },
}

impl fmt::Display for Looked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Looked::AtPath => f.write_str("no executable file at that path"),
            Looked::Beside(dir) => {
                write!(f, "looked beside copipe in {} or on PATH", dir.display())
            }
            Looked::OnPath => f.write_str("looked on PATH"),
            Looked::OnHost { host, places } => write!(f, "looked on host {host}, {places}"),
            Looked::Unlike { host, said } => write!(
                f,
                "on host {host} it answers --describe with {said}, unlike the one this copipe inserts: install the same copipe version there"
            ),
        }
    }
}

/// A mistake in the graph, found before anything runs, at a place in the spec.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{pos}: {problem}")]
pub struct GraphError {
    pub pos: Pos,
    pub problem: Problem,
}

/// What is wrong with a graph. The stages named are those of the spec (positions in spec
/// order).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("{stage}: program {program:?} not found ({looked})")]
    ProgramNotFound {
        stage: StageRef,
        program: String,
        looked: Looked,
    },
    #[error("this link closes a cycle ({from} feeds back into {to}); a graph must not loop")]
    Cycle { from: StageRef, to: StageRef },
    #[error("{from} writes nothing (its output is none), so it cannot feed {to}")]
    WritesNothing { from: StageRef, to: StageRef },
    #[error("{to} reads nothing (it is a source), so {from} cannot feed it")]
    ReadsNothing { from: StageRef, to: StageRef },
    #[error("type mismatch: {from} writes {flow}, but {to} reads {port}")]
    Mismatch {
        from: StageRef,
        flow: Flow,
        to: StageRef,
        port: Port,
    },
    #[error("{from} writes text, and text cannot be merged into {to} with others; fan-in needs events (put co-lines after it)")]
    TextFanIn { from: StageRef, to: StageRef },
    #[error("{to} is fed {first_flow} by {first} but {flow} by {from}; all the stages feeding one stage must write one kind")]
    MixedFeeds {
        to: StageRef,
        first: StageRef,
        first_flow: Flow,
        from: StageRef,
        flow: Flow,
    },
    #[error("{from} writes text, and text cannot be broadcast; fan-out needs events (put co-lines after it)")]
    TextFanOut { from: StageRef },
    #[error("{stage}: restart=on-failure is refused here: {why}")]
    RestartUnsafe { stage: StageRef, why: &'static str },
    #[error("{from} writes text, and a nats: link carries events (put co-lines before it)")]
    NatsText { from: StageRef },
    #[error("this graph needs {program} (for its nats: links), which was not found ({looked})")]
    NatsNotFound { program: String, looked: Looked },
    #[error("this graph needs {program} (fan-{fan}), which was not found ({looked})")]
    HelperNotFound {
        program: String,
        fan: &'static str,
        looked: Looked,
    },
}

impl Problem {
    /// This problem at `pos`.
    pub fn at(self, pos: Pos) -> GraphError {
        GraphError { pos, problem: self }
    }
}
