//! The launcher, with real processes: chains, fan-out, fan-in, type checks, parse errors,
//! every co-chaos failure mode, the Ctrl-C ladder, SIGTERM, a missing stage. After each run,
//! no stage process is left (found by a tag in their environment) and the launcher's private
//! directory is gone (it is made in a runtime directory the test owns, `XDG_RUNTIME_DIR`).

use crate::common;
use std::io::{BufRead, BufReader, Read};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::common::Bounded;
use crate::common::{sample_text, wait_until, Reaper, DEADLINE};

/// A test's world: a scratch directory, a private-directory parent, and a tag that marks
/// every process the launcher starts.
struct World {
    dir: tempfile::TempDir,
    tag: String,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("scratch dir");
        std::fs::create_dir(dir.path().join("private")).expect("private parent");
        let tag = format!(
            "{}-{}",
            std::process::id(),
            dir.path().file_name().unwrap().to_string_lossy()
        );
        World { dir, tag }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path(name);
        std::fs::write(&path, text).expect("write file");
        path
    }

    /// `copipe ARGS`, run in the scratch directory, its stages tagged.
    fn copipe(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_copipe"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("XDG_RUNTIME_DIR", self.path("private"))
            .env("COPIPE_TEST_TAG", &self.tag);
        c
    }

    /// Runs `copipe run -e SPEC` to its end, with `input` on stdin.
    fn run(&self, spec: &str, extra: &[&str], input: &[u8]) -> Outcome {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-e", spec]);
        let out = common::run_with_input(self.copipe(&args), input);
        Outcome {
            status: out.status,
            stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
            stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
        }
    }

    /// Pids of live processes carrying this world's tag.
    fn tagged_processes(&self) -> Vec<u32> {
        let needle = format!("COPIPE_TEST_TAG={}", self.tag);
        let mut found = Vec::new();
        for entry in std::fs::read_dir("/proc").expect("/proc").flatten() {
            let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
                continue;
            };
            let Ok(environ) = std::fs::read(entry.path().join("environ")) else {
                continue;
            };
            if environ.split(|&b| b == 0).any(|v| v == needle.as_bytes()) {
                found.push(pid);
            }
        }
        found
    }

    /// No stage process left, no private directory left.
    fn assert_clean(&self) {
        assert!(
            wait_until(DEADLINE, || self.tagged_processes().is_empty()),
            "stage processes left behind: {:?}",
            self.tagged_processes()
        );
        // The user's directory of graphs stays; each graph's own directory must be gone.
        // (A launcher that failed before starting anything made none.)
        let left: Vec<_> = std::fs::read_dir(self.path("private").join("copipe"))
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "private directory left behind: {left:?}");
    }
}

struct Outcome {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn code(&self) -> Option<i32> {
        self.status.code()
    }
}

/// The lines of `text` that contain `pattern`, as the seed's grep keeps them.
fn grep(text: &str, pattern: &str) -> String {
    text.lines()
        .filter(|l| l.contains(pattern))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn sorted_lines(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> = text.lines().collect();
    lines.sort_unstable();
    lines
}

/// A launcher running in the background whose stdout and stderr are gathered as they come.
struct Running {
    child: Reaper,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

fn gather(
    from: impl Read + Send + 'static,
    into: Arc<Mutex<String>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(from);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 0) {
            into.lock().unwrap().push_str(&line);
            line.clear();
        }
    })
}

impl Running {
    fn start(mut cmd: Command) -> Self {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child: Child = cmd.spawn().expect("spawn copipe");
        let stdout = Arc::new(Mutex::new(String::new()));
        let stderr = Arc::new(Mutex::new(String::new()));
        let readers = vec![
            gather(child.stdout.take().unwrap(), Arc::clone(&stdout)),
            gather(child.stderr.take().unwrap(), Arc::clone(&stderr)),
        ];
        Running {
            child: Reaper(vec![child]),
            stdout,
            stderr,
            readers,
        }
    }

