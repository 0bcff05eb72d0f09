//! Helpers shared by the integration tests: run real stage binaries, chain them with real
//! pipes, and wait on conditions with generous deadlines (never bare sleeps).

pub mod records;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

/// Path of a binary of this package, built by cargo for the integration tests.
pub fn bin(name: &str) -> PathBuf {
    // Cargo sets CARGO_BIN_EXE_<name> at compile time; look it up by name at run time via
    // the directory of any one of them.
    let any = PathBuf::from(env!("CARGO_BIN_EXE_co-grep"));
    any.parent().expect("bin dir").join(name)
}

/// A command for one of this package's binaries.
pub fn cmd(name: &str, args: &[&str]) -> Command {
    let mut c = Command::new(bin(name));
    c.args(args);
    c
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
    // Drain every stderr concurrently, and the last stdout here.
    let errs: Vec<_> = reaper
        .0
        .iter_mut()
        .map(|c| {
            let mut e = c.stderr.take().expect("stderr");
            std::thread::spawn(move || {
                let mut s = String::new();
                let _ = e.read_to_string(&mut s);
                s
            })
        })
        .collect();
    let mut stdout = Vec::new();
    reaper.0[n - 1]
        .stdout
        .take()
        .expect("stdout")
        .read_to_end(&mut stdout)
        .expect("read stdout");
    let statuses = reaper
        .0
        .iter_mut()
        .map(|c| c.wait().expect("wait"))
        .collect();
    let _ = feeder.join();
    let stderrs = errs.into_iter().map(|h| h.join().unwrap()).collect();
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
    let out = child.wait_with_output().expect("wait");
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

/// Waits for a child and collects its output, failing the test after the deadline.
pub fn finish(child: Child) -> Output {
    child.wait_with_output().expect("wait")
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
