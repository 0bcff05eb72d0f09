//! co-printer: the seed's `printer()`, at the end of a pipeline.

use crate::common::lines_stream;
use assert_cmd::cargo::cargo_bin_cmd;
use predicates::prelude::*;

#[test]
fn prints_lines_as_text() {
    cargo_bin_cmd!("co-printer")
        .write_stdin(lines_stream("a\nb c\n\nd"))
        .assert()
        .success()
        .stdout("a\nb c\n\nd\n")
        .stderr(predicate::str::is_empty());
}

#[test]
fn writes_to_an_output_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("out.txt");
    cargo_bin_cmd!("co-printer")
        .args(["--output", path.to_str().unwrap()])
        .write_stdin(lines_stream("x\n"))
        .assert()
        .success()
        .stdout(predicate::str::is_empty());
    assert_eq!(std::fs::read(&path).unwrap(), b"x\n");
}

#[test]
fn a_crashed_upstream_is_reported_after_printing_what_arrived() {
    let stream = lines_stream("kept\n");
    cargo_bin_cmd!("co-printer")
        .write_stdin(&stream[..stream.len() - 8])
        .assert()
        .code(1)
        .stdout("kept\n")
        .stderr(predicate::str::starts_with(
            "co-printer: error: input ended at byte",
        ));
}

#[test]
fn describes_itself_and_has_help_and_version() {
    let out = cargo_bin_cmd!("co-printer")
        .arg("--describe")
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["name"], "co-printer");
    assert_eq!(v["input"], "any");
    cargo_bin_cmd!("co-printer")
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("--input <PATH>"));
    cargo_bin_cmd!("co-printer")
        .arg("--version")
        .assert()
        .success()
        .stdout(predicate::str::starts_with("co-printer "));
}
