//! Starting the processes of a wired graph, joined by anonymous pipes.
//!
//! Every link is an anonymous pipe (`std::io::pipe`, close-on-exec at both ends, so no child
//! inherits a pipe end it should not hold, and every reader sees end of file once its writer
//! exits). A stage with one input and one output gets them as stdin and stdout. A stage with
//! several (`co-broadcast`, `co-merge`) gets each pipe end at a fixed descriptor, 3, 4, ...,
//! and its path as an argument: `/dev/fd/3`. That is how a shell's process substitution
//! (`<(...)`) hands pipes over: opening `/dev/fd/N` of a pipe never blocks, whatever the
//! other end is doing, so there is no open-order rendezvous to deadlock on, and nothing on
//! disk to clean up when the launcher is killed. (Named pipes in a private directory, the
//! first design, needed both: a FIFO's `open` waits for its peer.)
//!
//! Each stage runs in its own process group, so the terminal's Ctrl-C reaches the launcher
//! alone and the launcher decides who is signalled, and gets a parent-death signal
//! (`PR_SET_PDEATHSIG`, Linux): if the launcher dies, even by SIGKILL, its stages die too.
//! The parent-death signal fires when the *thread* that spawned the child ends, so stages
//! are only ever spawned from the launcher's main thread.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread::JoinHandle;
use std::time::Instant;

use super::child;
use super::graph::{Graph, Link, Node, Role};
use super::spec::Carrier;
use crate::error::{Error, Result};
use crate::protocol::{OnBranchClose, LIVE_MS_ENV, ON_BRANCH_CLOSE_ARG, STATS_FILE_ENV};
use crate::remote::hosts::{
    launcher_stdio, link_channel, stderr_channel, Hosts, Plan, STDIN_CHANNEL, STDOUT_CHANNEL,
};
use crate::remote::wire;

pub use super::child::FIRST_EXTRA_FD;

/// A stage that was started.
pub struct Started {
    /// Index of the node in the graph.
    pub node: usize,
    pub pid: libc::pid_t,
    pub started: Instant,
    /// The thread passing the stage's stderr through, prefixed with its tag.
    pub stderr: Option<JoinHandle<()>>,
    /// The host it runs on (an index into [`Hosts`]); `None` here. A remote stage has no
    /// local process id (`pid` is 0): its agent reports its end.
    pub host: Option<usize>,
}

/// How stages are started.
pub struct SpawnOptions<'a> {
    /// What inserted broadcasts do when one branch's reader exits.
    pub on_branch_close: OnBranchClose,
    /// Where each stage leaves its link statistics ([`STATS_FILE_ENV`]), if wanted.
    pub stats_dir: Option<&'a Path>,
    /// Asks the stages to keep those statistics current every so many milliseconds, and to
    /// accept taps ([`LIVE_MS_ENV`]): for `copipe top` and `copipe tap`.
    pub live_ms: Option<u64>,
}

/// The path a stage with several inputs or outputs opens for its `i`-th one.
pub fn extra_path(i: usize) -> String {
    format!("/dev/fd/{}", FIRST_EXTRA_FD as usize + i)
}

/// Where a stage leaves its link statistics: its own directory in the graph's directory.
pub fn stats_file(dir: &Path, position: usize) -> std::path::PathBuf {
    crate::observe::rundir::stats_file(&crate::observe::rundir::stage_dir(dir, position))
}

/// One end of a link, as a stage is handed it.
enum End {
    /// A descriptor: the stage's stdin or stdout, or one of its extra descriptors.
    Fd(OwnedFd),
}

/// The ends of the links, each made when the first of its two stages is started and held
/// only until the other one is: a chain started in order holds one pipe end at a time, so
/// the launcher's descriptors do not grow with the graph (10,000 stages run under
/// `ulimit -n 1024`).
struct Ends<'g> {
    links: &'g [Link],
    /// Whether link `l`'s pipe was made (its ends handed out or waiting in the slots).
    made: Vec<bool>,
    readers: Vec<Option<End>>,
    writers: Vec<Option<End>>,
}