    fn pid(&self) -> libc::pid_t {
        self.child.0[0].id() as libc::pid_t
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(self.pid(), signal) };
    }

    fn wait_stdout(&self, what: impl Fn(&str) -> bool) {
        let ok = wait_until(DEADLINE, || what(&self.stdout.lock().unwrap()));
        assert!(
            ok,
            "stdout never showed what was awaited; stderr: {}",
            self.stderr()
        );
    }

    fn wait_stderr(&self, needle: &str) {
        let ok = wait_until(DEADLINE, || self.stderr.lock().unwrap().contains(needle));
        assert!(ok, "stderr never showed {needle:?}: {}", self.stderr());
    }

    fn stderr(&self) -> String {
        self.stderr.lock().unwrap().clone()
    }

    /// Waits for the launcher to exit (failing the test after the deadline).
    fn finish(mut self) -> Outcome {
        let exited = wait_until(DEADLINE, || {
            matches!(self.child.0[0].try_wait(), Ok(Some(_)))
        });
        assert!(exited, "copipe did not exit; stderr: {}", self.stderr());
        let status = self.child.0[0].bounded();
        for r in self.readers.drain(..) {
            crate::common::join_by(r, "an output reader");
        }
        Outcome {
            status,
            stdout: self.stdout.lock().unwrap().clone(),
            stderr: self.stderr.lock().unwrap().clone(),
        }
    }
}

#[test]
fn a_chain_runs_like_a_shell_pipeline() {
    let world = World::new();
    let text = sample_text(5000, 1);
    world.write("log", &text);
    let out = world.run("co-lines log | co-grep python | co-printer", &[], b"");
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, grep(&text, "python"));
    assert_eq!(out.stderr, "");
    world.assert_clean();
}

#[test]
fn the_first_source_reads_stdin_and_the_sinks_write_stdout() {
    let world = World::new();
    let text = sample_text(3000, 2);
    let out = world.run("co-lines | co-grep ply | co-printer", &[], text.as_bytes());
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, grep(&text, "ply"));
    world.assert_clean();
}

#[test]
fn a_spec_file_with_named_stages_comments_and_continuations() {
    let world = World::new();
    let text = sample_text(2000, 3);
    world.write("log", &text);
    let spec = world.write(
        "graph.pipe",
        "# one named source, one chain over two lines\n\
         src = co-lines log   # the source\n\
         src |\n    co-grep \"swig \" | \\\n    co-printer\n",
    );
    let out = common::run_with_input(world.copipe(&["run", spec.to_str().unwrap()]), b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), grep(&text, "swig "));
    world.assert_clean();
}

#[test]
fn fan_out_inserts_a_broadcast_and_every_branch_gets_everything() {
    let world = World::new();
    let text = sample_text(20_000, 4);
    world.write("log", &text);
    let spec = "log = co-lines log\n\
                log | co-grep python | co-printer --output python.txt\n\
                log | co-grep ply | co-printer --output ply.txt\n\
                log | co-grep swig | co-printer --output swig.txt";
    let out = world.run(spec, &[], b"");
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    for word in ["python", "ply", "swig"] {
        let got = std::fs::read_to_string(world.path(&format!("{word}.txt"))).unwrap();
        assert_eq!(got, grep(&text, word), "branch {word}");
    }
    let graph = world.copipe(&["graph", "-e", spec]).bounded();
    let listing = String::from_utf8(graph.stdout).unwrap();
    assert!(
        listing.contains("stage 2 \"co-broadcast (inserted)\" <- 1 (line events)"),
        "{listing}"
    );
    world.assert_clean();
}

#[test]
fn fan_in_inserts_a_merge_and_nothing_is_lost_or_split() {
    let world = World::new();
    let text = sample_text(20_000, 5);
    world.write("log", &text);
    // The seed's "disturbing variation": three greps into one printer.
    let spec = "log = co-lines log; p = co-printer\n\
                log | co-grep python | p\nlog | co-grep ply | p\nlog | co-grep swig | p";
    let out = world.run(spec, &["--stats=json"], b"");
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    let expected = grep(&text, "python") + &grep(&text, "ply") + &grep(&text, "swig");
    assert_eq!(sorted_lines(&out.stdout), sorted_lines(&expected));

    let stats: serde_json::Value =
        serde_json::from_str(out.stderr.lines().last().unwrap()).expect("stats JSON");
    let links = stats["links"].as_array().unwrap();
    let from_source = links.iter().find(|l| l["from"] == 1).unwrap();
    assert_eq!(from_source["events"], text.lines().count() as u64);
    let stages = stats["stages"].as_array().unwrap();
    assert!(stages
        .iter()
        .any(|s| s["stage"] == "stage 4 \"co-merge (inserted)\""));
    assert!(stages.iter().all(|s| s["exit_code"] == 0), "{stats}");
    world.assert_clean();
}

