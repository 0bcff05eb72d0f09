//! Running a wired graph to its end: waiting, failing, draining, stopping.
//!
//! * Close flows by itself: sources end, each stage closes its output, merges end when all
//!   their inputs have. The launcher waits for every stage; all exit 0 → exit 0.
//! * A stage that exits non-zero or dies by a signal is reported once, by position and
//!   command; the rest of the graph is stopped, politely first (the sources are asked to
//!   drain, so what got through still reaches the sinks), then SIGTERM after a grace period,
//!   then SIGKILL after another; the launcher exits with the status of the first failing
//!   stage in graph order.
//!   Exits the launcher caused (its own signals) and quiet early exits (a stage whose
//!   downstream is gone, even one killed by SIGPIPE) are not failures.
//! * Ctrl-C (or SIGTERM, SIGHUP) is a ladder. First: a drain; the stages where events enter
//!   the graph get SIGINT (the sources, or, after a source writing text, the stage reading
//!   that text: [`Graph::drain_points`]), stop reading and close their streams, everything
//!   already read flows to the sinks, exit 130.
//!   A drain has a deadline, after which the launcher terminates the stages. Second: SIGTERM
//!   to every stage. Third: SIGKILL.
//!
//! Child exits are watched by a thread blocked in `waitid(WNOWAIT)`, which *sees* an exit
//! without reaping it; the main thread reaps (`wait4`, with resource usage) only after it has
//! stopped signalling that process, so a signal can never reach a recycled process id.

use std::collections::HashMap;
use std::io::Write;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use std::path::Path;

use super::child;
use super::graph::Graph;
use super::spawn::{self, SpawnOptions, Started};
use super::stats::{self, Ended, StageFigures};
use crate::error::{Error, Result};
use crate::observe::session::{self, Session};
use crate::protocol::OnBranchClose;
use crate::remote::client::HostEvent;
use crate::remote::hosts::Hosts;
use crate::remote::wire::{Control, Exit};

/// The format of `--stats`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum StatsFormat {
    Table,
    Json,
}

/// How a graph is run.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// How long a drain (the first Ctrl-C) may take before the stages are terminated.
    pub drain_timeout: Duration,
    /// How long a stage may take to die after SIGTERM before it is killed.
    pub grace: Duration,
    /// Passed to every inserted `co-broadcast`.
    pub on_branch_close: OnBranchClose,
    pub stats: Option<StatsFormat>,
    /// The spec (its file name, or its text), for `copipe ps`.
    pub spec: String,
    /// Progress meters on stderr even when it is not a terminal (on a terminal they are
    /// always shown).
    pub progress: bool,
}

/// How long the launcher waits, after a failure, for the failures it brings with it.
const FAILURE_SETTLE: Duration = Duration::from_millis(100);

enum Event {
    /// A child has exited (not yet reaped).
    Exited(libc::pid_t),
    /// No children are left to wait for.
    NoChildren,
    /// Ctrl-C, SIGTERM or SIGHUP reached the launcher.
    Interrupt,
    /// What a remote host's agent reported (the host's index).
    Remote(usize, HostEvent),
}

struct Stage {
    pid: Option<libc::pid_t>,
    alive: bool,
    started: Instant,
    /// The signals the launcher sent it (bit N for signal N): death by one of them, or any
    /// exit after one, is no failure.
    signalled: u64,
    figures: StageFigures,
    /// The thread passing its stderr through.
    stderr: Option<std::thread::JoinHandle<()>>,
    /// The host it runs on (index into the run's [`Hosts`]); `None`: here.
    host: Option<usize>,
}

