//! From a parsed spec to the graph that runs: programs found, kinds checked, fan-out and
//! fan-in made explicit.
//!
//! Every stage program is found (beside the `copipe` executable first, then on `PATH`; a
//! name with a `/` is a path) and asked `--describe`, which answers with the kinds of events
//! it reads and writes. Kinds are then followed through the graph in topological order (an
//! `any` output carries whatever its input carries) and every link is checked before anything
//! starts. A program that does not answer `--describe` is left unchecked: the stream header
//! still catches a mismatch at run time.
//!
//! The checked graph is then *wired*: a stage feeding several others gets a `co-broadcast`
//! after it, a stage fed by several gets a `co-merge` before it, so every remaining stage has
//! at most one input and one output, except the broadcasts and merges, which take theirs as
//! paths.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::spec::{command_text, Pipeline, Pos};
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::protocol::Port;

/// How long a program may take to answer `--describe` before it is left unchecked.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(5);
/// `--describe` answers are one short JSON line; anything longer is not one.
const DESCRIBE_MAX_BYTES: u64 = 4096;

/// What a stage reads and writes, as its `--describe` says.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub struct Ports {
    pub input: Port,
    pub output: Port,
    #[serde(default)]
    pub many_inputs: bool,
    #[serde(default)]
    pub many_outputs: bool,
}

/// What flows on a link.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Flow {
    /// Plain bytes.
    Text,
    /// Frames of one kind of event.
    Events(EventKind),
    /// Frames of a kind not known before run time, or a program that did not describe itself.
    Unknown,
    /// Nothing: the writer's output is `none`.
    Nothing,
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Flow::Text => "text",
            Flow::Events(EventKind::Lines) => "line events",
            Flow::Events(EventKind::Xml) => "XML events",
            Flow::Events(EventKind::Records) => "records",
            Flow::Unknown => "unchecked",
            Flow::Nothing => "nothing",
        })
    }
}

fn port_text(port: Port) -> &'static str {
    match port {
        Port::Text => "text",
        Port::Lines => "line events",
        Port::Xml => "XML events",
        Port::Records => "records",
        Port::Any => "events of any kind",
        Port::None => "nothing",
    }
}

/// Why a stage is in the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Written in the spec (index into the spec's stages).
    User(usize),
    /// A `co-broadcast` inserted after a stage that feeds several others.
    Broadcast,
    /// A `co-merge` inserted before a stage that several others feed.
    Merge,
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
    /// The program that runs.
    pub program: PathBuf,
    /// `None` when the program did not answer `--describe`.
    pub ports: Option<Ports>,
    /// Links in, and out (indices into [`Graph::links`]), in spec order.
    pub inputs: Vec<usize>,
    pub outputs: Vec<usize>,
}

impl Node {
    /// `stage 3 "co-filter route=22"`: how messages name a stage.
    pub fn title(&self) -> String {
        let what = match self.role {
            Role::User(_) => command_text(&self.argv),
            Role::Broadcast | Role::Merge => format!("{} (inserted)", self.argv[0]),
        };
        format!("stage {} \"{what}\"", self.position)
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
        self.ports.is_some_and(|p| p.many_inputs)
    }

    /// True when the stage takes its outputs as paths (`co-broadcast`).
    pub fn many_outputs(&self) -> bool {
        self.ports.is_some_and(|p| p.many_outputs)
    }

    /// True when the stage reads something (an input port other than `none`).
    pub fn reads(&self) -> bool {
        self.ports.is_none_or(|p| p.input != Port::None)
    }

    /// True when the stage writes something (an output port other than `none`).
    pub fn writes(&self) -> bool {
        self.ports.is_none_or(|p| p.output != Port::None)
    }
}

/// A link of the wired graph: an anonymous pipe at run time.
#[derive(Clone, Copy, Debug)]
pub struct Link {
    pub from: usize,
    pub to: usize,
    pub flow: Flow,
}

/// The wired graph: nodes in graph order, and links.
#[derive(Clone, Debug, Default)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub links: Vec<Link>,
}

/// Where stage programs are looked for.
#[derive(Clone, Debug)]
pub struct Finder {
    /// The directory of the `copipe` executable, searched first.
    pub beside: Option<PathBuf>,
    /// `PATH`.
    pub path: Vec<PathBuf>,
}

