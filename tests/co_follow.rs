//! `co-follow`: the real binary following real files, into the real `co-printer`.
//!
//! Synchronisation is on conditions, never on sleeps: a line appearing on the printer's
//! output, a process exiting, or co-follow's own read offset on the followed file (read
//! from `/proc/PID/fdinfo`), which says exactly when it has read what was written.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use crate::common::Bounded;
use crate::common::{cmd, wait_until, Reaper, DEADLINE};

/// Collects everything a child writes to one of its pipes, as it arrives.
struct Drain {
    text: Arc<Mutex<Vec<u8>>>,
    thread: Option<JoinHandle<()>>,
}

impl Drain {
    fn new(mut from: impl Read + Send + 'static) -> Self {
        let text = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&text);
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = from.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Drain {
            text,
            thread: Some(thread),
        }
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.text.lock().unwrap()).into_owned()
    }

    /// Waits for the pipe to close (the child and its descendants exited).
    fn finish(&mut self) -> String {
        if let Some(t) = self.thread.take() {
            crate::common::join_by(t, "the output collector");
        }
        self.text()
    }
}

/// `co-follow ARGS | STAGE ... | co-printer`, with every output collected.
struct Followed {
    children: Reaper,
    stdout: Drain,
    stderrs: Vec<Drain>,
}

impl Followed {
    /// Starts `co-follow` with `args`, piped through `middle` stages (each a `co-*` command
    /// line) into `co-printer`.
    fn start(args: &[&str], middle: &[&[&str]]) -> Self {
        let mut stages = vec![cmd("co-follow", args)];
        for stage in middle {
            stages.push(cmd(stage[0], &stage[1..]));
        }
        stages.push(cmd("co-printer", &[]));
        let mut children = Reaper(Vec::new());
        let mut stderrs = Vec::new();
        let mut upstream: Option<ChildStdout> = None;
        for mut c in stages {
            c.stdin(match upstream.take() {
                Some(out) => Stdio::from(out),
                None => Stdio::null(),
            });
            c.stdout(Stdio::piped()).stderr(Stdio::piped());
            let mut child: Child = c.spawn().expect("spawn stage");
            stderrs.push(Drain::new(child.stderr.take().unwrap()));
            upstream = child.stdout.take();
            children.0.push(child);
        }
        let stdout = Drain::new(upstream.unwrap());
        Followed {
            children,
            stdout,
            stderrs,
        }
    }

    fn follower_pid(&self) -> u32 {
        self.children.0[0].id()
    }

    fn lines(&self) -> Vec<String> {
        self.stdout.text().lines().map(str::to_owned).collect()
    }

    /// Waits until the printer has printed `line` (as a whole line).
    fn wait_for_line(&self, line: &str) {
        let seen = wait_until(DEADLINE, || self.lines().iter().any(|l| l == line));
        let said: Vec<String> = self.stderrs.iter().map(Drain::text).collect();
        assert!(
            seen,
            "{line:?} never reached the printer; got {:?}; the stages said {said:?}",
            self.lines(),
        );
    }

    /// Waits until co-follow has read `path` up to `len` bytes.
    ///
    /// On an empty file, offset 0 is also where co-follow stands between opening the file
    /// and seeking to its end: a line appended in that window would be skipped as old. So
    /// tests that start on an empty file use `--from-start`, where offset 0 is final.
    fn wait_for_offset(&self, path: &Path, len: u64) {
        let pid = self.follower_pid();
        let reached = wait_until(DEADLINE, || read_offset(pid, path) == Some(len));
        assert!(
            reached,
            "co-follow never read {} up to byte {len} (at {:?})",
            path.display(),
            read_offset(pid, path)
        );
    }

    fn signal(&self, signal: i32) {
        // SAFETY: kill(2) on our own child's pid.
        let rc = unsafe { libc::kill(self.follower_pid() as libc::pid_t, signal) };
        assert_eq!(rc, 0, "kill failed");
    }

