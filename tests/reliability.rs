//! Issue 15, the reliability sweep: each numbered point that lives outside the launcher, as a
//! regression test on the real binaries (the launcher's points are in tests/launcher.rs).

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, ExitStatus, Stdio};
use std::time::Duration;

use crate::common::{cmd, lines_stream, mkfifo, run_with_input, wait_until, Reaper, DEADLINE};
use copipe::link::frame::{frame_header, FrameWriter, FRAME_HEADER_LEN, MAGIC, VERSION};
use copipe::EventKind;

fn signal(child: &Child, signal: i32) {
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(child.id() as libc::pid_t, signal) };
}

/// The child's exit status once it has exited, or `None` after the deadline.
fn exit_within(child: &mut Child, deadline: Duration) -> Option<ExitStatus> {
    let mut status = None;
    wait_until(deadline, || {
        status = child.try_wait().expect("try_wait");
        status.is_some()
    });
    status
}

/// True once the process runs more than one thread: ctrlc's handler thread is up, so a
/// signal now reaches the stage's handler rather than its default action.
fn handler_installed(child: &Child) -> bool {
    std::fs::read_dir(format!("/proc/{}/task", child.id())).map_or(0, Iterator::count) >= 2
}

fn stderr_of(child: &mut Child) -> String {
    let mut s = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = std::io::Read::read_to_string(&mut e, &mut s);
    }
    s
}

fn numbered_lines(n: usize) -> String {
    (0..n).map(|i| format!("line {i}\n")).collect()
}

