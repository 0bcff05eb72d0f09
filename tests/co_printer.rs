//! co-printer: the seed's `printer()`, at the end of a pipeline.

use crate::common::{cmd, lines_stream, run_with_input, Bounded};

#[test]
fn prints_lines_as_text() {
    let out = run_with_input(cmd("co-printer", &[]), &lines_stream("a\nb c\n\nd"));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"a\nb c\n\nd\n");
    assert_eq!(out.stderr, b"");
}

#[test]
fn writes_to_an_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.txt");
    let printer = cmd("co-printer", &["--output", path.to_str().unwrap()]);
    let out = run_with_input(printer, &lines_stream("x\n"));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"");
    assert_eq!(std::fs::read(&path).unwrap(), b"x\n");
}

#[test]
fn a_crashed_upstream_is_reported_after_printing_what_arrived() {
    let stream = lines_stream("kept\n");
    let out = run_with_input(
        cmd("co-printer", &[]),
        &stream[..stream.len() - copipe::link::frame::FRAME_HEADER_LEN],
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(out.stdout, b"kept\n");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("co-printer: error: input ended at byte"),
        "{stderr}"
    );
}

#[test]
fn describes_itself_and_has_help_and_version() {
    let out = cmd("co-printer", &["--describe"]).bounded();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "co-printer");
    assert_eq!(v["input"], "any");
    let help = cmd("co-printer", &["--help"]).bounded();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("--input <PATH>"));
    let version = cmd("co-printer", &["--version"]).bounded();
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with("co-printer "));
}