    /// Waits for every stage to exit; returns their statuses and the printer's output.
    fn finish(&mut self) -> (Vec<ExitStatus>, Vec<String>) {
        let mut statuses = Vec::new();
        for child in &mut self.children.0 {
            let mut status = None;
            let exited = wait_until(DEADLINE, || {
                status = child.try_wait().expect("try_wait");
                status.is_some()
            });
            assert!(exited, "a stage did not exit");
            statuses.push(status.unwrap());
        }
        let text = self.stdout.finish();
        (statuses, text.lines().map(str::to_owned).collect())
    }

    fn stderr(&mut self, stage: usize) -> String {
        self.stderrs[stage].finish()
    }
}

/// The offset co-follow's open descriptor on `path` has reached, if it has one open.
fn read_offset(pid: u32, path: &Path) -> Option<u64> {
    let want = fs::canonicalize(path).ok()?;
    for entry in fs::read_dir(format!("/proc/{pid}/fd")).ok()? {
        let entry = entry.ok()?;
        if fs::read_link(entry.path()).ok()? != want {
            continue;
        }
        let info = fs::read_to_string(format!(
            "/proc/{pid}/fdinfo/{}",
            entry.file_name().to_str()?
        ))
        .ok()?;
        let pos = info.lines().find_map(|l| l.strip_prefix("pos:"))?;
        return pos.trim().parse().ok();
    }
    None
}

fn append(path: &Path, text: &str) {
    let mut f = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .unwrap();
    f.write_all(text.as_bytes()).unwrap();
}

fn len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

fn log_with(dir: &tempfile::TempDir, text: &str) -> PathBuf {
    let path = dir.path().join("access-log");
    fs::write(&path, text).unwrap();
    path
}

fn assert_all_ok(statuses: &[ExitStatus], followed: &mut Followed) {
    for (i, status) in statuses.iter().enumerate() {
        assert!(
            status.success(),
            "stage {i} failed: {status:?}: {}",
            followed.stderr(i)
        );
    }
}

#[test]
fn appended_lines_arrive_and_old_lines_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(&dir, "old 1\nold 2\n");
    let mut f = Followed::start(&[log.to_str().unwrap()], &[]);
    // It starts at the end: once its offset is there, anything appended is new.
    f.wait_for_offset(&log, len(&log));
    append(&log, "new 1\n");
    f.wait_for_line("new 1");
    append(&log, "new 2\nnew 3\n");
    f.wait_for_line("new 3");
    f.signal(libc::SIGINT);
    let (statuses, lines) = f.finish();
    assert_all_ok(&statuses, &mut f);
    assert_eq!(lines, ["new 1", "new 2", "new 3"]);
}

#[test]
fn from_start_sends_what_is_there_first() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(&dir, "old 1\nold 2\n");
    let mut f = Followed::start(&["--from-start", log.to_str().unwrap()], &[]);
    f.wait_for_line("old 2");
    append(&log, "new 1\n");
    f.wait_for_line("new 1");
    f.signal(libc::SIGINT);
    let (statuses, lines) = f.finish();
    assert_all_ok(&statuses, &mut f);
    assert_eq!(lines, ["old 1", "old 2", "new 1"]);
}

#[test]
fn polling_follows_too() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(&dir, "old\n");
    let mut f = Followed::start(&["--poll-ms", "20", log.to_str().unwrap()], &[]);
    f.wait_for_offset(&log, len(&log));
    append(&log, "polled 1\n");
    f.wait_for_line("polled 1");
    append(&log, "polled 2\n");
    f.wait_for_line("polled 2");
    f.signal(libc::SIGTERM);
    let (statuses, lines) = f.finish();
    assert_all_ok(&statuses, &mut f);
    assert_eq!(lines, ["polled 1", "polled 2"]);
}

#[test]
fn a_line_written_in_pieces_arrives_once_whole() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(&dir, "");
    let mut f = Followed::start(&["--from-start", log.to_str().unwrap()], &[]);
    f.wait_for_offset(&log, 0);
    // Each piece is read by co-follow before the next is written.
    for piece in ["alpha-", "beta-", "gamma"] {
        append(&log, piece);
        f.wait_for_offset(&log, len(&log));
    }
    append(&log, "\nnext\n");
    f.wait_for_line("next");
    f.signal(libc::SIGINT);
    let (statuses, lines) = f.finish();
    assert_all_ok(&statuses, &mut f);
    assert_eq!(lines, ["alpha-beta-gamma", "next"]);
}