#[test]
fn stats_table_names_every_stage_and_link() {
    let world = World::new();
    world.write("log", &sample_text(1000, 6));
    let out = world.run(
        "co-lines log | co-grep python | co-printer",
        &["--stats"],
        b"",
    );
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    assert!(
        out.stderr.starts_with("copipe: statistics\n"),
        "{}",
        out.stderr
    );
    for needle in [
        "stage 1 \"co-lines log\"",
        "stage 3 \"co-printer\"",
        "1 -> 2",
        "2 -> 3",
        "peak mem",
    ] {
        assert!(
            out.stderr.contains(needle),
            "no {needle:?} in {}",
            out.stderr
        );
    }
    world.assert_clean();
}

/// A user's stage: a shell script that answers --describe, and leaves a mark when it runs.
fn marking_stage(world: &World) -> PathBuf {
    let mark = world.path("ran");
    let script = world.write(
        "my-source",
        &format!(
            "#!/bin/sh\nif [ \"$1\" = --describe ]; then\n  \
             echo '{{\"name\":\"my-source\",\"input\":\"none\",\"output\":\"text\"}}'\n  exit 0\nfi\n\
             touch '{}'\nprintf 'python one\\nply two\\npython three\\n'\n",
            mark.display()
        ),
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

#[test]
fn a_user_stage_given_by_path_runs_beside_the_shipped_ones() {
    let world = World::new();
    marking_stage(&world);
    let out = world.run(
        "./my-source | co-lines | co-grep python | co-printer",
        &[],
        b"",
    );
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "python one\npython three\n");
    assert!(world.path("ran").exists());
    world.assert_clean();
}

#[test]
fn a_program_that_does_not_describe_itself_is_left_unchecked_and_runs() {
    let world = World::new();
    let text = sample_text(500, 7);
    world.write("log", &text);
    // `cat` knows nothing of --describe; frames pass through it untouched.
    let out = world.run("co-lines log | cat | co-grep python | co-printer", &[], b"");
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, grep(&text, "python"));
    world.assert_clean();
}

#[test]
fn a_type_mismatch_names_both_stages_and_nothing_is_spawned() {
    let world = World::new();
    marking_stage(&world);
    // The marking source would run first; the mismatch is further down.
    let out = world.run(
        "./my-source | co-lines | co-printer | co-grep python",
        &[],
        b"",
    );
    assert_eq!(out.code(), Some(2), "stderr: {}", out.stderr);
    assert_eq!(
        out.stderr,
        "copipe: error: -e:1:37: type mismatch: stage 3 \"co-printer\" writes text, \
         but stage 4 \"co-grep python\" reads line events\n"
    );
    assert!(
        !world.path("ran").exists(),
        "a stage ran despite the type error"
    );
    assert_eq!(out.stdout, "");

    let out = world.run(
        "co-lines log | co-grep a | p; co-xml doc.xml | p; p = co-printer",
        &[],
        b"",
    );
    assert_eq!(out.code(), Some(2));
    assert!(
        out.stderr.contains("is fed line events by stage 2 \"co-grep a\" but XML events by stage 4 \"co-xml doc.xml\""),
        "{}",
        out.stderr
    );
    world.assert_clean();
}

#[test]
fn parse_errors_give_file_line_and_column() {
    let world = World::new();
    let spec = world.write(
        "bad.pipe",
        "# a comment\nsrc = co-lines log\nsrc | co-grep \"python | co-printer\n",
    );
    let out = world.copipe(&["run", "bad.pipe"]).bounded();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "copipe: error: bad.pipe:3:15: unterminated double quote\n"
    );
    let _ = spec;

    let cases = [
        ("a | | b", "-e:1:5: missing command before `|`"),
        ("a |", "-e:1:3: missing command after `|`"),
        (
            "x = a\nx = b\nx | c",
            "-e:2:1: stage \"x\" is already defined at 1:1",
        ),
        (
            "x = a\ny | z",
            "-e:1:1: stage \"x\" is defined but used in no chain",
        ),
        (
            "a = co-lines\nb = co-grep x\na | b\nb | a",
            "-e:4:3: this link closes a cycle",
        ),
    ];
    for (text, expected) in cases {
        let out = world.run(text, &[], b"");
        assert_eq!(out.code(), Some(2), "{text:?}");
        assert!(
            out.stderr
                .starts_with(&format!("copipe: error: {expected}")),
            "{text:?}: {}",
            out.stderr
        );
    }
    world.assert_clean();
}

