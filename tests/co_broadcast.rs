//! co-broadcast: one input copied to several outputs, branches dropped when they close.

use crate::common;
use std::process::Stdio;

use crate::common::Bounded;
use crate::common::{
    cmd, finish, lines_stream, mkfifo, run_with_input, spawn, spawn_to_file, Reaper,
};

/// Lines larger than a pipe buffer (64 KiB), so a frame cannot be written atomically.
fn big_lines() -> String {
    (0..12)
        .map(|i| {
            let c = (b'a' + i as u8) as char;
            format!("{i}:{}\n", c.to_string().repeat(70_000 + i * 9_001))
        })
        .collect()
}

#[test]
fn copies_every_event_to_each_output_even_large_ones() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    mkfifo(&a);
    mkfifo(&b);
    let text = big_lines();
    let outs = [dir.path().join("a.out"), dir.path().join("b.out")];
    let mut reaper = Reaper(vec![
        spawn_to_file(
            cmd("co-printer", &["--input", a.to_str().unwrap()]),
            &outs[0],
        ),
        spawn_to_file(
            cmd("co-printer", &["--input", b.to_str().unwrap()]),
            &outs[1],
        ),
    ]);
    let out = run_with_input(
        cmd("co-broadcast", &[a.to_str().unwrap(), b.to_str().unwrap()]),
        &lines_stream(&text),
    );
    assert!(out.status.success(), "{out:?}");
    for (child, path) in reaper.0.drain(..).zip(&outs) {
        assert!(finish(child).status.success());
        let printed = std::fs::read(path).unwrap();
        assert!(printed == text.as_bytes(), "a branch differs");
    }
}

#[test]
fn dash_is_standard_output() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a");
    mkfifo(&a);
    let dumped_path = dir.path().join("dump.out");
    let mut reaper = Reaper(vec![spawn_to_file(
        cmd("co-dump", &["--input", a.to_str().unwrap()]),
        &dumped_path,
    )]);
    let out = run_with_input(
        cmd("co-broadcast", &["-", a.to_str().unwrap()]),
        &lines_stream("x\ny\n"),
    );
    assert!(out.status.success());
    let printed = run_with_input(cmd("co-printer", &[]), &out.stdout);
    assert_eq!(printed.stdout, b"x\ny\n");
    assert!(finish(reaper.0.remove(0)).status.success());
    assert_eq!(
        std::fs::read(&dumped_path).unwrap(),
        b"line 'x'\nline 'y'\n"
    );
}

/// Starts `co-lines FILE | co-broadcast a b [extra]` with a reader on `a` that exits after
/// one line and a full reader on `b`; returns (broadcast output, b's output, lines sent).
fn one_branch_exits_early(extra: &[&str]) -> (std::process::Output, Vec<u8>, String) {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    mkfifo(&a);
    mkfifo(&b);
    let text = common::sample_text(200_000, 5);
    let mut early = std::process::Command::new("sh");
    early.args([
        "-c",
        &format!(
            "{} --input {} | head -1",
            common::bin("co-printer").display(),
            a.display()
        ),
    ]);
    let full_path = dir.path().join("b.out");
    let mut reaper = Reaper(vec![
        spawn(early),
        spawn_to_file(
            cmd("co-printer", &["--input", b.to_str().unwrap()]),
            &full_path,
        ),
    ]);
    let mut args = vec![a.to_str().unwrap(), b.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = run_with_input(cmd("co-broadcast", &args), &lines_stream(&text));
    let mut b_reader = reaper.0.remove(1);
    assert!(b_reader.bounded().success());
    let full = std::fs::read(&full_path).unwrap();
    (out, full, text)
}

#[test]
fn a_branch_that_exits_early_is_dropped_and_the_others_go_on() {
    let (out, full, text) = one_branch_exits_early(&[]);
    assert!(out.status.success(), "{out:?}");
    assert!(out.stderr.is_empty());
    assert!(full == text.as_bytes(), "the other branch got everything");
}

#[test]
fn on_branch_close_stop_ends_every_branch_cleanly() {
    let (out, full, text) = one_branch_exits_early(&["--on-branch-close", "stop"]);
    assert!(out.status.success(), "{out:?}");
    // The other branch got a clean end of stream (its printer exited 0) and a prefix.
    assert!(text.as_bytes().starts_with(&full));
    assert!(full.len() < text.len());
}

#[test]
fn needs_at_least_one_output() {
    let out = cmd("co-broadcast", &[]).stdin(Stdio::null()).bounded();
    assert_eq!(out.status.code(), Some(2));
}