#[test]
fn rotation_finishes_the_old_file_then_follows_the_new_one() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(&dir, "");
    let rotated = dir.path().join("access-log.1");
    let mut f = Followed::start(&["--from-start", log.to_str().unwrap()], &[]);
    f.wait_for_offset(&log, 0);
    append(&log, "a1\n");
    f.wait_for_line("a1");
    // logrotate: rename; the writer still has the old file open and writes a last line
    // (the first half of it, even); then the new file appears.
    fs::rename(&log, &rotated).unwrap();
    append(&rotated, "a2 late\na3 unterminated");
    File::create(&log).unwrap().write_all(b"b1\n").unwrap();
    f.wait_for_line("b1");
    append(&log, "b2\n");
    f.wait_for_line("b2");
    f.signal(libc::SIGINT);
    let (statuses, lines) = f.finish();
    assert_all_ok(&statuses, &mut f);
    assert_eq!(lines, ["a1", "a2 late", "a3 unterminated", "b1", "b2"]);
    assert!(
        f.stderr(0).contains("replaced"),
        "co-follow should say the file was replaced"
    );
}

#[test]
fn a_removed_and_recreated_file_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(&dir, "");
    let mut f = Followed::start(&["--from-start", log.to_str().unwrap()], &[]);
    f.wait_for_offset(&log, 0);
    append(&log, "before\n");
    f.wait_for_line("before");
    fs::remove_file(&log).unwrap();
    fs::write(&log, "after 1\n").unwrap();
    f.wait_for_line("after 1");
    append(&log, "after 2\n");
    f.wait_for_line("after 2");
    f.signal(libc::SIGINT);
    let (statuses, lines) = f.finish();
    assert_all_ok(&statuses, &mut f);
    assert_eq!(lines, ["before", "after 1", "after 2"]);
}

#[test]
fn truncation_restarts_at_the_new_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(&dir, "");
    let mut f = Followed::start(&["--from-start", log.to_str().unwrap()], &[]);
    f.wait_for_offset(&log, 0);
    append(
        &log,
        "a long first line, longer than what comes after the truncation\n",
    );
    f.wait_for_line("a long first line, longer than what comes after the truncation");
    // Truncate, then write less than was there: the shrink is visible whenever co-follow
    // looks, so the test does not depend on when it does.
    OpenOptions::new()
        .write(true)
        .open(&log)
        .unwrap()
        .set_len(0)
        .unwrap();
    append(&log, "t1\n");
    f.wait_for_line("t1");
    append(&log, "t2\n");
    f.wait_for_line("t2");
    f.signal(libc::SIGINT);
    let (statuses, lines) = f.finish();
    assert_all_ok(&statuses, &mut f);
    assert_eq!(
        lines,
        [
            "a long first line, longer than what comes after the truncation",
            "t1",
            "t2"
        ]
    );
    assert!(
        f.stderr(0).contains("truncated"),
        "co-follow should say the file was truncated"
    );
}

// Issue 15, point 12: in poll mode, a file truncated and refilled past the old read position
// between two looks is read again from its start (no lost lines, no fragment sent as a line).
#[test]
fn a_file_rewritten_past_the_old_end_between_polls_is_read_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let old: String = (0..5).map(|i| format!("old {i}\n")).collect();
    let log = log_with(&dir, &old);
    let mut f = Followed::start(
        &["--from-start", "--poll-ms", "50", log.to_str().unwrap()],
        &[],
    );
    f.wait_for_line("old 4");
    f.wait_for_offset(&log, len(&log));
    let mut expected: Vec<String> = old.lines().map(str::to_owned).collect();
    for round in 0..3 {
        // Truncate and refill with more than was there, in one go (fs::write: two system
        // calls microseconds apart), so co-follow's next look sees a longer file.
        let new: String = (0..40)
            .map(|i| format!("round {round} line {i:02}\n"))
            .collect();
        fs::write(&log, &new).unwrap();
        let last = format!("round {round} line 39");
        f.wait_for_line(&last);
        f.wait_for_offset(&log, len(&log));
        expected.extend(new.lines().map(str::to_owned));
    }
    f.signal(libc::SIGINT);
    let (statuses, lines) = f.finish();
    assert_all_ok(&statuses, &mut f);
    assert_eq!(lines, expected);
    let notes = f.stderr(0);
    assert!(
        notes.contains("rewritten in place") || notes.contains("truncated"),
        "{notes}"
    );
}

