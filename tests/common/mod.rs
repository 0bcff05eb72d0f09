//! Helpers shared by the integration tests: run real stage binaries, chain them with real
//! pipes, and wait on conditions with generous deadlines (never bare sleeps).
//!
//! The one way to run a binary in a test is here: [`cmd`] makes the command (stdin null
//! unless set), and every wait for a process goes through [`Bounded`], [`finish`],
//! [`run_with_input`] or [`pipeline`], which give up after [`RUN_DEADLINE`]: a hung child
//! fails its test (and is killed) instead of hanging the suite.

pub mod records;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a test lets one process (or pipeline) run before it counts as hung: far beyond
/// what any test needs on a loaded two-core machine, so reaching it means a real hang.
pub const RUN_DEADLINE: Duration = Duration::from_mins(3);

/// How long a test lets `cargo build` (of the examples) take.
pub const BUILD_DEADLINE: Duration = Duration::from_mins(20);

/// Path of a binary of this package, built by cargo for the integration tests.
pub fn bin(name: &str) -> PathBuf {
    // Cargo sets CARGO_BIN_EXE_<name> at compile time; look it up by name at run time via
    // the directory of any one of them.
    let any = PathBuf::from(env!("CARGO_BIN_EXE_co-grep"));
    any.parent().expect("bin dir").join(name)
}

/// A command for one of this package's binaries, with stdin null unless the test sets it.
pub fn cmd(name: &str, args: &[&str]) -> Command {
    let mut c = Command::new(bin(name));
    c.args(args).stdin(Stdio::null());
    c
}

/// `output()` and `wait()` with [`RUN_DEADLINE`]: past it, the child is killed and the test
/// fails, naming what hung.
pub trait Bounded {
    type Done;
    fn bounded(&mut self) -> Self::Done;
}

impl Bounded for Command {
    type Done = Output;
    /// Runs to the end, stdout and stderr captured (as `Command::output`).
    fn bounded(&mut self) -> Output {
        self.stdout(Stdio::piped()).stderr(Stdio::piped());
        let child = self
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", self.get_program().display()));
        finish(child)
    }
}

impl Bounded for Child {
    type Done = ExitStatus;
    /// Waits for the child to exit.
    fn bounded(&mut self) -> ExitStatus {
        wait_by(self, Instant::now() + RUN_DEADLINE)
    }
}

/// Runs `command` to its end (bounded), requires it to succeed (else fails the test with its
/// stderr), and returns its standard output as text.
pub fn stdout_of_success(command: &mut Command) -> String {
    let out = command.bounded();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

/// Waits for `child` until `deadline`; past it, kills it and fails the test.
pub fn wait_by(child: &mut Child, deadline: Instant) -> ExitStatus {
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "process {} still running at its deadline: killed",
                    child.id()
                );
            }
            Err(e) => panic!("waiting for process {}: {e}", child.id()),
        }
    }
}

/// Joins a thread that ends when a process (and its descendants) let go of a pipe, failing
/// the test after [`RUN_DEADLINE`] rather than waiting for ever.
pub fn join_by<T>(thread: std::thread::JoinHandle<T>, what: &str) -> T {
    let ended = wait_until(RUN_DEADLINE, || thread.is_finished());
    assert!(ended, "{what} still running after {RUN_DEADLINE:?}");
    thread.join().unwrap_or_else(|_| panic!("{what} panicked"))
}

/// Reads `from` to its end on a thread; the answer comes on the returned channel.
fn read_all(mut from: impl Read + Send + 'static) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = from.read_to_end(&mut bytes);
        let _ = tx.send(bytes);
    });
    rx
}

/// What a [`read_all`] thread read, once its stream ends (before `deadline`).
fn collected(rx: Option<mpsc::Receiver<Vec<u8>>>, deadline: Instant, what: &str) -> Vec<u8> {
    let Some(rx) = rx else { return Vec::new() };
    let left = deadline.saturating_duration_since(Instant::now());
    rx.recv_timeout(left).unwrap_or_else(|_| {
        panic!("{what} still open after {RUN_DEADLINE:?} (a process left holding it?)")
    })
}

/// The result of a pipeline: each stage's exit status and stderr, and the last stdout.
pub struct PipelineOutput {
    pub statuses: Vec<ExitStatus>,
    pub stderrs: Vec<String>,
    pub stdout: Vec<u8>,
}

impl PipelineOutput {
    pub fn stdout_text(&self) -> String {
        String::from_utf8(self.stdout.clone()).expect("utf-8 output")
    }
    pub fn all_ok(&self) -> bool {
        self.statuses.iter().all(std::process::ExitStatus::success)
    }
}

