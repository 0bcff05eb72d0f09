//! The launcher's side of observation: a running graph's directory, control channel and
//! progress meters, from start to end.

use std::path::Path;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::control::ControlServer;
use super::progress::{self, Meters};
use super::rundir::GraphDir;
use super::{GraphInfo, LinkEntry, StageEntry};
use crate::error::Result;
use crate::launch::graph::{Graph, Role};
use crate::launch::stats::link_labels;

/// How often stages refresh their live counters, in milliseconds.
pub const LIVE_MS: u64 = 200;

/// Longest command shown for a stage (the whole command is in the spec).
const COMMAND_WIDTH: usize = 80;

/// A graph being watched; everything it made is removed when it is dropped.
pub struct Session {
    info: GraphInfo,
    started: Instant,
    control: Option<ControlServer>,
    meters: Option<Meters>,
    // Last: removed after the control channel and meters are gone.
    dir: GraphDir,
}

impl Session {
    /// Makes the graph's directory (before any stage starts: their statistics go there).
    /// Directories that launchers killed with -9 left are removed first.
    pub fn create(graph: &Graph, spec: &str) -> Result<Session> {
        let _ = super::rundir::list();
        let info = graph_info(graph, spec);
        let dir = GraphDir::create(&info)?;
        Ok(Session {
            info,
            started: Instant::now(),
            control: None,
            meters: None,
            dir,
        })
    }

    /// The directory the stages' statistics go to.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The stages are running (`pids[i]` is node i's): publish them, open the control
    /// channel, and start progress meters if wanted. Observation is a courtesy: if the
    /// channel cannot be opened the graph runs on unobserved.
    pub fn running(&mut self, pids: &[(usize, u32)], progress: bool) {
        for &(node, pid) in pids {
            if let Some(s) = self.info.stages.get_mut(node) {
                s.pid = Some(pid);
            }
        }
        let _ = self.dir.write_info(&self.info);
        self.control = ControlServer::start(&self.dir, self.info.clone(), self.started).ok();
        self.meters = progress::start(&self.info, self.dir.path(), progress);
    }

    /// Every stage has exited: stop the meters, give watchers their final sample.
    pub fn finish(&mut self) {
        self.meters = None;
        if let Some(control) = self.control.take() {
            control.finish();
        }
    }
}

/// What `copipe ps` and the control channel say about `graph`.
pub fn graph_info(graph: &Graph, spec: &str) -> GraphInfo {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let pid = std::process::id();
    let stages = graph
        .nodes
        .iter()
        .map(|n| StageEntry {
            position: n.position,
            command: shorten(&n.stage_ref().command),
            inserted: !matches!(n.role, Role::User(_)),
            pid: None,
        })
        .collect();
    let links = (0..graph.links.len())
        .map(|l| {
            let link = &graph.links[l];
            let (from, to) = (
                graph.nodes[link.from].position,
                graph.nodes[link.to].position,
            );
            let (writer_label, reader_label) = link_labels(graph, l);
            LinkEntry {
                name: format!("{from}->{to}"),
                from,
                to,
                writer_label,
                reader_label,
                carries: link.flow.to_string(),
            }
        })
        .collect();
    GraphInfo {
        id: format!("{pid}-{}", now.as_millis() % 1_000_000),
        pid,
        spec: shorten(spec.trim()),
        started_unix_ms: u64::try_from(now.as_millis()).unwrap_or(0),
        stages,
        links,
    }
}

/// `text` on one line, cut to [`COMMAND_WIDTH`] characters with an ellipsis.
fn shorten(text: &str) -> String {
    let one_line: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if one_line.chars().count() <= COMMAND_WIDTH {
        one_line
    } else {
        one_line.chars().take(COMMAND_WIDTH - 1).collect::<String>() + "…"
    }
}