#[test]
fn a_stop_signal_sends_the_unterminated_line_and_ends_the_stream() {
    for signal in [libc::SIGINT, libc::SIGTERM] {
        let dir = tempfile::tempdir().unwrap();
        let log = log_with(&dir, "");
        let mut f = Followed::start(&["--from-start", log.to_str().unwrap()], &[]);
        f.wait_for_offset(&log, 0);
        append(&log, "whole\n");
        f.wait_for_line("whole");
        append(&log, "half a line");
        f.wait_for_offset(&log, len(&log));
        f.signal(signal);
        let (statuses, lines) = f.finish();
        // Both exit 0: co-follow ended the stream properly (else co-printer would report a
        // missing end-of-stream marker and fail).
        assert_all_ok(&statuses, &mut f);
        assert_eq!(lines, ["whole", "half a line"], "signal {signal}");
    }
}

#[test]
fn lines_flow_live_through_grep_to_the_printer() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(&dir, "");
    let mut f = Followed::start(
        &["--from-start", log.to_str().unwrap()],
        &[&["co-grep", "x"]],
    );
    f.wait_for_offset(&log, 0);
    // Each line must arrive while the pipeline stays open: every stage flushes when idle.
    for i in 0..5 {
        append(&log, &format!("no match {i}\nx marks {i}\n"));
        f.wait_for_line(&format!("x marks {i}"));
    }
    f.signal(libc::SIGINT);
    let (statuses, lines) = f.finish();
    assert_all_ok(&statuses, &mut f);
    let expected: Vec<String> = (0..5).map(|i| format!("x marks {i}")).collect();
    assert_eq!(lines, expected);
}

#[test]
fn wait_waits_for_the_file_to_appear_and_reads_it_from_its_start() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("later-log");
    let mut f = Followed::start(&["--wait", log.to_str().unwrap()], &[]);
    let waiting = wait_until(DEADLINE, || f.stderrs[0].text().contains("waiting for"));
    assert!(
        waiting,
        "co-follow --wait did not say it waits: {:?}",
        f.stderrs[0].text()
    );
    fs::write(&log, "first\n").unwrap();
    f.wait_for_line("first");
    append(&log, "second\n");
    f.wait_for_line("second");
    f.signal(libc::SIGINT);
    let (statuses, lines) = f.finish();
    assert_all_ok(&statuses, &mut f);
    assert_eq!(lines, ["first", "second"]);
}

#[test]
fn a_stop_while_waiting_for_the_file_ends_an_empty_stream_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("never-log");
    let mut f = Followed::start(&["--wait", log.to_str().unwrap()], &[]);
    let waiting = wait_until(DEADLINE, || f.stderrs[0].text().contains("waiting for"));
    assert!(waiting, "co-follow --wait did not say it waits");
    f.signal(libc::SIGINT);
    let (statuses, lines) = f.finish();
    assert_all_ok(&statuses, &mut f);
    assert!(lines.is_empty());
}

fn run_alone(args: &[&str]) -> std::process::Output {
    let mut c = cmd("co-follow", args);
    c.stdin(Stdio::null());
    c.bounded()
}

fn assert_one_line_error(out: &std::process::Output, code: i32, mentions: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "stderr: {stderr}");
    assert_eq!(stderr.lines().count(), 1, "one line expected: {stderr:?}");
    assert!(stderr.starts_with("co-follow: error: "), "{stderr}");
    for m in mentions {
        assert!(stderr.contains(m), "{stderr:?} should mention {m:?}");
    }
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("no-such-log");
    let out = run_alone(&[log.to_str().unwrap()]);
    assert_one_line_error(&out, 1, &["no-such-log", "No such file", "--wait"]);
    assert!(out.stdout.is_empty());
}

#[test]
fn a_directory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = run_alone(&[dir.path().to_str().unwrap()]);
    assert_one_line_error(&out, 1, &["is a directory"]);
}