// Point 3: a stage that is slow but never blocks on input delivers within milliseconds, not
// after a whole frame (here the whole stream: 100 s), and SIGTERM makes it flush what it has
// and close its stream cleanly.
#[test]
fn a_slow_stage_delivers_promptly_and_flushes_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let printed = dir.path().join("printed");
    let mut chaos = cmd("co-chaos", &["--sleep-ms", "50"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let chaos_out = chaos.stdout.take().unwrap();
    let mut stdin = chaos.stdin.take().unwrap();
    let printer = cmd("co-printer", &[])
        .stdin(chaos_out)
        .stdout(std::fs::File::create(&printed).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reaper = Reaper(vec![chaos, printer]);
    stdin
        .write_all(&lines_stream(&numbered_lines(2000)))
        .unwrap();
    drop(stdin);
    let read = || std::fs::read_to_string(&printed).unwrap_or_default();
    assert!(
        wait_until(DEADLINE, || read().starts_with("line 0\n")),
        "the first line never reached the printer: {:?}",
        read()
    );
    signal(&reaper.0[0], libc::SIGTERM);
    let chaos_status = exit_within(&mut reaper.0[0], DEADLINE).expect("co-chaos ends");
    let chaos_err = stderr_of(&mut reaper.0[0]);
    assert!(chaos_status.success(), "{chaos_status:?} {chaos_err}");
    let printer_status = exit_within(&mut reaper.0[1], DEADLINE).expect("co-printer ends");
    let printer_err = stderr_of(&mut reaper.0[1]);
    assert!(printer_status.success(), "{printer_status:?} {printer_err}");
    let text = read();
    let n = text.lines().count();
    assert!((1..2000).contains(&n), "{n} lines");
    assert_eq!(text, numbered_lines(n), "a prefix of the input, in order");
}

/// Starts `stage` writing to a FIFO nobody reads, sends `sig` once its handler is up, and
/// returns its status and stderr.
fn stop_while_opening_fifo(mut command: std::process::Command, sig: i32) -> (ExitStatus, String) {
    let mut child = command.stderr(Stdio::piped()).spawn().unwrap();
    let handler_up = wait_until(DEADLINE, || handler_installed(&child));
    let mut reaper = Reaper(Vec::new());
    assert!(handler_up, "the stage never installed its handler");
    signal(&child, sig);
    let status = exit_within(&mut child, DEADLINE);
    let err = stderr_of(&mut child);
    reaper.0.push(child);
    (
        status.expect("the stage ignored the signal while opening its FIFO"),
        err,
    )
}

// Point 4: SIGTERM and SIGINT stop a stage blocked opening an output FIFO with no reader.
#[test]
fn a_signal_stops_a_stage_waiting_for_a_fifo_reader() {
    let dir = tempfile::tempdir().unwrap();
    let text = dir.path().join("text");
    std::fs::write(&text, "a\nb\n").unwrap();
    let (fa, fb) = (dir.path().join("fa"), dir.path().join("fb"));
    mkfifo(&fa);
    mkfifo(&fb);
    for sig in [libc::SIGTERM, libc::SIGINT] {
        let mut lines = cmd("co-lines", &[text.to_str().unwrap(), "--output"]);
        lines.arg(&fa).stdin(Stdio::null());
        let (status, err) = stop_while_opening_fifo(lines, sig);
        assert_eq!(status.code(), Some(1), "{err}");
        assert!(
            err.starts_with("co-lines: error: waiting for a reader of "),
            "{err}"
        );
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    // co-broadcast fed by a file: both outputs wait for readers.
    let stream = dir.path().join("stream");
    std::fs::write(&stream, lines_stream("x\n")).unwrap();
    let mut broadcast = cmd("co-broadcast", &["--input", stream.to_str().unwrap()]);
    broadcast.arg(&fa).arg(&fb).stdin(Stdio::null());
    let (status, err) = stop_while_opening_fifo(broadcast, libc::SIGTERM);
    assert_eq!(status.code(), Some(1), "{err}");
    assert!(err.contains("waiting for a reader of "), "{err}");
}

fn xml_stream() -> Vec<u8> {
    let mut w = FrameWriter::new(Vec::new(), EventKind::Xml, "test");
    w.close().unwrap();
    w.into_inner()
}

/// Runs co-printer on `input`: (exit code, stdout, stderr).
fn printer(args: &[&str], input: &[u8]) -> (Option<i32>, String, String) {
    let out = run_with_input(cmd("co-printer", args), input);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

// Point 6: concatenated streams of one kind read as one; anything else after the end marker
// is an error; the reserved header byte is checked.
#[test]
fn concatenated_streams_read_as_one_and_trailing_bytes_are_refused() {
    let (a, b) = (lines_stream("a\nb\n"), lines_stream("c\n"));
    let both = [a.as_slice(), b.as_slice()].concat();
    assert_eq!(
        printer(&[], &both),
        (Some(0), "a\nb\nc\n".into(), String::new())
    );

    let mixed = [a.as_slice(), &xml_stream()].concat();
    let (code, out, err) = printer(&[], &mixed);
    assert_eq!((code, out.as_str()), (Some(1), "a\nb\n"), "{err}");
    assert!(err.starts_with("co-printer: error: a stream of XML events follows the end of the stream of line events at byte"), "{err}");

    let garbage = [a.as_slice(), b"hello"].concat();
    let (code, _, err) = printer(&[], &garbage);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "unexpected bytes after the end-of-stream marker at byte {}",
            a.len()
        )),
        "{err}"
    );
    assert!(err.contains("\"hello\""), "{err}");

    let mut reserved = lines_stream("a\n");
    reserved[7] = 9;
    let (code, out, err) = printer(&[], &reserved);
    assert_eq!((code, out.as_str()), (Some(1), ""), "{err}");
    assert!(err.contains("reserved header byte at byte 7 is 9"), "{err}");
}

// Point 7: --max-frame is capped with a one-line usage error, and a frame header claiming a
// huge frame allocates only what arrived (here, under a 512 MiB address-space limit, a
// claimed 1 GiB frame of 100 bytes is reported as truncated, not an allocation failure).
#[test]
fn max_frame_is_capped_and_allocation_follows_the_bytes() {
    for bad in ["0", "4294967295", "x"] {
        let out = run_with_input(cmd("co-printer", &["--max-frame", bad]), b"");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--max-frame {bad}: {err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.starts_with("co-printer: error: invalid value"), "{err}");
        assert!(err.contains("--max-frame"), "{err}");
    }
    let mut s = Vec::from(&MAGIC[..]);
    s.extend_from_slice(&[VERSION, EventKind::Lines.tag(), 0]);
    s.extend_from_slice(&(1u32 << 30).to_le_bytes());
    s.extend_from_slice(&1u32.to_le_bytes());
    s.extend_from_slice(&0u32.to_le_bytes());
    s.extend_from_slice(&[b'x'; 100]);
    let mut c = cmd("co-printer", &["--max-frame", "1073741824"]);
    // SAFETY: setrlimit between fork and exec touches only the child.
    unsafe {
        c.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: 512 << 20,
                rlim_max: 512 << 20,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &raw const limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = run_with_input(c, &s);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.starts_with("co-printer: error: truncated frame at byte 8"),
        "{err}"
    );
}

// Point 8: a changed byte inside a frame whose events still decode is caught by the frame's
// checksum.
#[test]
fn a_corrupted_payload_is_caught_by_the_checksum() {
    let mut s = lines_stream("hello world\n");
    let at = s.windows(5).position(|w| w == b"hello").unwrap();
    s[at] = b'H';
    let (code, out, err) = printer(&[], &s);
    assert_eq!((code, out.as_str()), (Some(1), ""), "{err}");
    assert!(
        err.starts_with("co-printer: error: corrupt frame at byte 8: checksum"),
        "{err}"
    );
    // The checksum is the one the library writes, CRC-32 of the payload.
    let payload = &s[8 + FRAME_HEADER_LEN..s.len() - FRAME_HEADER_LEN];
    assert_ne!(frame_header(1, payload)[8..], s[16..20]);
}

/// Every stage binary of the suite, for the usage-error check.
const STAGES: &[&str] = &[
    "co-lines",
    "co-follow",
    "co-grep",
    "co-printer",
    "co-dump",
    "co-broadcast",
    "co-merge",
    "co-xml",
    "co-buses",
    "co-filter",
    "co-bus-locations",
    "co-gen-buses",
    "co-chaos",
    "co-from-json",
    "co-from-csv",
    "co-to-csv",
    "co-select",
    "co-head",
    "co-nats-pub",
    "co-nats-sub",
];

// Point 14: a usage error is one line naming the stage, exit 2, for every stage.
#[test]
fn usage_errors_are_one_line_naming_the_stage() {
    for stage in STAGES {
        let out = run_with_input(cmd(stage, &["--no-such-flag"]), b"");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stage}: {err}");
        assert_eq!(err.lines().count(), 1, "{stage}: {err}");
        assert!(
            err.starts_with(&format!(
                "{stage}: error: unexpected argument '--no-such-flag'"
            )),
            "{err}"
        );
    }
    // No stage's help promises what it cannot keep (co-xml's memory grows with --max-token).
    for stage in STAGES {
        let help = run_with_input(cmd(stage, &["--help"]), b"");
        let text = String::from_utf8_lossy(&help.stdout).to_lowercase();
        assert!(help.status.success(), "{stage} --help");
        assert!(!text.contains("constant memory"), "{stage} --help: {text}");
    }
    let out = run_with_input(cmd("co-grep", &[]), b"");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("were not provided: <PATTERN>"), "{err}");
}