struct Supervisor<'g> {
    graph: &'g Graph,
    hosts: &'g Hosts,
    options: &'g RunOptions,
    stages: Vec<Stage>,
    by_pid: HashMap<libc::pid_t, usize>,
    /// How many stages are alive (kept, so each event costs no scan of every stage).
    live: usize,
    /// (position, exit status) of each failed stage.
    failures: Vec<(usize, u8)>,
    interrupts: u32,
    /// True once a failure (or a stage that could not start) began stopping the graph.
    stopping: bool,
    /// When a drain has taken too long.
    drain_deadline: Option<Instant>,
    /// When every stage left gets SIGTERM.
    term_at: Option<Instant>,
    /// When every stage left gets SIGKILL.
    kill_at: Option<Instant>,
    /// Tells the exit watcher that the child it reported has been reaped.
    reaped: Option<Sender<()>>,
    /// Restarts done, per restart unit of the graph.
    restarts: Vec<u32>,
    /// How restarted stages are started: where their statistics go, and how often.
    stats_dir: Option<std::path::PathBuf>,
    live_ms: Option<u64>,
}

fn say(message: std::fmt::Arguments) {
    let _ = writeln!(std::io::stderr().lock(), "copipe: {message}");
}

/// Runs `graph` to its end and returns the launcher's exit status.
pub fn run(graph: &Graph, options: &RunOptions, mut hosts: Hosts) -> Result<u8> {
    // The graph's private directory: the stages' statistics, and the control channel of
    // `copipe top` and `tap` (see `crate::observe`); removed on every way out of this
    // function, and the next launcher removes those that launchers killed with -9 left.
    // Without --stats it is a courtesy: if it cannot be made, the graph runs unobserved.
    let mut session = match Session::create(graph, &options.spec) {
        Ok(session) => Some(session),
        Err(_) if options.stats.is_none() => None,
        Err(e) => return Err(e),
    };

    spawn::raise_fd_limit();
    let (tx, rx) = mpsc::channel();
    let interrupts = tx.clone();
    ctrlc::set_handler(move || {
        let _ = interrupts.send(Event::Interrupt);
    })
    .map_err(|e| Error::Other(format!("installing the Ctrl-C handler: {e}")))?;

    let stats_dir = session.as_ref().map(|s| s.dir().to_path_buf());
    let spawn_options = SpawnOptions {
        on_branch_close: options.on_branch_close,
        stats_dir: stats_dir.as_deref(),
        live_ms: session.as_ref().map(|_| live_ms(graph.nodes.len())),
    };
    let (started, spawn_error) = spawn::spawn_all(graph, &spawn_options, &mut hosts);
    if let Some(session) = &mut session {
        // Remote stages have no local process to look at (pid 0).
        let pids: Vec<(usize, u32)> = started
            .iter()
            .filter(|s| s.host.is_none() && s.pid > 0)
            .map(|s| (s.node, s.pid.unsigned_abs()))
            .collect();
        session.running(&pids, options.progress);
    }
    let any_started = !started.is_empty();
    forward_host_events(&mut hosts, &tx, spawn_options.stats_dir);
    let mut supervisor = Supervisor::new(graph, options, started, &hosts);
    supervisor.stats_dir.clone_from(&stats_dir);
    supervisor.live_ms = spawn_options.live_ms;
    if spawn_error.is_some() {
        // Reported once, by the caller, when the graph has stopped.
        supervisor.stop_all();
    }
    if any_started {
        supervisor.reaped = Some(watch_children(tx));
        supervisor.supervise(&rx);
    }
    let mut relays: Vec<_> = supervisor
        .stages
        .iter_mut()
        .filter_map(|s| s.stderr.take())
        .collect();
    // A stage's stderr ends with it, unless it left a process of its own holding it.
    let relay_deadline = Instant::now() + Duration::from_secs(1);
    while !relays.is_empty() && Instant::now() < relay_deadline {
        relays.retain(|r| !r.is_finished());
        std::thread::sleep(Duration::from_millis(5));
    }
    drop(supervisor.reaped.take());
    let (figures, code) = supervisor.finish();
    // What the remote sinks wrote lands before the launcher exits.
    hosts.close(Duration::from_secs(10));
    if let Some(session) = &mut session {
        session.finish();
    }

    if let (Some(format), Some(session)) = (options.stats, &session) {
        let links = stats::link_counts(graph, session.dir());
        let text = match format {
            StatsFormat::Table => stats::table(graph, &figures, &links),
            StatsFormat::Json => stats::json(graph, &figures, &links) + "\n",
        };
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    }
    drop(session);
    if let Some(e) = spawn_error {
        return Err(e);
    }
    Ok(code)
}

