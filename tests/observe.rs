//! Seeing inside running graphs, with real launchers and stages: `copipe ps` through every
//! kind of ending, `copipe top --json` against `--stats`, the bottleneck mark, `copipe tap`
//! (exact windows; killed or stopped taps leave the graph's output unchanged), the live table
//! in a real terminal (tmux), `--progress`, and another user kept out.
//!
//! Each test gets its own `XDG_RUNTIME_DIR`, so it sees only its own graphs, and checks that
//! nothing is left there.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Output, Stdio};

use crate::common::{stdout_of_success, wait_until, Bounded, DEADLINE};

/// A test's own runtime directory, and the processes it started (killed when dropped).
struct World {
    dir: tempfile::TempDir,
    children: Vec<Child>,
}

impl World {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("scratch dir");
        // Others may pass through the scratch directory: only copipe's own directory (0700)
        // keeps them out, which is what the other-user test checks.
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir(dir.path().join("run")).unwrap();
        World {
            dir,
            children: Vec::new(),
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn runtime(&self) -> PathBuf {
        self.path("run")
    }

    fn copipe(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_copipe"));
        c.args(args)
            .current_dir(self.dir.path())
            .env("XDG_RUNTIME_DIR", self.runtime());
        c
    }

    /// Starts `copipe run -e SPEC`, stdout to the file `out`, stderr to `err`.
    fn start(&mut self, spec: &str, extra: &[&str], out: &str) -> u32 {
        let mut args = vec!["run"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["-e", spec]);
        let mut c = self.copipe(&args);
        c.stdin(Stdio::null())
            .stdout(std::fs::File::create(self.path(out)).unwrap())
            .stderr(std::fs::File::create(self.path(&format!("{out}.err"))).unwrap());
        let child = c.spawn().expect("start copipe run");
        let pid = child.id();
        self.children.push(child);
        pid
    }

    /// Waits for the launcher `pid` to exit; its status code.
    fn wait(&mut self, pid: u32) -> Option<i32> {
        let i = self.children.iter().position(|c| c.id() == pid).unwrap();
        let mut child = self.children.remove(i);
        let mut status = None;
        let ended = wait_until(DEADLINE, || {
            status = child.try_wait().unwrap();
            status.is_some()
        });
        if !ended {
            let _ = child.kill();
            panic!("copipe run (pid {pid}) did not end");
        }
        status.unwrap().code()
    }

    /// The running graphs, as `copipe ps --json` lists them.
    fn ps(&self) -> Vec<serde_json::Value> {
        json_lines(&mut self.copipe(&["ps", "--json"]))
    }

    /// Waits until a graph of launcher `pid` is listed; its id.
    fn listed(&self, pid: u32) -> String {
        let mut id = None;
        let found = wait_until(DEADLINE, || {
            id = self
                .ps()
                .into_iter()
                .find(|g| g["pid"] == pid && g["stages"][0]["pid"].is_u64())
                .map(|g| g["id"].as_str().unwrap().to_owned());
            id.is_some()
        });
        assert!(found, "graph of launcher {pid} never listed");
        id.unwrap()
    }

    /// Nothing left in copipe's directory.
    fn assert_clean(&self) {
        let user_dir = self.runtime().join("copipe");
        let left = || -> Vec<PathBuf> {
            std::fs::read_dir(&user_dir)
                .map(|d| d.flatten().map(|e| e.path()).collect())
                .unwrap_or_default()
        };
        assert!(
            wait_until(DEADLINE, || left().is_empty()),
            "left behind: {:?}",
            left()
        );
    }

    /// Lines `1`, `2`, ... `n`.
    fn write_numbers(&self, name: &str, n: usize) -> PathBuf {
        let text: String = (1..=n).map(|i| format!("{i}\n")).collect();
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    /// Lines `1 xxx...`, `2 xxx...`, ... of about 1 kB: a few thousand of them are more than
    /// the pipes and buffers between two stages hold, so the first link fills and drains
    /// gradually while a slow stage reads it.
    fn write_wide(&self, name: &str, n: usize) -> PathBuf {
        let pad = "x".repeat(1000);
        let text: String = (1..=n).map(|i| format!("{i} {pad}\n")).collect();
        let path = self.path(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for World {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe { libc::kill(pid as libc::pid_t, sig) };
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn ps_lists_a_graph_while_it_runs_and_forgets_it_however_it_ends() {
    let mut w = World::new();
    w.write_numbers("log", 3);
    // A Ctrl-C (SIGINT to the launcher): a drain.
    let pid = w.start("co-follow --from-start log | co-printer", &[], "a");
    let id = w.listed(pid);
    let g = w.ps().into_iter().find(|g| g["id"] == id.as_str()).unwrap();
    assert_eq!(g["stages"].as_array().unwrap().len(), 2);
    assert!(g["spec"].as_str().unwrap().contains("co-follow"));
    assert!(wait_until(DEADLINE, || read(&w.path("a")) == "1\n2\n3\n"));
    signal(pid, libc::SIGINT);
    assert_eq!(w.wait(pid), Some(130));
    assert!(w.ps().is_empty());
    w.assert_clean();

    // A failing stage.
    let pid = w.start(
        "co-lines log | co-chaos --after 1 --exit 3 | co-printer",
        &[],
        "b",
    );
    assert_eq!(w.wait(pid), Some(3));
    assert!(w.ps().is_empty());
    w.assert_clean();

    // SIGKILL of the launcher: its stages die with it, and the stale entry is cleaned by the
    // next look.
    let pid = w.start("co-follow --from-start log | co-printer", &[], "c");
    w.listed(pid);
    signal(pid, libc::SIGKILL);
    w.wait(pid);
    assert!(w.ps().is_empty(), "a dead launcher's graph is not listed");
    w.assert_clean();
}

/// Reads `copipe top --json` samples until the graph ends.
fn watch(w: &World, id: &str) -> Vec<serde_json::Value> {
    json_lines(&mut w.copipe(&["top", "--json", "--interval", "0.2", id]))
}

/// Runs `command` to its end (bounded), requires success, and parses its JSON lines.
fn json_lines(command: &mut Command) -> Vec<serde_json::Value> {
    stdout_of_success(command)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Starts `copipe tap GRAPH LINK` and waits (bounded) for its first printed event; returns
/// the tap and its stdout, still open.
fn start_tap(w: &World, id: &str, link: &str) -> (Child, BufReader<ChildStdout>) {
    let mut child = w
        .copipe(&["tap", id, link])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut first = String::new();
        let read = out.read_line(&mut first);
        let _ = tx.send((read.is_ok(), first, out));
    });
    match rx.recv_timeout(DEADLINE) {
        Ok((true, first, out)) if first.starts_with("line '") => (child, out),
        Ok((_, first, _)) => {
            let _ = child.kill();
            panic!("the tap printed {first:?}");
        }
        Err(_) => {
            let _ = child.kill();
            panic!("the tap printed nothing");
        }
    }
}

#[test]
fn top_counts_grow_end_equal_to_stats_and_mark_the_slow_stage() {
    let mut w = World::new();
    w.write_wide("numbers", 1500);
    let spec = "co-lines numbers | co-chaos --sleep-ms 2 | co-printer";
    let pid = w.start(spec, &["--stats=json"], "out");
    let id = w.listed(pid);
    let views = watch(&w, &id);
    assert_eq!(w.wait(pid), Some(0));
    assert_eq!(read(&w.path("out")), read(&w.path("numbers")));

    let last = views.last().unwrap();
    assert_eq!(last["done"], true, "the last sample is final");
    assert!(views.len() >= 3, "samples while it ran: {}", views.len());
    // Counters only grow, and some sample saw the graph part-way.
    let events = |v: &serde_json::Value, link: usize| v["links"][link]["events"].as_u64().unwrap();
    for pair in views.windows(2) {
        assert!(events(&pair[0], 0) <= events(&pair[1], 0));
        assert!(events(&pair[0], 1) <= events(&pair[1], 1));
    }
    assert!(views.iter().any(|v| (1..1500).contains(&events(v, 0))));

    // The final sample's totals are --stats' totals.
    let err = read(&w.path("out.err"));
    let stats: serde_json::Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
    let stats_links: HashMap<String, (u64, u64)> = stats["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                format!("{}->{}", l["from"], l["to"]),
                (l["events"].as_u64().unwrap(), l["bytes"].as_u64().unwrap()),
            )
        })
        .collect();
    for l in last["links"].as_array().unwrap() {
        let name = l["name"].as_str().unwrap();
        let want = stats_links[name];
        assert_eq!(
            (l["events"].as_u64().unwrap(), l["bytes"].as_u64().unwrap()),
            want,
            "{name}"
        );
    }
    assert_eq!(stats_links["2->3"].0, 1500);

    // The sleeping co-chaos bounds the graph: it is marked in most samples.
    let marks: Vec<u64> = views
        .iter()
        .filter_map(|v| v["bottleneck"].as_u64())
        .collect();
    let chaos = marks.iter().filter(|&&m| m == 2).count();
    assert!(
        chaos * 2 > marks.len() && chaos >= 2,
        "bottleneck marks: {marks:?}"
    );
    w.assert_clean();
}

/// The numbers a tap printed (`co-dump` lines: `line '17 xxx...'`).
fn tapped_numbers(out: &Output) -> Vec<u64> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            l.strip_prefix("line '")
                .and_then(|l| l.split(' ').next())
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("not a tapped line: {l:?}"))
        })
        .collect()
}