/// Kills and reaps children when dropped, so a failing test leaves no process behind.
pub struct Reaper(pub Vec<Child>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs `stages` chained with pipes, feeding `input` to the first one's stdin.
pub fn pipeline(stages: Vec<Command>, input: &[u8]) -> PipelineOutput {
    let n = stages.len();
    let mut reaper = Reaper(Vec::new());
    let mut prev_stdout: Option<std::process::ChildStdout> = None;
    for (i, mut c) in stages.into_iter().enumerate() {
        match prev_stdout.take() {
            Some(out) => {
                c.stdin(Stdio::from(out));
            }
            None => {
                c.stdin(Stdio::piped());
            }
        }
        c.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = c.spawn().expect("spawn stage");
        if i + 1 < n {
            prev_stdout = child.stdout.take();
        }
        reaper.0.push(child);
    }
    // Feed stdin from a thread so a full pipe cannot deadlock the test.
    let mut stdin = reaper.0[0].stdin.take().expect("stdin");
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    // Drain every stderr and the last stdout concurrently, each within the deadline.
    let deadline = Instant::now() + RUN_DEADLINE;
    let errs: Vec<_> = (reaper.0.iter_mut())
        .map(|c| read_all(c.stderr.take().expect("stderr")))
        .collect();
    let stdout = read_all(reaper.0[n - 1].stdout.take().expect("stdout"));
    let stdout = collected(Some(stdout), deadline, "the pipeline's stdout");
    let statuses = (reaper.0.iter_mut())
        .map(|c| wait_by(c, deadline))
        .collect();
    let _ = feeder.join();
    let stderrs = (errs.into_iter())
        .map(|rx| collected(Some(rx), deadline, "a stage's stderr"))
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .collect();
    PipelineOutput {
        statuses,
        stderrs,
        stdout,
    }
}

/// Runs one command with `input` on stdin and returns its output.
pub fn run_with_input(mut c: Command, input: &[u8]) -> Output {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = finish(child);
    let _ = feeder.join();
    out
}

/// Polls `condition` every 10 ms until it holds or `deadline` passes; returns whether it held.
pub fn wait_until(deadline: Duration, mut condition: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if condition() {
            return true;
        }
        if start.elapsed() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// A generous deadline for conditions on a small, noisy machine.
pub const DEADLINE: Duration = Duration::from_secs(30);

/// Encodes lines as a copipe stream by running the real co-lines.
pub fn lines_stream(text: &str) -> Vec<u8> {
    let out = run_with_input(cmd("co-lines", &[]), text.as_bytes());
    assert!(out.status.success(), "co-lines failed: {out:?}");
    out.stdout
}

/// Makes a named pipe at `path` (mode 0600).
pub fn mkfifo(path: &std::path::Path) {
    interprocess::os::unix::fifo_file::create_fifo(path, 0o600)
        .unwrap_or_else(|e| panic!("mkfifo {}: {e}", path.display()));
}

/// Spawns a command with stdout and stderr piped (stdin null unless set).
pub fn spawn(mut c: Command) -> Child {
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c.spawn().expect("spawn")
}

/// Waits for a child and collects its output, failing the test (and killing the child)
/// after [`RUN_DEADLINE`].
pub fn finish(mut child: Child) -> Output {
    let deadline = Instant::now() + RUN_DEADLINE;
    let stdout = child.stdout.take().map(read_all);
    let stderr = child.stderr.take().map(read_all);
    let status = wait_by(&mut child, deadline);
    Output {
        status,
        stdout: collected(stdout, deadline, "stdout"),
        stderr: collected(stderr, deadline, "stderr"),
    }
}

/// Whether python3 runs here, for the comparisons with the reference Python programs.
/// Without it a comparison is skipped with a note, except under CI (`CI` set), where a
/// missing python3 fails the test: CI must never pass a comparison it did not make.
pub fn python_available() -> bool {
    let started = Command::new("python3")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn();
    match started {
        Ok(mut child) => child.bounded().success() || skip_without_python(),
        Err(_) => skip_without_python(),
    }
}

/// Without python3: a note and `false`, or under CI a failed test.
fn skip_without_python() -> bool {
    assert!(
        std::env::var_os("CI").is_none(),
        "python3 is missing, and CI is set: the comparisons with the reference Python must run"
    );
    eprintln!("note: python3 not found; skipping the comparison with the reference Python");
    false
}

/// Deterministic text: `n` lines, some containing `python` (a simple LCG, no dependencies).
pub fn sample_text(n: usize, seed: u64) -> String {
    let words = [
        "python",
        "ply",
        "swig",
        "GET",
        "/index.html",
        "200",
        "coroutine",
        "the",
        "a",
        "tubes",
    ];
    let mut x = seed
        .wrapping_mul(6_364_136_223_846_793_005)
        .wrapping_add(1_442_695_040_888_963_407);
    let mut out = String::new();
    for i in 0..n {
        let len = (x >> 60) as usize + 1;
        out.push_str(&format!("{i} "));
        for _ in 0..len {
            x = x
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            out.push_str(words[(x >> 33) as usize % words.len()]);
            out.push(' ');
        }
        out.push('\n');
    }
    out
}

/// Spawns a command whose stdout goes to `file` (so nobody needs to drain it concurrently).
pub fn spawn_to_file(mut c: Command, file: &std::path::Path) -> Child {
    let out = std::fs::File::create(file).expect("create output file");
    c.stdout(Stdio::from(out)).stderr(Stdio::piped());
    c.spawn().expect("spawn")
}