/// The most statistics files a graph's stages rewrite per second, all together.
const LIVE_WRITES_PER_SEC: u64 = 1000;

/// How often each stage refreshes its live statistics (for `copipe top`): every
/// [`session::LIVE_MS`], or less often in a graph so large that its stages' writes would
/// add up to more than [`LIVE_WRITES_PER_SEC`] files a second. (Each refresh writes a file:
/// 5,000 stages every 200 ms kept the machine busy writing 25,000 files a second, and
/// starting them took minutes.)
fn live_ms(stages: usize) -> u64 {
    session::LIVE_MS.max(stages as u64 * 1000 / LIVE_WRITES_PER_SEC)
}

/// Forwards each host's reports to the supervisor, leaving a remote stage's link
/// statistics where a local stage would have left its own.
fn forward_host_events(hosts: &mut Hosts, tx: &Sender<Event>, stats_dir: Option<&Path>) {
    for h in 0..hosts.len() {
        let events = hosts.host_mut(h).take_events();
        let tx = tx.clone();
        let dir = stats_dir.map(Path::to_path_buf);
        std::thread::spawn(move || {
            for event in events {
                if let (HostEvent::Control(Control::Exited(exit)), Some(dir)) = (&event, &dir) {
                    if let Some(text) = &exit.stats {
                        let _ = std::fs::write(spawn::stats_file(dir, exit.stage), text);
                    }
                }
                if tx.send(Event::Remote(h, event)).is_err() {
                    return;
                }
            }
        });
    }
}

/// Starts the thread that reports child exits without reaping them. Returns the channel on
/// which to tell it a reported child has been reaped, so it may look for the next.
fn watch_children(tx: Sender<Event>) -> Sender<()> {
    let (ack_tx, ack_rx) = mpsc::channel::<()>();
    std::thread::Builder::new()
        .name("child-watch".into())
        .spawn(move || loop {
            // SAFETY: a zeroed siginfo_t is a valid out-parameter for waitid.
            let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
            // SAFETY: waitid with a valid out-pointer; WNOWAIT leaves the child unreaped.
            let rc = unsafe {
                libc::waitid(libc::P_ALL, 0, &raw mut info, libc::WEXITED | libc::WNOWAIT)
            };
            if rc < 0 {
                if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                let _ = tx.send(Event::NoChildren);
                return;
            }
            // SAFETY: waitid succeeded, so si_pid is set.
            let pid = unsafe { info.si_pid() };
            if tx.send(Event::Exited(pid)).is_err() || ack_rx.recv().is_err() {
                return;
            }
        })
        .expect("starting a thread");
    ack_tx
}

impl<'g> Supervisor<'g> {
    fn new(
        graph: &'g Graph,
        options: &'g RunOptions,
        started: Vec<Started>,
        hosts: &'g Hosts,
    ) -> Self {
        let now = Instant::now();
        let mut stages: Vec<Stage> = graph
            .nodes
            .iter()
            .map(|_| Stage {
                pid: None,
                alive: false,
                started: now,
                signalled: 0,
                figures: StageFigures::default(),
                stderr: None,
                host: None,
            })
            .collect();
        let mut by_pid = HashMap::new();
        for s in started {
            stages[s.node].alive = true;
            stages[s.node].started = s.started;
            stages[s.node].stderr = s.stderr;
            stages[s.node].host = s.host;
            if s.host.is_none() {
                stages[s.node].pid = Some(s.pid);
                by_pid.insert(s.pid, s.node);
            }
        }
        let live = stages.iter().filter(|s| s.alive).count();
        Supervisor {
            graph,
            hosts,
            options,
            stages,
            by_pid,
            live,
            failures: Vec::new(),
            interrupts: 0,
            stopping: false,
            drain_deadline: None,
            term_at: None,
            kill_at: None,
            reaped: None,
            restarts: vec![0; graph.restarts.len()],
            stats_dir: None,
            live_ms: None,
        }
    }