#[test]
fn a_stage_missing_on_disk_is_named_and_nothing_runs() {
    let world = World::new();
    marking_stage(&world);
    let out = world.run(
        "./my-source | co-lines | co-no-such-stage | co-printer",
        &[],
        b"",
    );
    assert_eq!(out.code(), Some(2));
    assert!(
        out.stderr.starts_with(
            "copipe: error: -e:1:26: stage 3 \"co-no-such-stage\": program \"co-no-such-stage\" not found (looked beside copipe in "
        ),
        "{}",
        out.stderr
    );
    let out = world.run("co-lines x | ./not-here", &[], b"");
    assert_eq!(out.code(), Some(2));
    assert!(
        out.stderr.contains("no executable file at that path"),
        "{}",
        out.stderr
    );
    assert!(!world.path("ran").exists());
    world.assert_clean();
}

/// Runs `co-lines log | co-chaos FAULT | co-printer` on ten lines and checks the report.
fn chaos_failure(fault: &[&str], code: i32, report: &str) {
    let world = World::new();
    let text: String = (1..=10).map(|i| format!("line {i}\n")).collect();
    world.write("log", &text);
    let chaos = format!("co-chaos --after 4 {}", fault.join(" "));
    let out = world.run(&format!("co-lines log | {chaos} | co-printer"), &[], b"");
    assert_eq!(out.code(), Some(code), "stderr: {}", out.stderr);
    // Exactly the events before the fault got through.
    assert_eq!(out.stdout, "line 1\nline 2\nline 3\nline 4\n");
    let expected = format!("copipe: stage 2 \"{chaos}\" {report}\n");
    assert_eq!(
        out.stderr.matches(&expected).count(),
        1,
        "the failure is reported once: {}",
        out.stderr
    );
    assert!(
        out.stderr.contains("[2 co-chaos] co-chaos: "),
        "stderr is prefixed: {}",
        out.stderr
    );
    world.assert_clean();
}

#[test]
fn a_panicking_stage_is_reported_and_its_status_is_the_launchers() {
    chaos_failure(&["--panic"], 101, "exited with status 101");
}

#[test]
fn an_aborting_stage_is_reported_with_its_signal() {
    chaos_failure(&["--abort"], 134, "died with signal 6 (SIGABRT)");
}

#[test]
fn a_stage_exiting_with_a_code_gives_that_code() {
    chaos_failure(&["--exit", "3"], 3, "exited with status 3");
}

#[test]
fn a_failure_stops_the_rest_of_the_graph_even_a_hung_stage() {
    let world = World::new();
    world.write("log", &sample_text(100, 8));
    // One branch fails; the other hangs ignoring SIGTERM, so only the kill after the grace
    // period ends it.
    let spec = "src = co-lines log\n\
                src | co-chaos --after 2 --exit 5 | co-printer --output a.txt\n\
                src | co-chaos --after 1 --hang --ignore-term | co-printer --output b.txt";
    let started = Instant::now();
    let out = world.run(spec, &["--grace", "0.2"], b"");
    assert_eq!(out.code(), Some(5), "stderr: {}", out.stderr);
    assert!(out
        .stderr
        .contains("copipe: stage 3 \"co-chaos --after 2 --exit 5\" exited with status 5\n"));
    assert!(
        out.stderr
            .contains("still running 0.2 s after SIGTERM; killing"),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("died with signal"),
        "the killed stage is no failure: {}",
        out.stderr
    );
    eprintln!("failure to exit: {:?}", started.elapsed());
    world.assert_clean();
}

/// A launcher draining a slow stage fed by a fast source, interrupted once the first line is
/// out: every event the source read reaches the sink, in order.
fn drain_loses_nothing(signal: i32) {
    let world = World::new();
    let text = sample_text(200_000, 9);
    world.write("log", &text);
    let running = Running::start(world.copipe(&[
        "run",
        "--stats=json",
        "-e",
        "co-lines log | co-chaos --sleep-ms 0.05 | co-printer",
    ]));
    running.wait_stdout(|out| out.contains('\n'));
    running.signal(signal);
    let out = running.finish();
    assert_eq!(out.code(), Some(130), "stderr: {}", out.stderr);
    assert!(
        out.stderr.contains("copipe: interrupted: draining"),
        "{}",
        out.stderr
    );
    let stats: serde_json::Value =
        serde_json::from_str(out.stderr.lines().last().unwrap()).expect("stats JSON");
    let read = stats["links"][0]["events"].as_u64().unwrap() as usize;
    let printed = out.stdout.lines().count();
    assert_eq!(printed, read, "events in = events out");
    assert!(
        read < text.lines().count(),
        "the interrupt stopped the source early"
    );
    let prefix: String = text.lines().take(read).map(|l| format!("{l}\n")).collect();
    assert_eq!(out.stdout, prefix);
    world.assert_clean();
}