impl<'g> Ends<'g> {
    /// No pipe made yet.
    fn new(graph: &'g Graph) -> Ends<'g> {
        let n = graph.links.len();
        Ends {
            links: &graph.links,
            made: vec![false; n],
            readers: (0..n).map(|_| None).collect(),
            writers: (0..n).map(|_| None).collect(),
        }
    }

    /// Makes link `l`'s pipe, unless it was made.
    fn make(&mut self, l: usize) -> Result<()> {
        if !self.made[l] {
            let (reader, writer) = link_ends(&self.links[l])?;
            self.readers[l] = Some(reader);
            self.writers[l] = Some(writer);
            self.made[l] = true;
        }
        Ok(())
    }

    /// Link `l`'s reading end, for the one stage reading it.
    fn reader(&mut self, l: usize) -> Result<End> {
        self.make(l)?;
        Ok(take(&mut self.readers[l]))
    }

    /// Link `l`'s writing end, for the one stage writing it.
    fn writer(&mut self, l: usize) -> Result<End> {
        self.make(l)?;
        Ok(take(&mut self.writers[l]))
    }
}

/// The reading and the writing end of one link.
fn link_ends(link: &Link) -> Result<(End, End)> {
    match link.carrier {
        Carrier::Pipe => {
            let (r, w) = io::pipe().map_err(|e| Error::io("creating a pipe", e))?;
            Ok((End::Fd(r.into()), End::Fd(w.into())))
        }
        // The planner replaced each `nats:` link by pipes to its inserted ends.
        Carrier::Nats(_) => unreachable!("a nats: link is wired as two pipes"),
    }
}

/// Starts every stage of `graph`, in graph order. Returns the stages started and, if one
/// could not be started, why: the caller then stops the others.
pub fn spawn_all(
    graph: &Graph,
    options: &SpawnOptions,
    hosts: &mut Hosts,
) -> (Vec<Started>, Option<Error>) {
    let mut ends = Ends::new(graph);
    let relay = relays_stderr(graph);
    // The launcher's own stdin goes to the first source that reads anything.
    let stdin_taker = graph
        .nodes
        .iter()
        .position(|n| n.inputs.is_empty() && n.reads());

    let mut started = Vec::with_capacity(graph.nodes.len());
    let mut plans: BTreeMap<usize, Plan> = BTreeMap::new();
    for (i, node) in graph.nodes.iter().enumerate() {
        let takes_stdin = Some(i) == stdin_taker;
        let result = match node.program.host() {
            None => spawn_one(node, takes_stdin, relay, &mut ends, options),
            Some(host) => {
                let remote = Remote {
                    graph,
                    host,
                    hosts,
                    options,
                };
                remote.plan(node, takes_stdin, &mut ends, &mut plans)
            }
        };
        match result {
            Ok(s) => started.push(Started { node: i, ..s }),
            Err(e) => return (started, Some(e)),
        }
    }
    // Same-host links on remote hosts are the agents' own pipes: the ones made here go.
    drop(ends);
    if let Err(e) = hosts.start(plans, options.stats_dir.is_some()) {
        return (started, Some(e));
    }
    (started, None)
}

/// Starts `nodes` again (a restart unit: their links join only them, so each gets fresh
/// pipes). A restarted stage never takes the launcher's stdin.
pub fn respawn(graph: &Graph, nodes: &[usize], options: &SpawnOptions) -> Result<Vec<Started>> {
    let mut ends = Ends::new(graph);
    let relay = relays_stderr(graph);
    let mut started = Vec::with_capacity(nodes.len());
    for &i in nodes {
        let s = spawn_one(&graph.nodes[i], false, relay, &mut ends, options)?;
        started.push(Started { node: i, ..s });
    }
    Ok(started)
}

/// A stage placed on another host, being planned for its agent.
struct Remote<'a> {
    graph: &'a Graph,
    host: &'a str,
    hosts: &'a Hosts,
    options: &'a SpawnOptions<'a>,
}