// Point 14: flag names and messages agree: co-lines names its own --max-line, co-gen-buses
// writes with --output, decode errors are in words, an output that is the input is refused.
#[test]
fn flags_and_messages_are_consistent() {
    let out = run_with_input(cmd("co-lines", &["--max-line", "4"]), b"0123456789\n");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("raise it with --max-line"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("b.xml");
    let out = cmd(
        "co-gen-buses",
        &["--buses", "2", "--output", xml.to_str().unwrap()],
    )
    .output()
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    assert!(std::fs::read_to_string(&xml).unwrap().contains("<bus>"));

    // An XML event with variant index 5 (of 3).
    let mut s = Vec::from(&MAGIC[..]);
    s.extend_from_slice(&[VERSION, EventKind::Xml.tag(), 0]);
    s.extend_from_slice(&frame_header(1, &[5]));
    s.push(5);
    s.extend_from_slice(&[0; FRAME_HEADER_LEN]);
    let (code, _, err) = printer(&[], &s);
    assert_eq!(code, Some(1), "{err}");
    assert!(
        err.ends_with("undecodable frame at byte 8: unknown event variant 5\n"),
        "{err}"
    );

    let text = dir.path().join("t");
    std::fs::write(&text, "keep me\n").unwrap();
    let t = text.to_str().unwrap();
    let out = cmd("co-lines", &[t, "--output", t]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.starts_with("co-lines: error: the output"), "{err}");
    assert_eq!(std::fs::read_to_string(&text).unwrap(), "keep me\n");
}