#[test]
fn sigint_drains_and_nothing_is_lost() {
    drain_loses_nothing(libc::SIGINT);
}

#[test]
fn sigterm_drains_too() {
    drain_loses_nothing(libc::SIGTERM);
}

#[test]
fn a_drain_past_its_deadline_terminates_the_stages() {
    let world = World::new();
    world.write("log", &sample_text(1000, 10));
    let running = Running::start(world.copipe(&[
        "run",
        "--drain-timeout",
        "0.2",
        "-e",
        "co-lines log | co-chaos --after 3 --hang | co-printer",
    ]));
    running.wait_stdout(|out| out.lines().count() == 3);
    running.signal(libc::SIGINT);
    let out = running.finish();
    assert_eq!(out.code(), Some(130), "stderr: {}", out.stderr);
    assert!(
        out.stderr
            .contains("the drain took longer than 0.2 s; terminating "),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("stage 2 \"co-chaos --after 3 --hang\""),
        "{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("died with"),
        "stops the launcher caused are no failures: {}",
        out.stderr
    );
    world.assert_clean();
}

#[test]
fn the_ctrl_c_ladder_drains_then_terminates_then_kills() {
    let world = World::new();
    world.write("log", &sample_text(1000, 11));
    let running = Running::start(world.copipe(&[
        "run",
        "--stats",
        "-e",
        "co-lines log | co-chaos --after 3 --hang --ignore-term | co-printer",
    ]));
    running.wait_stdout(|out| out.lines().count() == 3);
    // While it runs, the launcher's private directory (for --stats) exists, and is private.
    let private: Vec<_> = std::fs::read_dir(world.path("private"))
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(private.len(), 1, "{private:?}");
    let mode = private[0].metadata().unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    running.signal(libc::SIGINT);
    running.wait_stderr("interrupted: draining");
    // The source drained; the hung stage is waited on.
    running.wait_stderr("stage 2 \"co-chaos --after 3 --hang --ignore-term\", stage 3 \"co-printer\"; interrupt again");
    running.signal(libc::SIGINT);
    running.wait_stderr("copipe: terminating");
    running.signal(libc::SIGINT);
    running.wait_stderr("copipe: killing ");
    let out = running.finish();
    assert_eq!(out.code(), Some(130), "stderr: {}", out.stderr);
    world.assert_clean();
}

#[test]
fn stages_die_with_a_killed_launcher() {
    let world = World::new();
    world.write("log", &sample_text(1000, 12));
    let running = Running::start(world.copipe(&[
        "run",
        "-e",
        "co-lines log | co-chaos --after 3 --hang --ignore-term | co-printer",
    ]));
    running.wait_stdout(|out| out.lines().count() == 3);
    assert!(wait_until(DEADLINE, || world.tagged_processes().len() >= 2));
    running.signal(libc::SIGKILL);
    let out = running.finish();
    assert_eq!(out.status.code(), None);
    assert!(
        wait_until(DEADLINE, || world.tagged_processes().is_empty()),
        "orphans: {:?}",
        world.tagged_processes()
    );
}

#[test]
fn a_branch_whose_consumer_exits_early_is_dropped_and_the_rest_go_on() {
    let world = World::new();
    let text = sample_text(20_000, 13);
    world.write("log", &text);
    let spec = "src = co-lines log\n\
                src | co-chaos --after 0 --exit 0 --output /dev/null\n\
                src | co-printer --output all.txt";
    let out = world.run(spec, &[], b"");
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    assert_eq!(
        std::fs::read_to_string(world.path("all.txt")).unwrap(),
        text
    );
    world.assert_clean();
}