impl Finder {
    /// Beside the running executable, then `PATH`.
    pub fn from_env() -> Self {
        let beside = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf));
        let path = std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect())
            .unwrap_or_default();
        Finder { beside, path }
    }

    /// The program for `name`: a name with a `/` is a path; otherwise the first executable
    /// file of that name beside `copipe` or on `PATH`.
    pub fn find(&self, name: &str) -> Option<PathBuf> {
        if name.contains('/') {
            let path = PathBuf::from(name);
            return is_executable(&path).then_some(path);
        }
        if name.is_empty() {
            return None;
        }
        self.beside
            .iter()
            .chain(&self.path)
            .map(|dir| dir.join(name))
            .find(|p| is_executable(p))
    }

    fn describe_places(&self) -> String {
        match &self.beside {
            Some(dir) => format!("beside copipe in {} or on PATH", dir.display()),
            None => "on PATH".into(),
        }
    }
}

fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// Asks each program `--describe`, all at once; a program that fails, answers something
/// else, or takes longer than [`DESCRIBE_TIMEOUT`] is left unchecked (`None`).
pub fn describe_all(programs: &[PathBuf]) -> Vec<Option<Ports>> {
    let (tx, rx) = mpsc::channel();
    let mut pids = Vec::new();
    let mut answers: Vec<Option<Ports>> = vec![None; programs.len()];
    let mut waiting = 0;
    for (i, program) in programs.iter().enumerate() {
        let spawned = Command::new(program)
            .arg("--describe")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut child) = spawned else { continue };
        pids.push((i, child.id()));
        waiting += 1;
        let tx = tx.clone();
        std::thread::spawn(move || {
            let mut out = Vec::new();
            if let Some(stdout) = child.stdout.take() {
                let _ = stdout.take(DESCRIBE_MAX_BYTES).read_to_end(&mut out);
            }
            let ok = child.wait().is_ok_and(|s| s.success());
            let ports = ok
                .then(|| serde_json::from_slice::<Ports>(&out).ok())
                .flatten();
            let _ = tx.send((i, ports));
        });
    }
    drop(tx);
    let deadline = Instant::now() + DESCRIBE_TIMEOUT;
    while waiting > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((i, ports)) => {
                answers[i] = ports;
                waiting -= 1;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Too slow to be a stage answering --describe: stop it, leave it unchecked.
                for &(i, pid) in &pids {
                    if answers[i].is_none() {
                        // SAFETY: kill(2) on a child we spawned and have not reaped yet.
                        unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                    }
                }
                for (i, _) in &rx {
                    answers[i] = None;
                }
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    answers
}

/// A mistake in the graph, found before anything runs: `source:line:column: message`.
fn graph_error(source: &str, pos: Pos, message: String) -> Error {
    Error::Usage(format!("{source}:{pos}: {message}"))
}

/// The flow a stage writes, given the flow it reads.
fn output_flow(ports: Option<Ports>, input: Flow) -> Flow {
    let Some(ports) = ports else {
        return Flow::Unknown;
    };
    match ports.output {
        Port::Text => Flow::Text,
        Port::Lines => Flow::Events(EventKind::Lines),
        Port::Xml => Flow::Events(EventKind::Xml),
        Port::Records => Flow::Events(EventKind::Records),
        Port::None => Flow::Nothing,
        Port::Any => match input {
            Flow::Events(kind) => Flow::Events(kind),
            _ => Flow::Unknown,
        },
    }
}

/// Whether `flow` may go into a stage reading `port`.
fn accepts(port: Port, flow: Flow) -> bool {
    matches!(
        (port, flow),
        (_, Flow::Unknown)
            | (Port::Text, Flow::Text)
            | (Port::Any, Flow::Events(_))
            | (Port::Lines, Flow::Events(EventKind::Lines))
            | (Port::Xml, Flow::Events(EventKind::Xml))
            | (Port::Records, Flow::Events(EventKind::Records))
    )
}