impl Remote<'_> {
    /// Adds `node` to its host's plan: links to stages on the same host become the agent's
    /// pipes, links to anywhere else channels of the connection, fed from or into this
    /// side's end of the link's pipe; its stderr comes back on a channel of its own.
    fn plan(
        &self,
        node: &Node,
        takes_stdin: bool,
        ends: &mut Ends,
        plans: &mut BTreeMap<usize, Plan>,
    ) -> Result<Started> {
        let h = self
            .hosts
            .index(self.host)
            .expect("every host is connected before");
        let plan = plans.entry(h).or_default();
        let same = |other: usize| self.graph.nodes[other].program.host() == Some(self.host);
        let mut inputs = Vec::new();
        for &l in &node.inputs {
            if same(self.graph.links[l].from) {
                inputs.push(wire::End::Pipe(l));
            } else {
                let ch = link_channel(l);
                let from = File::from(fd(ends.reader(l)?));
                plan.outgoing.push((ch, Box::new(from)));
                inputs.push(wire::End::Channel(ch));
            }
        }
        if node.inputs.is_empty() {
            if takes_stdin {
                let stdin = launcher_stdio(false).map_err(|e| Error::io("duplicating stdin", e))?;
                plan.outgoing.push((STDIN_CHANNEL, Box::new(stdin)));
                inputs.push(wire::End::Channel(STDIN_CHANNEL));
            } else {
                inputs.push(wire::End::Null);
            }
        }
        let mut outputs = Vec::new();
        for &l in &node.outputs {
            if same(self.graph.links[l].to) {
                outputs.push(wire::End::Pipe(l));
            } else {
                let ch = link_channel(l);
                let to = File::from(fd(ends.writer(l)?));
                plan.incoming.push((ch, Box::new(to)));
                outputs.push(wire::End::Channel(ch));
            }
        }
        if node.outputs.is_empty() {
            if node.writes() {
                let stdout =
                    launcher_stdio(true).map_err(|e| Error::io("duplicating stdout", e))?;
                plan.incoming.push((STDOUT_CHANNEL, Box::new(stdout)));
                outputs.push(wire::End::Channel(STDOUT_CHANNEL));
            } else {
                outputs.push(wire::End::Null);
            }
        }
        let (err_r, err_w) = io::pipe().map_err(|e| Error::io("creating a pipe", e))?;
        plan.incoming
            .push((stderr_channel(node.position), Box::new(err_w)));
        let mut argv = node.argv.clone();
        if node.role == Role::Broadcast {
            argv.push(ON_BRANCH_CLOSE_ARG.into());
            argv.push(self.options.on_branch_close.name().into());
        }
        plan.stages.push(wire::RemoteStage {
            position: node.position,
            argv,
            input_paths: node.many_inputs(),
            output_paths: node.many_outputs(),
            inputs,
            outputs,
            stderr: stderr_channel(node.position),
        });
        let tag = format!("{}@{}", node.tag(), self.host);
        Ok(Started {
            node: 0,
            pid: 0,
            started: Instant::now(),
            stderr: Some(relay_stderr(tag, err_r)),
            host: Some(h),
        })
    }
}

/// The most stages whose stderr the launcher relays, each through a pipe of its own and a
/// thread, tagging its lines; the stages of a larger graph write to the launcher's stderr
/// directly, untagged (their own messages name them: `co-grep: error: ...`, and the
/// launcher's reports name each failing stage by position). A pipe and a thread per stage
/// would hold a descriptor per stage (10,000 of them, past the usual limit), and make
/// every start dearer than the last: each `fork` copies the launcher's threads' stacks'
/// page tables, and each `exec` closes every descriptor the launcher holds.
pub const RELAYED_STAGES: usize = 256;

/// Descriptors kept free for the launcher's own use (its stdio, a link's pair being handed
/// over, the control socket, files it reads).
const SPARE_FDS: u64 = 64;

/// Whether the stages' stderr goes through the launcher (tagged): see [`RELAYED_STAGES`].
fn relays_stderr(graph: &Graph) -> bool {
    let stages = graph.nodes.len();
    stages <= RELAYED_STAGES && (stages as u64) * 2 + SPARE_FDS <= fd_limit()
}

/// The launcher's soft limit on open descriptors.
fn fd_limit() -> u64 {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit with a valid out-pointer.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) } != 0 {
        return 1024;
    }
    limit.rlim_cur
}

/// The soft limit on open descriptors the launcher was started with, when it raised it:
/// the stages get it back (a program may close every descriptor up to its limit).
static STARTED_FD_LIMIT: OnceLock<libc::rlimit> = OnceLock::new();

/// Raises the soft limit on open descriptors to the hard one, as a program that holds many
/// may: a wide fan-out or fan-in holds a descriptor per branch while it starts. The stages
/// are started with the limit the launcher was given. (A limit the kernel refuses to raise
/// is left as it is.)
pub fn raise_fd_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit with valid pointers; raising the soft limit up to the
    // hard one needs no privilege.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &raw mut limit) == 0
            && limit.rlim_cur < limit.rlim_max
        {
            let started = limit;
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raw const limit) == 0 {
                let _ = STARTED_FD_LIMIT.set(started);
            }
        }
    }
}

/// The stage's command: its program and arguments, before any link is attached; its stderr
/// piped to the launcher if `relay`, else the launcher's own.
fn command(node: &Node, relay: bool, options: &SpawnOptions) -> Result<Command> {
    let mut cmd = node
        .program
        .command(&node.argv[0])
        .ok_or_else(|| Error::Other(format!("{} runs on another host", node.title())))?;
    cmd.args(&node.argv[1..]);
    if node.role == Role::Broadcast {
        cmd.args([ON_BRANCH_CLOSE_ARG, options.on_branch_close.name()]);
    }
    if let Some(dir) = options.stats_dir {
        cmd.env(STATS_FILE_ENV, stats_file(dir, node.position));
        if let Some(ms) = options.live_ms {
            cmd.env(LIVE_MS_ENV, ms.to_string());
        }
    }
    let stderr = if relay {
        Stdio::piped()
    } else {
        Stdio::inherit()
    };
    cmd.stderr(stderr).process_group(0);
    Ok(cmd)
}