#[test]
fn on_branch_close_stop_ends_every_branch_cleanly() {
    let world = World::new();
    let text = sample_text(200_000, 14);
    world.write("log", &text);
    let spec = "src = co-lines log\n\
                src | co-chaos --after 0 --exit 0 --output /dev/null\n\
                src | co-printer --output all.txt";
    let out = world.run(spec, &["--on-branch-close=stop"], b"");
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    let got = std::fs::read_to_string(world.path("all.txt")).unwrap();
    assert!(
        text.starts_with(&got),
        "the other branch got a clean prefix"
    );
    assert!(got.len() < text.len(), "the graph stopped before the end");
    world.assert_clean();
}

#[test]
fn graph_dot_shows_inserted_stages() {
    let world = World::new();
    let out = world
        .copipe(&[
            "graph",
            "--dot",
            "-e",
            "s = co-lines x; s | co-grep a | p; s | co-grep b | p; p = co-printer",
        ])
        .bounded();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dot = String::from_utf8(out.stdout).unwrap();
    assert!(dot.starts_with("digraph copipe {"), "{dot}");
    for needle in [
        "n2 [label=\"2: co-broadcast\", shape=diamond, style=dashed];",
        "n4 [label=\"4: co-merge\", shape=diamond, style=dashed];",
        "n1 -> n2 [label=\"line events\"];",
        "n6 -> n4 [label=\"line events\"];",
        "label=\"s\\n1: co-lines x\"",
    ] {
        assert!(dot.contains(needle), "no {needle:?} in {dot}");
    }
    world.assert_clean();
}

#[test]
fn the_shipped_examples_wire_and_type_check() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    for name in ["bus", "broadcast", "merge", "crash"] {
        let spec = root.join("examples").join(format!("{name}.pipe"));
        let out = Command::new(env!("CARGO_BIN_EXE_copipe"))
            .args(["graph", spec.to_str().unwrap()])
            .current_dir(root)
            .bounded();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn the_bus_example_runs_like_the_seed() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    assert!(
        root.join("examples/data/allroutes.xml").exists(),
        "examples/data/allroutes.xml is missing"
    );
    let world = World::new();
    let mut cmd = world.copipe(&["run", "examples/bus.pipe"]);
    cmd.current_dir(root);
    let out = common::run_with_input(cmd, b"");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.is_empty());
    assert!(
        text.lines()
            .all(|l| l.starts_with("22,") && l.contains(",\"North Bound\",")),
        "{text}"
    );
    world.assert_clean();
}

#[test]
fn usage_errors_exit_2() {
    let world = World::new();
    let out = world.copipe(&["run"]).bounded();
    assert_eq!(out.status.code(), Some(2));
    let out = world
        .copipe(&["run", "--grace", "-1", "-e", "a | b"])
        .bounded();
    assert_eq!(out.status.code(), Some(2));
    let out = world.copipe(&["run", "no-such.pipe"]).bounded();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).starts_with("copipe: error: reading no-such.pipe: ")
    );
    let help = world.copipe(&["--help"]).bounded();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("copipe run examples/bus.pipe"));
    world.assert_clean();
}

// Issue 15, point 2: every rung of the Ctrl-C ladder ends in bounded time: after the second
// interrupt, a stage that ignores SIGTERM is killed once --grace has passed.
#[test]
fn the_second_interrupt_kills_a_stage_ignoring_sigterm_after_the_grace() {
    let world = World::new();
    world.write("log", &sample_text(1000, 13));
    let running = Running::start(world.copipe(&[
        "run",
        "--grace",
        "1",
        "-e",
        "co-lines log | co-chaos --after 3 --hang --ignore-term | co-printer",
    ]));
    running.wait_stdout(|out| out.lines().count() == 3);
    running.signal(libc::SIGINT);
    running.wait_stderr("interrupted: draining");
    running.signal(libc::SIGINT);
    running.wait_stderr("copipe: terminating");
    let out = running.finish();
    assert_eq!(out.code(), Some(130), "stderr: {}", out.stderr);
    assert!(
        out.stderr
            .contains("still running 1.0 s after SIGTERM; killing"),
        "{}",
        out.stderr
    );
    world.assert_clean();
}