#[test]
fn a_tap_shows_exactly_the_events_of_its_window_in_order() {
    let mut w = World::new();
    w.write_wide("numbers", 4000);
    let pid = w.start(
        "co-lines numbers | co-chaos --sleep-ms 1 | co-printer",
        &[],
        "out",
    );
    let id = w.listed(pid);
    let out = w.copipe(&["tap", &id, "1->2", "--limit", "100"]).bounded();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got = tapped_numbers(&out);
    assert_eq!(got.len(), 100);
    assert!(
        got.windows(2).all(|p| p[1] == p[0] + 1),
        "contiguous: {got:?}"
    );

    // Another tap on the same link, --json, named the other way.
    let out = w
        .copipe(&["tap", &id, "1-2", "--limit", "5", "--json"])
        .bounded();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 5);
    assert!(
        text.lines().all(|l| l.starts_with("{\"line\":\"")),
        "{text}"
    );

    // A link that does not exist.
    let out = w.copipe(&["tap", &id, "3->1"]).bounded();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("no link \"3->1\"") && err.contains("1->2, 2->3"),
        "{err}"
    );

    assert_eq!(w.wait(pid), Some(0));
    assert_eq!(read(&w.path("out")), read(&w.path("numbers")));
    w.assert_clean();
}

#[test]
fn a_killed_or_stopped_tap_leaves_the_graph_and_its_output_unchanged() {
    let mut w = World::new();
    w.write_wide("numbers", 3000);
    let pid = w.start(
        "co-lines numbers | co-chaos --sleep-ms 1 | co-printer",
        &[],
        "out",
    );
    let id = w.listed(pid);
    // A tap stopped with SIGSTOP (as Ctrl-Z does) and never resumed until the end.
    let (mut stopped, stopped_out) = start_tap(&w, &id, "1->2");
    signal(stopped.id(), libc::SIGSTOP);
    // A tap killed while it reads (on the other link: one tap per link at a time).
    let (mut killed, _) = start_tap(&w, &id, "2->3");
    killed.kill().unwrap();
    killed.bounded();

    assert_eq!(w.wait(pid), Some(0), "{}", read(&w.path("out.err")));
    assert_eq!(read(&w.path("out")), read(&w.path("numbers")));
    assert!(
        !read(&w.path("out.err")).contains("error"),
        "{}",
        read(&w.path("out.err"))
    );
    signal(stopped.id(), libc::SIGCONT);
    // Resumed after the graph ended, the stopped tap finds its stream cut short and ends
    // (bounded: a tap that never ends fails the test).
    drop(stopped_out);
    stopped.bounded();
    w.assert_clean();
}

