//! co-lines: text in, line events out.

mod common;

use common::{cmd, run_with_input};

fn roundtrip(text: &[u8], args: &[&str]) -> std::process::Output {
    let lines = run_with_input(cmd("co-lines", args), text);
    assert!(lines.status.success(), "{:?}", lines);
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
        e.contains("line 2 (byte 6) is longer than the frame limit of 1000 bytes"),
        "{e}"
    );
}

#[test]
fn missing_file_is_a_clear_error() {
    let out = cmd("co-lines", &["/no/such/file"]).output().unwrap();
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
    let Ok(out) = std::process::Command::new("python3")
        .args(["-c", &script])
        .output()
    else {
        eprintln!("python3 not found: terminal check not exercised");
        return;
    };
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("refusing to write binary frames to a terminal"),
        "{text}"
    );
}