/// Attaches the stage's links: one input and one output as stdin and stdout; the several of
/// a stage that takes them as paths at descriptors 3, 4, ..., named by path arguments.
/// Returns the descriptors to place at 3, 4, ... in the child.
fn attach(
    node: &Node,
    takes_stdin: bool,
    ends: &mut Ends,
    cmd: &mut Command,
) -> Result<Vec<OwnedFd>> {
    let mut extra: Vec<OwnedFd> = Vec::new();
    if node.many_inputs() {
        cmd.stdin(Stdio::null());
        for &l in &node.inputs {
            extra.push(fd(ends.reader(l)?));
        }
    } else if let Some(&l) = node.inputs.first() {
        cmd.stdin(fd(ends.reader(l)?));
    } else if takes_stdin {
        cmd.stdin(Stdio::inherit());
    } else {
        cmd.stdin(Stdio::null());
    }
    if node.many_outputs() {
        cmd.stdout(Stdio::null());
        for &l in &node.outputs {
            extra.push(fd(ends.writer(l)?));
        }
    } else if let Some(&l) = node.outputs.first() {
        cmd.stdout(fd(ends.writer(l)?));
    } else if node.writes() {
        // A sink writes where the launcher writes.
        cmd.stdout(Stdio::inherit());
    } else {
        cmd.stdout(Stdio::null());
    }
    cmd.args((0..extra.len()).map(extra_path));
    Ok(extra)
}

/// The descriptor behind a link end.
fn fd(end: End) -> OwnedFd {
    match end {
        End::Fd(fd) => fd,
    }
}

fn spawn_one(
    node: &Node,
    takes_stdin: bool,
    relay: bool,
    ends: &mut Ends,
    options: &SpawnOptions,
) -> Result<Started> {
    let mut cmd = command(node, relay, options)?;
    let extra = attach(node, takes_stdin, ends, &mut cmd)?;
    let extra = child::prepare(&mut cmd, &extra, STARTED_FD_LIMIT.get().copied())
        .map_err(|e| Error::io("placing pipe descriptors", e))?;
    let started = Instant::now();
    let mut child = cmd.spawn().map_err(|e| {
        Error::io(
            format!(
                "starting {} ({})",
                node.title(),
                node.program.program.display()
            ),
            e,
        )
    })?;
    // `cmd` and `extra` drop here, closing the launcher's copies of this stage's pipe ends.
    drop(cmd);
    drop(extra);
    let stderr = child.stderr.take().map(|e| relay_stderr(node.tag(), e));
    Ok(Started {
        node: 0,
        pid: child.id() as libc::pid_t,
        started,
        stderr,
        host: None,
    })
}

/// Takes a pipe end out of its slot: each is handed to exactly one stage.
fn take<T>(slot: &mut Option<T>) -> T {
    slot.take().expect("each pipe end is handed over once")
}

/// Passes a stage's stderr through to the launcher's, each line prefixed with `[tag] `.
/// A line is written whole, in one write under the stderr lock, however many writes the
/// stage made it in, so stages never interleave mid-line; a line longer than the buffer is
/// passed on in pieces, never held whole in memory.
fn relay_stderr(tag: String, stderr: impl io::Read + Send + 'static) -> JoinHandle<()> {
    const LINE_MAX: usize = 8 << 10;
    let prefix = format!("[{tag}] ");
    let relay = move || {
        let mut reader = BufReader::with_capacity(LINE_MAX, stderr);
        // The line being gathered, prefix included; empty between lines.
        let mut line = Vec::with_capacity(LINE_MAX + prefix.len());
        let write = |line: &mut Vec<u8>| {
            let _ = io::stderr().lock().write_all(line);
            line.clear();
        };
        loop {
            let chunk = match reader.fill_buf() {
                Ok([]) => break,
                Ok(chunk) => chunk,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            let (piece, ends_line) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (&chunk[..=i], true),
                None => (&chunk[..chunk.len().min(LINE_MAX)], false),
            };
            if line.is_empty() {
                line.extend_from_slice(prefix.as_bytes());
            }
            line.extend_from_slice(piece);
            let used = piece.len();
            reader.consume(used);
            if ends_line {
                write(&mut line);
            } else if line.len() >= LINE_MAX {
                line.push(b'\n');
                write(&mut line);
            }
        }
        if !line.is_empty() {
            line.push(b'\n');
            write(&mut line);
        }
    };
    std::thread::Builder::new()
        .name("stderr-relay".into())
        .spawn(relay)
        .expect("starting a thread")
}