#[test]
fn progress_forced_onto_a_pipe_prints_plain_lines() {
    let mut w = World::new();
    w.write_wide("numbers", 2500);
    let pid = w.start(
        "co-lines numbers | co-chaos --sleep-ms 1 | co-printer",
        &["--progress"],
        "out",
    );
    assert_eq!(w.wait(pid), Some(0));
    let err = read(&w.path("out.err"));
    let progress: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("copipe: progress: "))
        .collect();
    assert!(!progress.is_empty(), "{err}");
    assert!(
        progress
            .iter()
            .all(|l| l.contains("1 co-lines numbers: ") && l.contains("3 co-printer: ")),
        "{err}"
    );
    assert!(progress.iter().any(|l| l.contains(" events")), "{err}");
    // Not without --progress when stderr is not a terminal.
    let pid = w.start("co-lines numbers | co-printer", &[], "quiet");
    assert_eq!(w.wait(pid), Some(0));
    assert_eq!(read(&w.path("quiet.err")), "");
    w.assert_clean();
}

/// A tmux session, killed when dropped.
struct Tmux(String);

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = Command::new("tmux")
            .args(["kill-session", "-t", &self.0])
            .output();
    }
}

fn have(program: &str) -> bool {
    Command::new(program).arg("-V").output().is_ok()
}