/// Builds the wired graph of a parsed spec: finds the programs, checks the kinds on every
/// link, inserts broadcasts and merges. `source` names the spec in error messages. Nothing
/// is started except the `--describe` queries.
#[allow(clippy::too_many_lines)] // being split into pure steps (issue 9)
pub fn build(pipeline: &Pipeline, source: &str, finder: &Finder) -> Result<Graph> {
    let n = pipeline.stages.len();
    let title = |i: usize| {
        format!(
            "stage {} \"{}\"",
            i + 1,
            command_text(&pipeline.stages[i].argv)
        )
    };

    // Programs, found before anything else so a missing one is reported first.
    let mut programs = Vec::with_capacity(n);
    for (i, stage) in pipeline.stages.iter().enumerate() {
        let name = &stage.argv[0];
        let program = finder.find(name).ok_or_else(|| {
            let places = if name.contains('/') {
                "no executable file at that path".to_string()
            } else {
                format!("looked {}", finder.describe_places())
            };
            graph_error(
                source,
                stage.pos,
                format!("{}: program {name:?} not found ({places})", title(i)),
            )
        })?;
        programs.push(program);
    }
    let mut distinct: Vec<PathBuf> = programs.clone();
    distinct.sort();
    distinct.dedup();
    let described: HashMap<PathBuf, Option<Ports>> = distinct
        .iter()
        .cloned()
        .zip(describe_all(&distinct))
        .collect();
    let ports: Vec<Option<Ports>> = programs.iter().map(|p| described[p]).collect();

    let mut ins: Vec<Vec<usize>> = vec![Vec::new(); n];
    let mut outs: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (l, link) in pipeline.links.iter().enumerate() {
        outs[link.from].push(l);
        ins[link.to].push(l);
    }

    // Kahn's order; what is left over sits on a cycle.
    let mut pending: Vec<usize> = ins.iter().map(Vec::len).collect();
    let mut ready: VecDeque<usize> = (0..n).filter(|&i| pending[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_front() {
        order.push(i);
        for &l in &outs[i] {
            let to = pipeline.links[l].to;
            pending[to] -= 1;
            if pending[to] == 0 {
                ready.push_back(to);
            }
        }
    }
    if order.len() < n {
        // Walk back along links from unordered stages until a stage comes round again: the
        // links walked since its first visit form a cycle. Report the one written last.
        let mut visited_at: Vec<Option<usize>> = vec![None; n];
        let mut walked: Vec<usize> = Vec::new();
        let mut at = (0..n)
            .find(|&i| pending[i] > 0)
            .expect("an unordered stage");
        let link = loop {
            visited_at[at] = Some(walked.len());
            let l = ins[at]
                .iter()
                .copied()
                .find(|&l| pending[pipeline.links[l].from] > 0)
                .expect("an unordered stage has an unordered feeder");
            walked.push(l);
            let from = pipeline.links[l].from;
            if let Some(k) = visited_at[from] {
                let last = walked[k..]
                    .iter()
                    .map(|&l| &pipeline.links[l])
                    .max_by_key(|l| (l.pos.line, l.pos.column))
                    .expect("a cycle has links");
                break last;
            }
            at = from;
        };
        return Err(graph_error(
            source,
            link.pos,
            format!(
                "this link closes a cycle ({} feeds back into {}); a graph must not loop",
                title(link.from),
                title(link.to)
            ),
        ));
    }

    // Kinds, followed from the sources down.
    let mut out_flow = vec![Flow::Unknown; n];
    for &i in &order {
        let mut input = Flow::Nothing;
        let mut first_feeder: Option<usize> = None;
        for &l in &ins[i] {
            let link = &pipeline.links[l];
            let flow = out_flow[link.from];
            if flow == Flow::Nothing {
                return Err(graph_error(
                    source,
                    link.pos,
                    format!(
                        "{} writes nothing (its output is none), so it cannot feed {}",
                        title(link.from),
                        title(i)
                    ),
                ));
            }
            if let Some(p) = ports[i] {
                if p.input == Port::None {
                    return Err(graph_error(
                        source,
                        link.pos,
                        format!(
                            "{} reads nothing (it is a source), so {} cannot feed it",
                            title(i),
                            title(link.from)
                        ),
                    ));
                }
                if !accepts(p.input, flow) {
                    return Err(graph_error(
                        source,
                        link.pos,
                        format!(
                            "type mismatch: {} writes {flow}, but {} reads {}",
                            title(link.from),
                            title(i),
                            port_text(p.input)
                        ),
                    ));
                }
            }
            if ins[i].len() > 1 && flow == Flow::Text {
                return Err(graph_error(source, link.pos, format!(
                    "{} writes text, and text cannot be merged into {} with others; fan-in needs events (put co-lines after it)",
                    title(link.from), title(i)
                )));
            }
            match (input, first_feeder) {
                (Flow::Events(a), Some(first))
                    if flow != Flow::Unknown && flow != Flow::Events(a) =>
                {
                    return Err(graph_error(source, link.pos, format!(
                        "{} is fed {} by {} but {flow} by {}; all the stages feeding one stage must write one kind",
                        title(i), Flow::Events(a), title(first), title(link.from)
                    )));
                }
                (Flow::Nothing | Flow::Unknown, _) => {
                    input = flow;
                    first_feeder = Some(link.from);
                }
                _ => {}
            }
        }
        out_flow[i] = output_flow(ports[i], input);
        if outs[i].len() > 1 && out_flow[i] == Flow::Text {
            let link = &pipeline.links[outs[i][1]];
            return Err(graph_error(source, link.pos, format!(
                "{} writes text, and text cannot be broadcast; fan-out needs events (put co-lines after it)",
                title(i)
            )));
        }
    }

    wire(
        pipeline, programs, ports, &out_flow, &ins, &outs, finder, source,
    )
}

/// Lays out the checked graph in graph order, inserting `co-broadcast` and `co-merge`.
#[allow(clippy::too_many_arguments)]
fn wire(
    pipeline: &Pipeline,
    programs: Vec<PathBuf>,
    ports: Vec<Option<Ports>>,
    out_flow: &[Flow],
    ins: &[Vec<usize>],
    outs: &[Vec<usize>],
    finder: &Finder,
    source: &str,
) -> Result<Graph> {
    let n = pipeline.stages.len();
    let inserted = |name: &str, role: Role, at: Pos| -> Result<Node> {
        let program = finder.find(name).ok_or_else(|| {
            graph_error(
                source,
                at,
                format!(
                    "this graph needs {name} (fan-{}), which was not found ({})",
                    if role == Role::Broadcast { "out" } else { "in" },
                    finder.describe_places()
                ),
            )
        })?;
        let many = role == Role::Broadcast;
        Ok(Node {
            position: 0,
            role,
            name: None,
            argv: vec![name.to_owned()],
            program,
            ports: Some(Ports {
                input: Port::Any,
                output: Port::Any,
                many_inputs: !many,
                many_outputs: many,
            }),
            inputs: Vec::new(),
            outputs: Vec::new(),
        })
    };

    let mut graph = Graph::default();
    // Where each spec stage's links attach in the wired graph.
    let mut entry = vec![0; n];
    let mut exit = vec![0; n];
    let mut programs = programs.into_iter();
    for i in 0..n {
        let stage = &pipeline.stages[i];
        let user = Node {
            position: 0,
            role: Role::User(i),
            name: stage.name.clone(),
            argv: stage.argv.clone(),
            program: programs.next().expect("one program per stage"),
            ports: ports[i],
            inputs: Vec::new(),
            outputs: Vec::new(),
        };
        let merge = ins[i].len() > 1 && !user.many_inputs();
        let broadcast = outs[i].len() > 1 && !user.many_outputs();
        if merge {
            entry[i] = graph.nodes.len();
            graph.nodes.push(inserted(
                "co-merge",
                Role::Merge,
                pipeline.links[ins[i][1]].pos,
            )?);
        }
        let me = graph.nodes.len();
        if !merge {
            entry[i] = me;
        }
        graph.nodes.push(user);
        exit[i] = me;
        if merge {
            graph.add_link(entry[i], me, out_flow[pipeline.links[ins[i][0]].from]);
        }
        if broadcast {
            exit[i] = graph.nodes.len();
            graph.nodes.push(inserted(
                "co-broadcast",
                Role::Broadcast,
                pipeline.links[outs[i][1]].pos,
            )?);
            graph.add_link(me, exit[i], out_flow[i]);
        }
    }
    for link in &pipeline.links {
        graph.add_link(exit[link.from], entry[link.to], out_flow[link.from]);
    }
    for (position, node) in graph.nodes.iter_mut().enumerate() {
        node.position = position + 1;
    }
    Ok(graph)
}

impl Graph {
    fn add_link(&mut self, from: usize, to: usize, flow: Flow) {
        let l = self.links.len();
        self.links.push(Link { from, to, flow });
        self.nodes[from].outputs.push(l);
        self.nodes[to].inputs.push(l);
    }

    /// Stages with no input link: they start the flow and are the ones a drain signals.
    pub fn sources(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.inputs.is_empty())
    }
}