#[test]
fn invalid_utf8_is_an_error_naming_the_byte_unless_lossy() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(&dir, "");
    fs::write(&log, b"fine\nbad \xff byte\n").unwrap();
    let out = run_alone(&[
        "--from-start",
        log.to_str().unwrap(),
        "--output",
        "/dev/null",
    ]);
    assert_one_line_error(&out, 1, &["access-log", "byte 5", "UTF-8", "--lossy"]);

    let mut f = Followed::start(&["--from-start", "--lossy", log.to_str().unwrap()], &[]);
    f.wait_for_line("bad \u{FFFD} byte");
    f.signal(libc::SIGINT);
    let (statuses, lines) = f.finish();
    assert_all_ok(&statuses, &mut f);
    assert_eq!(lines, ["fine", "bad \u{FFFD} byte"]);
}

#[test]
fn a_line_over_the_limit_is_an_error_not_a_growing_buffer() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(&dir, "short\nthis line is far too long\n");
    let args = [
        "--from-start",
        "--max-line",
        "10",
        log.to_str().unwrap(),
        "--output",
        "/dev/null",
    ];
    let out = run_alone(&args);
    assert_one_line_error(&out, 1, &["byte 6", "longer than 10 bytes"]);
}

#[test]
fn help_version_describe_and_usage_errors() {
    let help = run_alone(&["--help"]);
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--from-start"));
    let version = run_alone(&["--version"]);
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("co-follow "));
    let describe = run_alone(&["--describe"]);
    let json: serde_json::Value = serde_json::from_slice(&describe.stdout).unwrap();
    assert_eq!(json["name"], "co-follow");
    assert_eq!(json["input"], "none");
    assert_eq!(json["output"], "lines");
    assert_eq!(run_alone(&[]).status.code(), Some(2));
    assert_eq!(run_alone(&["--poll-ms", "0", "x"]).status.code(), Some(2));
}

/// Under the launcher, Ctrl-C drains: co-follow stops, ends its stream, and everything it
/// read reaches the printer; the launcher exits 130 (interrupted, no stage failed).
#[test]
fn under_the_launcher_an_interrupt_drains_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let log = log_with(&dir, "x first\nnot this\n");
    let spec = format!(
        "co-follow --from-start {} | co-grep x | co-printer",
        log.display()
    );
    let mut launcher = cmd("copipe", &["run", "-e", &spec]);
    launcher
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = launcher.spawn().expect("spawn copipe");
    let stdout = Drain::new(child.stdout.take().unwrap());
    let mut stderr = Drain::new(child.stderr.take().unwrap());
    let mut children = Reaper(vec![child]);
    let has = |line: &str| stdout.text().lines().any(|l| l == line);
    assert!(
        wait_until(DEADLINE, || has("x first")),
        "{:?}",
        stderr.text()
    );
    append(&log, "x second\n");
    assert!(
        wait_until(DEADLINE, || has("x second")),
        "{:?}",
        stderr.text()
    );
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(
        unsafe { libc::kill(children.0[0].id() as libc::pid_t, libc::SIGINT) },
        0
    );
    let launcher = &mut children.0[0];
    let mut status = None;
    assert!(wait_until(DEADLINE, || {
        status = launcher.try_wait().unwrap();
        status.is_some()
    }));
    let errors = stderr.finish();
    assert_eq!(status.unwrap().code(), Some(130), "{errors}");
    let mut stdout = stdout;
    assert_eq!(stdout.finish(), "x first\nx second\n", "{errors}");
}

#[test]
fn a_symlink_to_a_file_in_another_directory_is_followed() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("logs")).unwrap();
    fs::create_dir(dir.path().join("links")).unwrap();
    let real = dir.path().join("logs/real-log");
    fs::write(&real, "").unwrap();
    let link = dir.path().join("links/access-log");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let mut f = Followed::start(&["--from-start", link.to_str().unwrap()], &[]);
    f.wait_for_offset(&real, 0);
    append(&real, "through the link\n");
    f.wait_for_line("through the link");
    f.signal(libc::SIGINT);
    let (statuses, lines) = f.finish();
    assert_all_ok(&statuses, &mut f);
    assert_eq!(lines, ["through the link"]);
}