#[test]
fn the_live_table_draws_in_a_real_terminal_and_quits_on_q() {
    if !have("tmux") {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is missing on CI (.ci/run installs it)"
        );
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let mut w = World::new();
    w.write_wide("numbers", 6000);
    let pid = w.start(
        "co-lines numbers | co-chaos --sleep-ms 2 | co-printer",
        &[],
        "out",
    );
    let id = w.listed(pid);
    let session = Tmux(format!("copipe-top-{}", std::process::id()));
    let command = format!(
        "env XDG_RUNTIME_DIR={} {} top --interval 0.3 {id}",
        w.runtime().display(),
        env!("CARGO_BIN_EXE_copipe")
    );
    let ok = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &session.0,
            "-x",
            "140",
            "-y",
            "30",
            &command,
        ])
        .bounded()
        .status;
    assert!(ok.success());
    let capture = || {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &session.0])
            .bounded();
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let mut screen = String::new();
    let drawn = wait_until(DEADLINE, || {
        screen = capture();
        screen.contains("copipe top: graph")
            && screen.contains("co-chaos --sleep-ms 2")
            && screen.contains("2->3")
            && screen
                .lines()
                .any(|l| l.contains("bottleneck") && l.contains("co-chaos"))
    });
    assert!(drawn, "the table never showed co-chaos marked:\n{screen}");
    Command::new("tmux")
        .args(["send-keys", "-t", &session.0, "q"])
        .bounded();
    let gone = wait_until(DEADLINE, || {
        !Command::new("tmux")
            .args(["has-session", "-t", &session.0])
            .bounded()
            .status
            .success()
    });
    assert!(gone, "top did not quit on q:\n{}", capture());
    signal(pid, libc::SIGINT);
    w.wait(pid);
    w.assert_clean();
}

const OTHER_USER: &str = "copipe-other";

#[test]
fn another_user_cannot_connect_to_a_graph() {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: creating another user needs root");
        return;
    }
    let exists = Command::new("id")
        .arg(OTHER_USER)
        .bounded()
        .status
        .success();
    if !exists {
        let made = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                OTHER_USER,
            ])
            .bounded()
            .status;
        assert!(made.success(), "useradd failed");
    }
    let mut w = World::new();
    w.write_numbers("log", 2);
    let pid = w.start("co-follow --from-start log | co-printer", &[], "out");
    let id = w.listed(pid);
    let socket = w.runtime().join("copipe").join(&id).join("control.sock");
    assert!(socket.exists());
    // Connecting to the control socket directly...
    let direct = Command::new("runuser")
        .args(["-u", OTHER_USER, "--", "python3", "-c"])
        .arg(format!(
            "import socket; s = socket.socket(socket.AF_UNIX); s.connect({:?})",
            socket.display().to_string()
        ))
        .bounded();
    assert!(!direct.status.success());
    assert!(
        String::from_utf8_lossy(&direct.stderr).contains("PermissionError"),
        "{direct:?}"
    );
    // ... and through copipe top.
    let top = Command::new("runuser")
        .args(["-u", OTHER_USER, "--", "env"])
        .arg(format!("XDG_RUNTIME_DIR={}", w.runtime().display()))
        .args([
            env!("CARGO_BIN_EXE_copipe"),
            "top",
            "--json",
            "--count",
            "1",
            &id,
        ])
        .bounded();
    assert!(!top.status.success());
    let err = String::from_utf8_lossy(&top.stderr);
    assert!(
        err.starts_with("copipe: error: ") && err.lines().count() == 1,
        "{err}"
    );
    signal(pid, libc::SIGINT);
    assert_eq!(w.wait(pid), Some(130));
    w.assert_clean();
}

#[test]
fn top_without_a_graph_says_so() {
    let w = World::new();
    let out = w.copipe(&["top", "--json"]).bounded();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "copipe: error: no graph is running (start one with copipe run)\n"
    );
}

#[test]
fn a_stage_reading_a_file_by_hand_shows_a_meter_on_a_terminal() {
    if !have("tmux") {
        assert!(
            std::env::var_os("CI").is_none(),
            "tmux is missing on CI (.ci/run installs it)"
        );
        eprintln!("skipped: tmux is not installed");
        return;
    }
    let w = World::new();
    w.write_wide("feed.txt", 3000);
    let session = Tmux(format!("copipe-progress-{}", std::process::id()));
    let bin = |name: &str| crate::common::bin(name).display().to_string();
    let command = format!(
        "{} --progress feed.txt | {} --sleep-ms 1 | {} > /dev/null",
        bin("co-lines"),
        bin("co-chaos"),
        bin("co-printer")
    );
    let ok = Command::new("tmux")
        .args([
            "new-session",
            "-d",
            "-s",
            &session.0,
            "-x",
            "120",
            "-y",
            "10",
            "-c",
        ])
        .arg(w.dir.path())
        .arg(&command)
        .bounded()
        .status;
    assert!(ok.success());
    let mut screen = String::new();
    let shown = wait_until(DEADLINE, || {
        let out = Command::new("tmux")
            .args(["capture-pane", "-p", "-t", &session.0])
            .bounded();
        screen = String::from_utf8_lossy(&out.stdout).into_owned();
        screen.contains("feed.txt") && screen.contains("ETA") && screen.contains("MiB")
    });
    assert!(shown, "no meter:\n{screen}");
}
