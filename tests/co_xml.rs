//! co-xml: XML documents to events, checked through the real binaries (`co-xml | co-dump`).

use crate::common;
use crate::common::Bounded;
use crate::common::{cmd, pipeline, run_with_input};

/// The events of `doc` as co-dump prints them, and the two stages' outcomes.
fn dump(doc: &str) -> common::PipelineOutput {
    pipeline(
        vec![cmd("co-xml", &[]), cmd("co-dump", &[])],
        doc.as_bytes(),
    )
}

fn events(doc: &str) -> Vec<String> {
    let out = dump(doc);
    assert!(out.all_ok(), "{:?}", out.stderrs);
    out.stdout_text().lines().map(str::to_owned).collect()
}

#[test]
fn sends_start_text_and_end_like_the_seeds_event_handler() {
    let got = events("<?xml version=\"1.0\"?>\n<buses>\n <bus><route>22</route></bus>\n</buses>\n");
    assert_eq!(
        got,
        [
            "xml ('start', ('buses', {}))",
            "xml ('text', '\\n ')",
            "xml ('start', ('bus', {}))",
            "xml ('start', ('route', {}))",
            "xml ('text', '22')",
            "xml ('end', 'route')",
            "xml ('end', 'bus')",
            "xml ('text', '\\n')",
            "xml ('end', 'buses')",
        ]
    );
}

#[test]
fn entities_and_cdata_join_the_text_which_is_never_trimmed() {
    let got = events("<a>  Foster &amp; Sheridan <![CDATA[& <more>]]>&#x41;&#66; </a>");
    assert_eq!(got[1], "xml ('text', '  Foster & Sheridan & <more>AB ')");
    assert_eq!(got.len(), 3);
}

#[test]
fn comments_and_processing_instructions_are_skipped() {
    let got = events("<!-- c --><?pi x?><a>1<!-- c -->2<?pi y?>3</a><!-- after -->");
    assert_eq!(
        got,
        [
            "xml ('start', ('a', {}))",
            "xml ('text', '123')",
            "xml ('end', 'a')"
        ]
    );
}

#[test]
fn attributes_are_decoded_and_empty_elements_give_start_and_end() {
    let got = events("<a><bus id=\"1 &amp; 2\" k='v'/></a>");
    assert_eq!(got[1], "xml ('start', ('bus', {'id': '1 & 2', 'k': 'v'}))");
    assert_eq!(got[2], "xml ('end', 'bus')");
}

#[test]
fn line_ends_are_normalised_but_character_references_are_kept() {
    let got = events("<a>x\r\ny\rz&#13;</a>");
    assert_eq!(got[1], "xml ('text', 'x\\ny\\nz\\r')");
}

#[test]
fn reads_a_file_argument() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("doc.xml");
    std::fs::write(&path, "<a>é</a>").unwrap();
    let out = pipeline(
        vec![
            cmd("co-xml", &[path.to_str().unwrap()]),
            cmd("co-dump", &["--json"]),
        ],
        b"",
    );
    assert!(out.all_ok(), "{:?}", out.stderrs);
    assert_eq!(
        out.stdout_text(),
        "{\"start\":{\"name\":\"a\",\"attrs\":[]}}\n{\"text\":\"é\"}\n{\"end\":\"a\"}\n"
    );
}

/// Runs a malformed document through `co-xml | co-dump`; returns co-xml's stderr after
/// checking that both failed (co-dump because no end-of-stream marker came).
fn malformed(doc: &str) -> String {
    let out = dump(doc);
    assert_eq!(out.statuses[0].code(), Some(1), "co-xml accepted {doc:?}");
    assert_eq!(out.statuses[1].code(), Some(1));
    assert!(
        out.stderrs[1].contains("without an end-of-stream marker"),
        "{}",
        out.stderrs[1]
    );
    assert_eq!(out.stderrs[0].lines().count(), 1, "{}", out.stderrs[0]);
    out.stderrs[0].clone()
}