    /// Restarts the unit that every stage in `failed` belongs to, if it has restarts left
    /// and the graph is not stopping: its other stages are killed, and all start again after
    /// a backoff. Returns false when the failure stands.
    fn restart(&mut self, failed: &[(usize, Ended)]) -> bool {
        let Some(u) = (self.graph.restarts.iter())
            .position(|r| failed.iter().all(|(i, _)| r.nodes.contains(i)))
        else {
            return false;
        };
        let unit = &self.graph.restarts[u];
        if self.stopping || self.interrupts > 0 || self.restarts[u] >= unit.max {
            return false;
        }
        for &i in &unit.nodes {
            if let (true, Some(pid)) = (self.stages[i].alive, self.stages[i].pid) {
                // SAFETY: kill(2) and wait4(2) on our own live child, reaped right here.
                unsafe {
                    libc::kill(pid, libc::SIGKILL);
                    libc::wait4(pid, std::ptr::null_mut(), 0, std::ptr::null_mut());
                }
                self.stages[i].alive = false;
                self.live -= 1;
            }
            if let Some(pid) = self.stages[i].pid.take() {
                self.by_pid.remove(&pid);
            }
        }
        self.restarts[u] += 1;
        let n = self.restarts[u];
        let stage = &self.graph.nodes[unit.nodes[1]];
        let how = failed
            .iter()
            .map(|(i, e)| format!("{} {}", self.graph.nodes[*i].title(), e.describe()));
        say(format_args!(
            "{}; restarting {} with its nats: links (restart {n} of {})",
            how.collect::<Vec<_>>().join(", "),
            stage.title(),
            unit.max
        ));
        std::thread::sleep(Duration::from_millis(100 << n.min(5)));
        let options = SpawnOptions {
            on_branch_close: self.options.on_branch_close,
            stats_dir: self.stats_dir.as_deref(),
            live_ms: self.live_ms,
        };
        match spawn::respawn(self.graph, &unit.nodes, &options) {
            Ok(started) => {
                for s in started {
                    let stage = &mut self.stages[s.node];
                    stage.alive = true;
                    stage.pid = Some(s.pid);
                    stage.started = s.started;
                    stage.stderr = s.stderr;
                    self.by_pid.insert(s.pid, s.node);
                    self.live += 1;
                }
                true
            }
            Err(e) => {
                say(format_args!("cannot restart {}: {e}", stage.title()));
                false
            }
        }
    }

