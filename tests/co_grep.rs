//! co-grep, end to end with co-lines and co-printer.

use std::process::{Command, Stdio};

use crate::common::Bounded;
use crate::common::{cmd, lines_stream, pipeline, run_with_input, sample_text};

#[test]
fn pipeline_equals_grep_f_on_a_large_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access-log");
    let text = sample_text(300_000, 7);
    std::fs::write(&path, &text).unwrap();
    let out = pipeline(
        vec![
            cmd("co-lines", &[path.to_str().unwrap()]),
            cmd("co-grep", &["python"]),
            cmd("co-printer", &[]),
        ],
        b"",
    );
    assert!(out.all_ok(), "{:?}", out.stderrs);
    let expected: String = text
        .lines()
        .filter(|l| l.contains("python"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(expected.len() > 1_000_000, "the test input is large");
    assert_eq!(out.stdout_text(), expected);
    // And the same as grep -F, where grep exists.
    if let Ok(grep) = Command::new("grep")
        .args(["-F", "python"])
        .arg(&path)
        .stdout(Stdio::piped())
        .spawn()
    {
        assert_eq!(out.stdout, crate::common::finish(grep).stdout);
    }
}

#[test]
fn passes_only_matching_lines_in_order() {
    let out = run_with_input(
        cmd("co-grep", &["ply"]),
        &lines_stream("ply one\nswig\nreply\nsimply put\n"),
    );
    assert!(out.status.success());
    let printed = run_with_input(cmd("co-printer", &[]), &out.stdout);
    assert_eq!(printed.stdout, b"ply one\nreply\nsimply put\n");
}

#[test]
fn downstream_exiting_early_stops_the_chain_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big");
    std::fs::write(&path, sample_text(400_000, 3)).unwrap();
    let mut head = Command::new("head");
    head.arg("-1");
    let out = pipeline(
        vec![
            cmd("co-lines", &[path.to_str().unwrap()]),
            cmd("co-grep", &["python"]),
            cmd("co-printer", &[]),
            head,
        ],
        b"",
    );
    assert_eq!(out.stdout_text().lines().count(), 1);
    for (status, stderr) in out.statuses.iter().zip(&out.stderrs) {
        assert!(status.success(), "{status:?} {stderr}");
        assert_eq!(stderr, "", "quiet");
    }
}

#[test]
fn usage_errors_exit_2() {
    let out = cmd("co-grep", &[]).stdin(Stdio::null()).bounded();
    assert_eq!(out.status.code(), Some(2));
    let out = cmd("co-grep", &["x", "--bogus"]).bounded();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn help_version_and_describe() {
    let help = cmd("co-grep", &["--help"]).bounded();
    assert!(help.status.success());
    assert!(String::from_utf8_lossy(&help.stdout).contains("PATTERN"));
    let version = cmd("co-grep", &["--version"]).bounded();
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("co-grep {}", env!("CARGO_PKG_VERSION"))
    );
    let describe = cmd("co-grep", &["--describe"]).bounded();
    let json: serde_json::Value = serde_json::from_slice(&describe.stdout).unwrap();
    assert_eq!(json["input"], "lines");
    assert_eq!(json["output"], "lines");
}

#[test]
fn regex_matches_anywhere_in_the_line() {
    let input = lines_stream("GET /a.py\nPOST /b.py\nGET /c.html\nxGET /d.py\n");
    let out = run_with_input(cmd("co-grep", &["--regex", r"^GET .*\.py$"]), &input);
    assert!(out.status.success(), "{out:?}");
    let printed = run_with_input(cmd("co-printer", &[]), &out.stdout);
    assert_eq!(printed.stdout, b"GET /a.py\n");
    // Without --regex the same pattern is a plain substring, found nowhere.
    let plain = run_with_input(cmd("co-grep", &[r"^GET .*\.py$"]), &input);
    let printed = run_with_input(cmd("co-printer", &[]), &plain.stdout);
    assert_eq!(printed.stdout, b"");
    let short = run_with_input(cmd("co-grep", &["-E", "[bd]\\.py"]), &input);
    let printed = run_with_input(cmd("co-printer", &[]), &short.stdout);
    assert_eq!(printed.stdout, b"POST /b.py\nxGET /d.py\n");
}

#[test]
fn a_bad_regex_is_a_one_line_usage_error() {
    let out = cmd("co-grep", &["--regex", "a(b"]).bounded();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("co-grep: error: bad regular expression \"a(b\": "),
        "{err}"
    );
}