// Issue 15, point 5: an unusable TMPDIR (and no XDG_RUNTIME_DIR) does not stop a graph, and
// the directory of a launcher killed with -9 is removed by the next launcher.
#[test]
fn an_unusable_tmpdir_does_not_matter_and_a_dead_launchers_directory_is_removed() {
    let world = World::new();
    world.write("log", "a\n");
    let mut plain = world.copipe(&["run", "-e", "co-lines log | co-printer"]);
    plain
        .env_remove("XDG_RUNTIME_DIR")
        .env("TMPDIR", "/nonexistent/copipe-test");
    let out = common::run_with_input(plain, b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(out.stdout, b"a\n");

    let running = Running::start(world.copipe(&[
        "run",
        "--stats",
        "-e",
        "co-lines log | co-chaos --hang --ignore-term | co-printer",
    ]));
    running.wait_stderr("hanging after 0 events");
    let graphs =
        || std::fs::read_dir(world.path("private").join("copipe")).map_or(0, Iterator::count);
    assert_eq!(graphs(), 1);
    running.signal(libc::SIGKILL);
    let _ = running.finish();
    assert!(
        wait_until(DEADLINE, || world.tagged_processes().is_empty()),
        "orphans: {:?}",
        world.tagged_processes()
    );
    assert_eq!(graphs(), 1, "kill -9 leaves the directory");
    let out = world.run("co-lines log | co-printer", &["--stats"], b"");
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    world.assert_clean();
}

// Issue 15, point 11: a launcher-level error is printed once, and a long command is shortened.
#[test]
fn a_spawn_error_is_reported_once_with_the_command_shortened() {
    let world = World::new();
    world.write("log", "a\n");
    let script = world.write("bad-interpreter", "#!/nonexistent/interpreter\n");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let long = "x".repeat(200_000);
    world.write(
        "spec.pipe",
        &format!("co-lines log | ./bad-interpreter {long}\n"),
    );
    let out = common::run_with_input(world.copipe(&["run", "spec.pipe"]), b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_ne!(out.status.code(), Some(0), "stderr: {stderr}");
    let mentions = stderr
        .lines()
        .filter(|l| l.contains("bad-interpreter"))
        .count();
    assert_eq!(mentions, 1, "reported once: {stderr}");
    assert!(stderr.len() < 2000, "shortened: {} bytes", stderr.len());
    world.assert_clean();
}

/// Runs `copipe run -e SPEC` to its end and returns its stdout (for expected outputs).
fn plain_run(world: &World, spec: &str) -> String {
    let out = world.run(spec, &[], b"");
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    out.stdout
}

/// Issue 15, point 1: a drain of a graph whose source writes text (an XML document, CSV)
/// ends it cleanly. `chain` follows `co-gen-buses --buses N |`; once `chain` has printed some
/// lines, the launcher gets `signal`; it must exit 130 with no error from any stage, having
/// printed a prefix of what the whole run prints, in whole lines, every event the last link
/// carried.
fn a_text_source_drains_cleanly(chain: &str, signal: i32) {
    let world = World::new();
    let running = Running::start(world.copipe(&[
        "run",
        "--stats=json",
        "-e",
        &format!("co-gen-buses --buses 2000000 | {chain}"),
    ]));
    running.wait_stdout(|out| out.lines().count() >= 20);
    running.signal(signal);
    let out = running.finish();
    assert_eq!(out.code(), Some(130), "stderr: {}", out.stderr);
    let mut said = out.stderr.lines();
    assert!(
        said.next()
            .is_some_and(|l| l.starts_with("copipe: interrupted: draining")),
        "{}",
        out.stderr
    );
    let stats: serde_json::Value =
        serde_json::from_str(said.next().expect("the stats line")).expect("stats JSON");
    assert_eq!(said.next(), None, "nothing else on stderr: {}", out.stderr);
    let stages = stats["stages"].as_array().expect("stages");
    assert!(
        stages.iter().all(|s| s["exit_code"] == 0),
        "every stage ended cleanly: {stages:?}"
    );
    let links = stats["links"].as_array().expect("links");
    let printed = out.stdout.lines().count();
    assert_eq!(
        links.last().unwrap()["events"].as_u64(),
        Some(printed as u64),
        "every event on the last link was printed"
    );
    assert!(out.stdout.ends_with('\n'), "whole lines");
    // The same graph on a snapshot of exactly the buses printed (the generator is
    // deterministic): the drained output is its prefix.
    let whole = plain_run(&world, &format!("co-gen-buses --buses {printed} | {chain}"));
    assert_eq!(out.stdout, whole, "a prefix of the whole run");
    world.assert_clean();
}

#[test]
fn one_interrupt_drains_a_graph_whose_source_writes_an_xml_document() {
    a_text_source_drains_cleanly("co-xml | co-buses | co-printer", libc::SIGINT);
}

#[test]
fn sigterm_and_sighup_drain_a_text_source_too() {
    a_text_source_drains_cleanly("co-xml | co-buses | co-printer", libc::SIGTERM);
    a_text_source_drains_cleanly(
        "co-xml | co-buses | co-to-csv | co-from-csv | co-printer",
        libc::SIGHUP,
    );
}

// Issue 15, point 14: a spec given to -e is a spec even when it starts with `-`: it is parsed
// (and here refused, naming the place), not read as a flag of copipe's.
#[test]
fn a_spec_starting_with_a_hyphen_is_a_spec_not_a_flag() {
    let world = World::new();
    for command in ["run", "graph"] {
        let out = world
            .copipe(&[command, "-e", "--help = co-printer"])
            .bounded();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{command}: {stderr}");
        assert!(out.stdout.is_empty(), "no help printed: {:?}", out.stdout);
        assert!(
            stderr.starts_with("copipe: error: -e:1:1: \"--help\" is not a valid stage name"),
            "{command}: {stderr}"
        );
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
    }
    let out = world.copipe(&["run", "-e", "-x"]).bounded();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("-e:1:1: stage 1 \"-x\": program \"-x\" not found"),
        "{stderr}"
    );
    world.assert_clean();
}

// Issue 15, point 10: a program that answers --describe by starting a child that keeps its
// stdout open (`sleep 1000 &`) holds the launcher only for the describe timeout: the whole
// process group is killed then (nothing is left behind), the slow program is named, and the
// graph runs unchecked. (Without the group kill, the launcher waits for the sleeps: 1000 s.)
#[test]
fn a_slow_describe_is_stopped_with_its_children_and_named() {
    let world = World::new();
    let script = world.write(
        "slow-describe",
        "#!/bin/sh\nif [ \"$1\" = --describe ]; then\n  sleep 1000 &\n  exec sleep 1000\nfi\n\
         printf 'python one\\nply two\\npython three\\n'\n",
    );
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let warning = "copipe: warning: ./slow-describe did not answer --describe within 5 s";
    let out = world.run(
        "./slow-describe | co-lines | co-grep python | co-printer",
        &[],
        b"",
    );
    assert_eq!(out.code(), Some(0), "stderr: {}", out.stderr);
    assert_eq!(out.stdout, "python one\npython three\n");
    assert!(out.stderr.starts_with(warning), "{}", out.stderr);
    assert_eq!(out.stderr.lines().count(), 1, "{}", out.stderr);
    world.assert_clean();

    let out = world
        .copipe(&["graph", "-e", "./slow-describe | co-lines | co-printer"])
        .bounded();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.starts_with(warning), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("slow-describe"));
    world.assert_clean();
}

