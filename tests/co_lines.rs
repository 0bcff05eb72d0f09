//! co-lines: text in, line events out.

use crate::common;
use crate::common::Bounded;
use crate::common::{cmd, run_with_input};

fn roundtrip(text: &[u8], args: &[&str]) -> std::process::Output {
    let lines = run_with_input(cmd("co-lines", args), text);
    assert!(lines.status.success(), "{lines:?}");
    run_with_input(cmd("co-printer", &[]), &lines.stdout)
}

#[test]
fn text_round_trips_byte_for_byte() {
    let text = "one\r\ntwo\n\n  spaces  \nnon-ASCII: día 東京\n";
    let out = roundtrip(text.as_bytes(), &[]);
    assert_eq!(String::from_utf8(out.stdout).unwrap(), text);
}

#[test]
fn a_last_line_without_newline_is_kept() {
    let out = roundtrip(b"a\nb", &[]);
    assert_eq!(out.stdout, b"a\nb\n");
}

#[test]
fn reads_a_file_argument_and_dash() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("t.txt");
    std::fs::write(&f, "x\ny\n").unwrap();
    let a = run_with_input(cmd("co-lines", &[f.to_str().unwrap()]), b"");
    let b = run_with_input(cmd("co-lines", &["-"]), b"x\ny\n");
    assert!(a.status.success() && b.status.success());
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn invalid_utf8_is_an_error_with_line_and_offset_unless_lossy() {
    let out = run_with_input(cmd("co-lines", &[]), b"ok\nbad \xff here\n");
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        e.trim_end(),
        "co-lines: error: line 2 (byte 3) is not valid UTF-8 (use --lossy to replace bad bytes)"
    );
    let out = roundtrip(b"ok\nbad \xff here\n", &["--lossy"]);
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "ok\nbad \u{fffd} here\n"
    );
}

#[test]
fn an_overlong_line_is_refused_not_buffered() {
    let mut text = b"short\n".to_vec();
    text.extend(std::iter::repeat_n(b'x', 5000));
    let out = run_with_input(cmd("co-lines", &["--max-line", "1000"]), &text);
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.contains("line 2 (byte 6) is longer than the limit of 1000 bytes"),
        "{e}"
    );
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = cmd("co-lines", &["/no/such/file"]).bounded();
    assert_eq!(out.status.code(), Some(1));
    let e = String::from_utf8_lossy(&out.stderr);
    assert!(
        e.starts_with("co-lines: error: opening input /no/such/file: "),
        "{e}"
    );
}

#[test]
fn refuses_to_write_frames_to_a_terminal() {
    // Needs a pseudo-terminal: python3's pty module, where python3 exists.
    let script = format!(
        "import os, pty, sys\npid, fd = pty.fork()\nif pid == 0:\n    os.execv({bin:?}, [{bin:?}, '/dev/null'])\nout = b''\nwhile True:\n    try:\n        chunk = os.read(fd, 4096)\n    except OSError:\n        break\n    if not chunk:\n        break\n    out += chunk\n_, status = os.waitpid(pid, 0)\nsys.stdout.write(out.decode(errors='replace'))\nsys.exit(os.waitstatus_to_exitcode(status))\n",
        bin = common::bin("co-lines").to_str().unwrap()
    );
    if !crate::common::python_available() {
        return;
    }
    let out = std::process::Command::new("python3")
        .args(["-c", &script])
        .bounded();
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("refusing to write binary frames to a terminal"),
        "{text}"
    );
}

/// A live source: lines reach the printer while the input stays open (flush when idle), and
/// SIGINT makes co-lines end its stream cleanly, so the printer also exits 0.
#[test]
fn idle_input_is_flushed_and_sigint_closes_the_stream_cleanly() {
    use std::io::{Read, Write};
    use std::process::Stdio;
    use std::sync::{Arc, Mutex};

    let mut lines = cmd("co-lines", &[]);
    lines.stdin(Stdio::piped()).stdout(Stdio::piped());
    let mut source = lines.spawn().unwrap();
    let mut printer_cmd = cmd("co-printer", &[]);
    printer_cmd
        .stdin(Stdio::from(source.stdout.take().unwrap()))
        .stdout(Stdio::piped());
    let mut printer = printer_cmd.spawn().unwrap();
    let mut printed = printer.stdout.take().unwrap();
    let mut reaper = common::Reaper(vec![]);
    let mut feed = source.stdin.take().unwrap();
    reaper.0.push(source);
    reaper.0.push(printer);

    let seen = Arc::new(Mutex::new(Vec::new()));
    let collector = {
        let seen = Arc::clone(&seen);
        std::thread::spawn(move || {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = printed.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                seen.lock().unwrap().extend_from_slice(&chunk[..n]);
            }
        })
    };
    feed.write_all(b"first\nsecond\n").unwrap();
    feed.flush().unwrap();
    let arrived = common::wait_until(common::DEADLINE, || {
        seen.lock().unwrap().as_slice() == b"first\nsecond\n"
    });
    assert!(
        arrived,
        "lines did not reach the printer while the input stayed open"
    );

    // SAFETY: kill(2) on our own child.
    let rc = unsafe { libc::kill(reaper.0[0].id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(rc, 0);
    for child in &mut reaper.0 {
        let mut status = None;
        let exited = common::wait_until(common::DEADLINE, || {
            status = child.try_wait().unwrap();
            status.is_some()
        });
        assert!(exited, "a stage did not exit after SIGINT");
        assert!(status.unwrap().success(), "{status:?}");
    }
    drop(feed);
    common::join_by(collector, "the output collector");
    assert_eq!(seen.lock().unwrap().as_slice(), b"first\nsecond\n");
}
