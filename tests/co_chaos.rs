//! co-chaos on its own, between real stages: it passes events through unchanged, and after
//! K events fails exactly as asked, leaving the downstream K events and a stream without
//! its end marker.

use crate::common;
use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};

use crate::common::Bounded;
use crate::common::{
    cmd, lines_stream, pipeline, run_with_input, sample_text, wait_until, Reaper, DEADLINE,
};

fn ten_lines() -> String {
    (1..=10).map(|i| format!("line {i}\n")).collect()
}

/// `co-lines | co-chaos ARGS | co-printer` on `text`.
fn through_chaos(args: &[&str], text: &str) -> common::PipelineOutput {
    pipeline(
        vec![
            cmd("co-lines", &[]),
            cmd("co-chaos", args),
            cmd("co-printer", &[]),
        ],
        text.as_bytes(),
    )
}

#[test]
fn describes_itself_as_any_to_any() {
    let out = cmd("co-chaos", &["--describe"]).bounded();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "{\"name\":\"co-chaos\",\"input\":\"any\",\"output\":\"any\"}\n"
    );
}

#[test]
fn without_a_fault_it_passes_every_event_unchanged() {
    let text = sample_text(20_000, 21);
    let out = through_chaos(&[], &text);
    assert!(out.all_ok(), "{:?}", out.stderrs);
    assert_eq!(out.stdout_text(), text);
}

#[test]
fn sleeping_per_event_still_passes_everything() {
    let text = sample_text(200, 22);
    let out = through_chaos(&["--sleep-ms", "0.5"], &text);
    assert!(out.all_ok(), "{:?}", out.stderrs);
    assert_eq!(out.stdout_text(), text);
}

#[test]
fn a_stream_shorter_than_k_passes_untouched() {
    let out = through_chaos(&["--after", "50", "--exit", "9"], &ten_lines());
    assert!(out.all_ok(), "{:?}", out.stderrs);
    assert_eq!(out.stdout_text(), ten_lines());
}

#[test]
fn exit_after_k_events_leaves_k_events_and_a_broken_stream() {
    let out = through_chaos(&["--after", "3", "--exit", "7"], &ten_lines());
    assert_eq!(out.statuses[1].code(), Some(7));
    assert_eq!(out.stdout_text(), "line 1\nline 2\nline 3\n");
    assert_eq!(
        out.stderrs[1],
        "co-chaos: exiting with status 7 after 3 events, as asked (--exit)\n"
    );
    // The printer notices the missing end marker instead of finishing quietly.
    assert_eq!(out.statuses[2].code(), Some(1));
    assert!(
        out.stderrs[2].contains("without an end-of-stream marker"),
        "{}",
        out.stderrs[2]
    );
}

#[test]
fn exactly_k_events_then_the_end_still_strikes() {
    let text: String = (1..=3).map(|i| format!("line {i}\n")).collect();
    let out = through_chaos(&["--after", "3", "--exit", "4"], &text);
    assert_eq!(out.statuses[1].code(), Some(4));
    assert_eq!(out.stdout_text(), text);
    assert_eq!(out.statuses[2].code(), Some(1));
}

#[test]
fn panic_exits_101_with_one_line() {
    let out = through_chaos(&["--after", "2", "--panic"], &ten_lines());
    assert_eq!(out.statuses[1].code(), Some(101));
    assert_eq!(out.stdout_text(), "line 1\nline 2\n");
    assert_eq!(
        out.stderrs[1],
        "co-chaos: panicking after 2 events, as asked (--panic)\n"
    );
}

#[test]
fn abort_dies_by_sigabrt() {
    let out = through_chaos(&["--after", "5", "--abort"], &ten_lines());
    assert_eq!(out.statuses[1].signal(), Some(libc::SIGABRT));
    assert_eq!(
        out.stdout_text(),
        "line 1\nline 2\nline 3\nline 4\nline 5\n"
    );
}

#[test]
fn after_zero_strikes_before_the_first_event() {
    let out = through_chaos(&["--exit", "3"], &ten_lines());
    assert_eq!(out.statuses[1].code(), Some(3));
    assert_eq!(out.stdout_text(), "");
}

/// Starts co-chaos with `args` reading `input` (a stream) and its output gathered.
fn start_chaos(args: &[&str], input: Vec<u8>) -> (Reaper, Arc<Mutex<Vec<u8>>>) {
    let mut c = cmd("co-chaos", args);
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = c.spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    // Keep stdin open: the hang must not be mistaken for the end of the input.
    std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(&input);
        std::thread::park();
    });
    let got = Arc::new(Mutex::new(Vec::new()));
    let mut stdout = child.stdout.take().unwrap();
    let sink = Arc::clone(&got);
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    (Reaper(vec![child]), got)
}

/// Decodes a (possibly unfinished) stream into lines by running co-dump on it.
fn events_in(stream: &[u8]) -> usize {
    let out = run_with_input(cmd("co-dump", &[]), stream);
    String::from_utf8_lossy(&out.stdout).lines().count()
}

#[test]
fn hang_passes_k_events_then_stays_until_signalled() {
    let (mut chaos, got) = start_chaos(&["--after", "4", "--hang"], lines_stream(&ten_lines()));
    assert!(wait_until(DEADLINE, || events_in(&got.lock().unwrap()) == 4));
    // It has flushed its four events and is hanging, not gone.
    assert!(
        chaos.0[0].try_wait().unwrap().is_none(),
        "co-chaos exited instead of hanging"
    );
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(chaos.0[0].id() as i32, libc::SIGTERM) };
    let status = chaos.0[0].bounded();
    assert_eq!(status.signal(), Some(libc::SIGTERM));
}

#[test]
fn ignore_term_leaves_only_sigkill() {
    let (mut chaos, got) = start_chaos(
        &["--after", "1", "--hang", "--ignore-term"],
        lines_stream(&ten_lines()),
    );
    assert!(wait_until(DEADLINE, || events_in(&got.lock().unwrap()) == 1));
    let pid = chaos.0[0].id() as i32;
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    unsafe { libc::kill(pid, libc::SIGINT) };
    // SIGTERM and SIGINT are ignored; the only way out is SIGKILL.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    let status = chaos.0[0].bounded();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
}

#[test]
fn any_kind_of_event_passes_through() {
    // Records and XML pass as well as lines: the stage is generic over the stream's kind.
    let xml = "<buses><bus><id>1</id><route>22</route></bus></buses>\n";
    let direct = pipeline(
        vec![
            cmd("co-xml", &[]),
            cmd("co-buses", &[]),
            cmd("co-printer", &[]),
        ],
        xml.as_bytes(),
    );
    let chaotic = pipeline(
        vec![
            cmd("co-xml", &[]),
            cmd("co-chaos", &[]),
            cmd("co-buses", &[]),
            cmd("co-chaos", &["--sleep-ms", "0.1"]),
            cmd("co-printer", &[]),
        ],
        xml.as_bytes(),
    );
    assert!(direct.all_ok(), "{:?}", direct.stderrs);
    assert!(chaotic.all_ok(), "{:?}", chaotic.stderrs);
    assert!(!direct.stdout.is_empty());
    assert_eq!(chaotic.stdout, direct.stdout);
}

#[test]
fn conflicting_faults_are_a_usage_error() {
    let out = Command::new(common::bin("co-chaos"))
        .args(["--panic", "--abort"])
        .bounded();
    assert_eq!(out.status.code(), Some(2));
    let out = Command::new(common::bin("co-chaos"))
        .args(["--sleep-ms", "nan"])
        .bounded();
    assert_eq!(out.status.code(), Some(2));
}