    fn alive(&self) -> impl Iterator<Item = usize> + '_ {
        (0..self.stages.len()).filter(|&i| self.stages[i].alive)
    }

    fn signal(&mut self, i: usize, signal: i32) {
        let stage = &mut self.stages[i];
        if let (true, Some(h)) = (stage.alive, stage.host) {
            self.hosts
                .host(h)
                .signal(self.graph.nodes[i].position, signal);
            stage.signalled |= 1 << signal;
            return;
        }
        if let (true, Some(pid)) = (stage.alive, stage.pid) {
            // A stage that already died on its own keeps its own cause of death.
            if child::exited_unreaped(pid, false) {
                return;
            }
            // SAFETY: kill(2) on a child not yet reaped (reaping happens on this thread).
            unsafe { libc::kill(pid, signal) };
            stage.signalled |= 1 << signal;
        }
    }

    /// Signals every stage left, sinks first: a stage then never sees its upstream die
    /// (and fail on the broken stream) before its own signal reaches it; upstream stages just
    /// find their downstream gone, a quiet stop.
    fn signal_all(&mut self, signal: i32) {
        let alive: Vec<usize> = self.alive().collect();
        for i in alive.into_iter().rev() {
            self.signal(i, signal);
        }
    }

    /// Stops the graph after a failure, politely first: the sources are asked to drain, so
    /// the rest winds down by close propagation and every event that got through reaches
    /// the sinks. After the grace period whatever is left gets SIGTERM, and after another
    /// one, SIGKILL.
    fn stop_all(&mut self) {
        if self.stopping {
            return;
        }
        self.stopping = true;
        self.signal_sources();
        self.drain_deadline = None;
        if self.kill_at.is_none() {
            self.term_at = Some(Instant::now() + self.options.grace);
        }
    }

    /// Sends SIGTERM to every stage left; SIGKILL after the grace period.
    fn terminate_all(&mut self) {
        self.signal_all(libc::SIGTERM);
        self.drain_deadline = None;
        self.term_at = None;
        self.kill_at = Some(Instant::now() + self.options.grace);
    }

    /// Asks the stages where events enter the graph to stop reading and close their streams
    /// (SIGINT; see `signals` and [`Graph::drain_points`]).
    fn signal_sources(&mut self) {
        for i in self.graph.drain_points() {
            if self.stages[i].signalled == 0 {
                self.signal(i, libc::SIGINT);
            }
        }
    }

    /// The stages still running, for a message: the first few by name, then a count (a
    /// graph of 10,000 stages makes one line, not a page).
    fn waiting_on(&self) -> String {
        const NAMED: usize = 8;
        let mut titles: Vec<String> = (self.alive().take(NAMED))
            .map(|i| self.graph.nodes[i].title())
            .collect();
        let more = self.alive().count().saturating_sub(NAMED);
        if more > 0 {
            titles.push(format!("and {more} more"));
        }
        titles.join(", ")
    }

    fn supervise(&mut self, events: &Receiver<Event>) {
        while self.live > 0 {
            let deadline = [self.drain_deadline, self.term_at, self.kill_at]
                .into_iter()
                .flatten()
                .min();
            let event = match deadline {
                Some(d) => events.recv_timeout(d.saturating_duration_since(Instant::now())),
                None => events.recv().map_err(|_| RecvTimeoutError::Disconnected),
            };
            match event {
                Ok(Event::Exited(pid)) => self.exited(pid),
                Ok(Event::Interrupt) => self.interrupt(),
                Ok(Event::Remote(h, event)) => self.remote(h, event),
                // No children left: no local stage is left (remote ones are their agents').
                Ok(Event::NoChildren) => {
                    for stage in self.stages.iter_mut().filter(|s| s.host.is_none()) {
                        stage.alive = false;
                    }
                    self.live = self.alive().count();
                }
                Err(RecvTimeoutError::Disconnected) => {
                    for stage in &mut self.stages {
                        stage.alive = false;
                    }
                    self.live = 0;
                }
                Err(RecvTimeoutError::Timeout) => self.deadline_passed(),
            }
        }
    }

    /// The watcher saw `pid` exit. Reaps it and every other stage already dead with it. A
    /// failure usually brings others with it (the next stage sees its stream end without
    /// the end marker), and the kernel may let those show first, so on a failure the
    /// launcher lingers a moment ([`FAILURE_SETTLE`]) to gather them and reports them all in
    /// graph order. Then it lets the watcher look for the next exit.
    fn exited(&mut self, pid: libc::pid_t) {
        if !self.by_pid.contains_key(&pid) {
            // Not a stage: an ssh client to a remote host (its loss is reported by the
            // connection). Reaped here, or the watcher would see it again and again.
            // SAFETY: wait4 on our own child, which has exited; null rusage is allowed.
            unsafe {
                libc::wait4(
                    pid,
                    std::ptr::null_mut(),
                    libc::WNOHANG,
                    std::ptr::null_mut(),
                )
            };
            if let Some(ack) = &self.reaped {
                let _ = ack.send(());
            }
            return;
        }
        // A clean exit costs one reap: only a failure looks at the other stages (a graph of
        // 10,000 stages ends in 10,000 exits, not 10,000 scans of 10,000 stages).
        let mut failed: Vec<(usize, Ended)> = self.reap(pid).into_iter().collect();
        let settle_until = Instant::now() + FAILURE_SETTLE;
        while !failed.is_empty() && self.live > 0 {
            let dead: Vec<libc::pid_t> = self
                .alive()
                .filter_map(|i| self.stages[i].pid)
                .filter(|&p| child::exited_unreaped(p, false))
                .collect();
            failed.extend(dead.into_iter().filter_map(|p| self.reap(p)));
            if Instant::now() >= settle_until {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        failed.sort_by_key(|&(i, _)| i);
        if !failed.is_empty() && self.restart(&failed) {
            failed.clear();
        }
        for (i, ended) in failed {
            // Let the stage's own last words come out first.
            if let Some(relay) = &self.stages[i].stderr {
                let until = Instant::now() + Duration::from_millis(200);
                while !relay.is_finished() && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(2));
                }
            }
            let node = &self.graph.nodes[i];
            let after = match self.failures.iter().min_by_key(|f| f.0) {
                Some(&(first, _)) if first < node.position => {
                    format!(" (after stage {first} failed)")
                }
                _ => String::new(),
            };
            say(format_args!("{} {}{after}", node.title(), ended.describe()));
            self.failures.push((node.position, ended.code()));
            self.stop_all();
        }
        if let Some(ack) = &self.reaped {
            let _ = ack.send(());
        }
    }

    /// Reaps `pid`, records its figures, and returns its node and end if it failed.
    fn reap(&mut self, pid: libc::pid_t) -> Option<(usize, Ended)> {
        let mut status = 0;
        // SAFETY: a zeroed rusage is a valid out-parameter.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: wait4 on a child that has exited; valid out-pointers.
        let reaped = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
        if reaped != pid {
            return None;
        }
        let &i = self.by_pid.get(&pid)?;
        if self.stages[i].alive {
            self.live -= 1;
        }
        let stage = &mut self.stages[i];
        stage.alive = false;
        let ended = Ended::from_wait_status(status);
        stage.figures = StageFigures::from_rusage(ended, stage.started.elapsed(), &usage);
        let sent = stage.signalled;
        let failed = match ended {
            // A clean exit, or a stage whose downstream is gone dying of SIGPIPE (a quiet
            // early exit).
            Ended::Exited(0) | Ended::Signaled(libc::SIGPIPE) => false,
            // Death by the launcher's own signal, or an exit in answer to it, is no failure.
            Ended::Signaled(got) => sent & (1 << got) == 0,
            Ended::Exited(_) => sent == 0,
        };
        failed.then_some((i, ended))
    }

    fn interrupt(&mut self) {
        self.interrupts += 1;
        let draining = self.stopping || self.drain_deadline.is_some();
        match self.interrupts {
            1 if !draining => {
                self.signal_sources();
                self.drain_deadline = Some(Instant::now() + self.options.drain_timeout);
                say(format_args!(
                    "interrupted: draining (sources stopped); waiting on {}; interrupt again to terminate",
                    self.waiting_on()
                ));
            }
            1 | 2 => {
                say(format_args!("terminating {}", self.waiting_on()));
                // Like every rung, this one ends in bounded time: SIGKILL after the grace.
                self.terminate_all();
            }
            _ => {
                say(format_args!("killing {}", self.waiting_on()));
                self.signal_all(libc::SIGKILL);
                self.kill_at = None;
            }
        }
    }

    fn deadline_passed(&mut self) {
        let now = Instant::now();
        if self.drain_deadline.is_some_and(|d| d <= now) {
            say(format_args!(
                "the drain took longer than {:.1} s; terminating {}",
                self.options.drain_timeout.as_secs_f64(),
                self.waiting_on()
            ));
            self.terminate_all();
        }
        if self.term_at.is_some_and(|d| d <= now) {
            say(format_args!(
                "{} still running {:.1} s after the failure; terminating",
                self.waiting_on(),
                self.options.grace.as_secs_f64()
            ));
            self.terminate_all();
        }
        if self.kill_at.is_some_and(|d| d <= now) {
            say(format_args!(
                "{} still running {:.1} s after SIGTERM; killing",
                self.waiting_on(),
                self.options.grace.as_secs_f64()
            ));
            self.signal_all(libc::SIGKILL);
            self.kill_at = None;
        }
    }

    /// Each stage's figures and the launcher's exit status; the hosts are free again.
    fn finish(self) -> (Vec<StageFigures>, u8) {
        let code = self.exit_status();
        let mut figures: Vec<StageFigures> = self.stages.into_iter().map(|s| s.figures).collect();
        for (unit, &n) in self.graph.restarts.iter().zip(&self.restarts) {
            figures[unit.nodes[1]].restarts = n;
        }
        (figures, code)
    }

    /// What host `h`'s agent reported.
    fn remote(&mut self, h: usize, event: HostEvent) {
        match event {
            HostEvent::Control(Control::Exited(exit)) => self.remote_exited(h, &exit),
            HostEvent::Control(Control::Started {
                error: Some(error), ..
            }) => {
                say(format_args!(
                    "error: on {}: {error}",
                    self.hosts.host(h).name
                ));
                self.host_gone(h, 1, "was not started");
            }
            HostEvent::Lost(why) => {
                let said = self.hosts.host(h).last_words();
                let why = if said.is_empty() {
                    why
                } else {
                    format!("{why} ({said})")
                };
                say(format_args!("{why}"));
                self.host_gone(h, 255, "lost with the connection");
            }
            HostEvent::Control(_) => {}
        }
    }

    /// Every stage still running on host `h` is gone (status `code`), a failure.
    fn host_gone(&mut self, h: usize, code: u8, how: &str) {
        let gone: Vec<usize> = self
            .alive()
            .filter(|&i| self.stages[i].host == Some(h))
            .collect();
        for i in gone {
            self.stages[i].alive = false;
            self.live -= 1;
            let node = &self.graph.nodes[i];
            say(format_args!(
                "{} on {} {how}",
                node.title(),
                self.hosts.host(h).name
            ));
            self.failures.push((node.position, code));
        }
        self.stop_all();
    }

    /// A remote stage ended: the same judgement as a local one's, named with its host.
    fn remote_exited(&mut self, h: usize, exit: &Exit) {
        let Some(i) = self
            .graph
            .nodes
            .iter()
            .position(|n| n.position == exit.stage)
        else {
            return;
        };
        if !self.stages[i].alive || self.stages[i].host != Some(h) {
            return;
        }
        self.live -= 1;
        let stage = &mut self.stages[i];
        stage.alive = false;
        let ended = Ended::from_wait_status(exit.status);
        stage.figures = StageFigures {
            ended: Some(ended),
            wall: Duration::from_micros(exit.wall_us),
            cpu: Duration::from_micros(exit.cpu_us),
            peak_rss: exit.max_rss_kib.saturating_mul(1024),
            restarts: 0,
        };
        let sent = stage.signalled;
        let failed = match ended {
            Ended::Exited(0) | Ended::Signaled(libc::SIGPIPE) => false,
            Ended::Signaled(got) => sent & (1 << got) == 0,
            Ended::Exited(_) => sent == 0,
        };
        if !failed {
            return;
        }
        // Let the stage's own last words come out first.
        if let Some(relay) = &stage.stderr {
            let until = Instant::now() + Duration::from_millis(200);
            while !relay.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        let node = &self.graph.nodes[i];
        let after = match self.failures.iter().min_by_key(|f| f.0) {
            Some(&(first, _)) if first < node.position => format!(" (after stage {first} failed)"),
            _ => String::new(),
        };
        let host = &self.hosts.host(h).name;
        say(format_args!(
            "{} on {host} {}{after}",
            node.title(),
            ended.describe()
        ));
        self.failures.push((node.position, ended.code()));
        self.stop_all();
    }

    /// The status of the first failing stage in graph order; else 130 after an interrupt;
    /// else 0.
    fn exit_status(&self) -> u8 {
        match self.failures.iter().min_by_key(|f| f.0) {
            Some(&(_, code)) => code.max(1),
            None if self.interrupts > 0 => 130,
            None => 0,
        }
    }
}