// Issue 15, point 9: a chain of 600 stages runs under a limit of 256 open descriptors, soft
// and hard (`ulimit -n 256` in sh sets both): the launcher makes each pipe as it starts the
// stages, holding one at a time, instead of every pipe first. (Start-up time, which grew
// with the square of the stages, is measured by `just bench-launch`.)
#[test]
fn a_chain_of_600_stages_runs_under_256_descriptors() {
    const STAGES: usize = 600;
    let world = World::new();
    let text = sample_text(400, 17);
    world.write("log", &text);
    let spec = format!(
        "co-lines log{} | co-grep python | co-printer\n",
        " | co-chaos".repeat(STAGES - 3)
    );
    world.write("chain.pipe", &spec);
    let copipe = env!("CARGO_BIN_EXE_copipe");
    let mut sh = Command::new("sh");
    sh.arg("-c")
        .arg("ulimit -n 256 && exec \"$0\" run --stats=json chain.pipe")
        .arg(copipe)
        .current_dir(world.dir.path())
        .env("XDG_RUNTIME_DIR", world.path("private"))
        .env("COPIPE_TEST_TAG", &world.tag);
    let out = common::run_with_input(sh, b"");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), grep(&text, "python"));
    let stats: serde_json::Value =
        serde_json::from_str(stderr.lines().last().expect("stats")).expect("stats JSON");
    assert_eq!(stats["stages"].as_array().map(Vec::len), Some(STAGES));
    world.assert_clean();
}