#[test]
fn malformed_documents_are_one_line_errors_with_line_and_column() {
    let err = malformed("<buses>\n  <bus>\n    <route>22</rout>\n");
    assert!(
        err.starts_with("co-xml: error: malformed XML at 3:16 (byte 31): "),
        "{err}"
    );
    let err = malformed("<buses>\n<bus>\n");
    assert!(err.contains("ended inside 2 open elements"), "{err}");
    let err = malformed("<a>\n  &nbsp;</a>");
    assert!(
        err.contains("at 2:3") && err.contains("undefined entity &nbsp;"),
        "{err}"
    );
    let err = malformed("<a/>\n<b/>");
    assert!(
        err.contains("at 2:1") && err.contains("second root"),
        "{err}"
    );
    let err = malformed("<a/>junk");
    assert!(err.contains("text outside the root element"), "{err}");
    let err = malformed("   \n");
    assert!(err.contains("no root element"), "{err}");
    let err = malformed("<a><b attr=\"1></b></a>");
    assert!(err.contains("malformed XML at 1:15"), "{err}");
}

#[test]
fn a_missing_file_is_an_error_naming_it() {
    let out = run_with_input(cmd("co-xml", &["/nonexistent/allroutes.xml"]), b"");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("co-xml: error: opening input /nonexistent/allroutes.xml"),
        "{err}"
    );
}

#[test]
fn help_version_and_describe() {
    for flag in ["--help", "--version"] {
        let out = cmd("co-xml", &[flag]).bounded();
        assert!(out.status.success());
        assert!(!out.stdout.is_empty());
    }
    let out = cmd("co-xml", &["--describe"]).bounded();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["name"], "co-xml");
    assert_eq!(json["output"], "xml");
    let out = cmd("co-xml", &["--no-such-flag"]).bounded();
    assert_eq!(out.status.code(), Some(2));
}

/// Memory stays bounded whatever the document: a single token (a tag, a text), or character
/// data joined across entities, larger than one frame is refused with a one-line error, not
/// buffered.
#[test]
fn oversized_text_is_refused_not_buffered() {
    let one_tag = format!("<a b=\"{}\"/>", "x".repeat(17 << 20));
    let one_text = format!("<a>{}</a>", "x".repeat(17 << 20));
    let joined = format!("<a>{}</a>", "xy&amp;".repeat(6_000_000));
    for (doc, says) in [
        (
            one_tag,
            "a single tag or run of text is longer than 16777216 bytes",
        ),
        (
            one_text,
            "character data longer than 16777216 bytes between two tags",
        ),
        (
            joined,
            "character data longer than 16777216 bytes between two tags",
        ),
    ] {
        let out = run_with_input(cmd("co-xml", &[]), doc.as_bytes());
        assert_eq!(out.status.code(), Some(1));
        let e = String::from_utf8_lossy(&out.stderr);
        assert_eq!(e.lines().count(), 1, "{e}");
        assert!(e.starts_with("co-xml: error: malformed XML at 1:"), "{e}");
        assert!(e.contains(says), "{e}");
    }
}

/// A stage widens the pipe it writes frames to (Linux's 64 KiB default holds a single write
/// chunk), up to 1 MiB or the system's limit for unprivileged pipes, whichever is lower.
#[test]
fn frames_go_out_through_a_widened_pipe() {
    use std::os::fd::AsRawFd;
    let limit: i32 = std::fs::read_to_string("/proc/sys/fs/pipe-max-size")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(1 << 20);
    let expected = limit.min(1 << 20);
    let mut child = common::spawn(cmd("co-xml", &["examples/data/allroutes.xml"]));
    let stdout = child.stdout.take().expect("piped stdout");
    // SAFETY: F_GETPIPE_SZ reads the capacity of the pipe behind a descriptor we hold.
    let capacity = || unsafe { libc::fcntl(stdout.as_raw_fd(), libc::F_GETPIPE_SZ) };
    let widened = common::wait_until(common::RUN_DEADLINE, || capacity() >= expected);
    let seen = capacity();
    child.stdout = Some(stdout);
    let out = common::finish(child);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(widened, "the pipe holds {seen} bytes, not {expected}");
}

/// An error quoting the input stays one line when what it quotes spans lines (an encoding
/// label, an end tag cut by a line break): the line break is shown escaped.
#[test]
fn an_error_quoting_line_breaks_is_one_line() {
    for doc in [
        "<?xml version=\"1.0\" encoding=\"lati\nn5\"?><r/>",
        "<r><b></\n  <c></b></r>",
    ] {
        let out = common::run_with_input(cmd("co-xml", &[]), doc.as_bytes());
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("co-xml: error: "), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains("\\n"), "{err}");
    }
}
