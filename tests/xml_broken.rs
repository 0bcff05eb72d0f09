//! Nothing already parsed is lost when a document breaks (issue 10, part 1).
//!
//! The shipped snapshot is cut off, or broken by inserted junk, at many points: between buses,
//! inside a bus's text, inside a CDATA section, inside a start or end tag. For each, the
//! seed's Python (`tests/reference/buses.py`) prints the buses it completed before its
//! exception; the five-process pipe, `copipe run`, the inline, threaded and two-process
//! examples must print exactly those lines, and still fail, naming the broken document.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::Bounded;
use crate::common::{self, cmd, pipeline};

const QUERY: [&str; 2] = ["route=22", "direction=North Bound"];

fn snapshot() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/allroutes.xml");
    std::fs::read(path).expect("examples/data/allroutes.xml")
}

/// Byte offsets in `doc` where it is cut or broken: `(what, offset)`.
fn break_points(doc: &[u8]) -> Vec<(String, usize)> {
    let text = std::str::from_utf8(doc).unwrap();
    let mut points = Vec::new();
    // After the 1st, 3rd and 5th northbound route 22 bus, and inside the 6th.
    let mut found = 0;
    for (start, _) in text.match_indices("<bus>") {
        let end = start + text[start..].find("</bus>").unwrap() + "</bus>".len();
        let bus = &text[start..end];
        if bus.contains("<route>22</route>") && bus.contains("North Bound") {
            found += 1;
            if [1, 3, 5].contains(&found) {
                points.push((format!("right after northbound bus {found}"), end));
                points.push((format!("inside the end tag of bus {found}"), end - 3));
            }
            if found == 6 {
                let latitude = start + bus.find("<latitude>").unwrap();
                points.push(("inside the text of a bus".into(), latitude + 13));
                points.push(("inside a start tag".into(), latitude + 4));
                points.push(("between two fields".into(), latitude));
                break;
            }
        }
    }
    // Inside CDATA sections, and at spread-out offsets (inside buses and between them).
    for (i, (at, _)) in text.match_indices("<![CDATA[").enumerate().step_by(211) {
        points.push((format!("inside CDATA section {i}"), at + 12));
    }
    for k in [2, 5, 7] {
        points.push((format!("at {k}/8 of the file"), doc.len() * k / 8));
    }
    points
}

/// What the seed's Python prints before its exception (it must fail).
fn python_before_failure(file: &Path) -> Vec<u8> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/buses.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(file)
        .env("PYTHONIOENCODING", "utf-8")
        .bounded();
    assert!(!out.status.success(), "python accepted {}", file.display());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("SAXParseException"), "{stderr}");
    out.stdout
}

fn example(name: &str) -> PathBuf {
    common::bin("co-xml")
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

/// Asserts a failed run printed `expected` and a one-line error.
fn assert_failed_with(what: &str, out: &Output, expected: &[u8]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
    assert!(
        out.stdout == expected,
        "{what}: printed\n{}\nexpected\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(expected)
    );
}

/// Every way of running the bus pipeline, on one broken document.
fn check_document(file: &Path, what: &str) {
    let expected = python_before_failure(file);
    let path = file.to_str().unwrap();
    let piped = pipeline(
        vec![
            cmd("co-xml", &[path]),
            cmd("co-buses", &[]),
            cmd("co-filter", &QUERY),
            cmd("co-bus-locations", &[]),
        ],
        b"",
    );
    assert!(
        piped.stdout == expected,
        "pipe, {what}: printed\n{}\nexpected\n{}",
        String::from_utf8_lossy(&piped.stdout),
        String::from_utf8_lossy(&expected)
    );
    assert_eq!(piped.statuses[0].code(), Some(1), "{what}");
    assert!(
        piped.stderrs[0].starts_with("co-xml: error: malformed XML at ")
            && piped.stderrs[0].lines().count() == 1,
        "{what}: {}",
        piped.stderrs[0]
    );
    for (status, stderr) in piped.statuses[1..].iter().zip(&piped.stderrs[1..]) {
        assert_eq!(status.code(), Some(1), "{what}: {stderr}");
        assert!(
            stderr.contains("without an end-of-stream marker"),
            "{stderr}"
        );
    }

    let spec = format!(
        "co-xml {path} | co-buses | co-filter route=22 'direction=North Bound' | co-bus-locations"
    );
    let launched = Command::new(env!("CARGO_BIN_EXE_copipe"))
        .args(["run", "-e", &spec])
        .bounded();
    assert_failed_with(&format!("copipe run, {what}"), &launched, &expected);
    let stderr = String::from_utf8_lossy(&launched.stderr);
    assert!(stderr.contains("stage 1 \"co-xml"), "{what}: {stderr}");

    for (name, args) in [
        ("buses", vec![path]),
        ("buses", vec!["--threaded", path]),
        ("cothread", vec![path]),
        ("coprocess", vec![path]),
    ] {
        let out = Command::new(example(name)).args(&args).bounded();
        assert_failed_with(&format!("{name} {args:?}, {what}"), &out, &expected);
    }
}

#[test]
fn truncated_documents_deliver_every_bus_before_the_cut() {
    if !crate::common::python_available() {
        return;
    }
    let doc = snapshot();
    let dir = tempfile::tempdir().unwrap();
    for (what, at) in break_points(&doc) {
        let file = dir.path().join("cut.xml");
        std::fs::write(&file, &doc[..at]).unwrap();
        check_document(&file, &format!("cut {what} (byte {at})"));
    }
}

#[test]
fn broken_documents_deliver_every_bus_before_the_break() {
    if !crate::common::python_available() {
        return;
    }
    let doc = snapshot();
    let dir = tempfile::tempdir().unwrap();
    let junk: [&[u8]; 4] = [b"</oops>", b"<a b>", b"&bogus;", b"<<"];
    for (i, (what, at)) in break_points(&doc).into_iter().enumerate() {
        // Inside CDATA, only its end makes the rest markup again.
        let inserted = if what.contains("CDATA") {
            b"]]>&bogus;"
        } else {
            junk[i % junk.len()]
        };
        let mut broken = doc[..at].to_vec();
        broken.extend_from_slice(inserted);
        broken.extend_from_slice(&doc[at..]);
        let file = dir.path().join("broken.xml");
        std::fs::write(&file, &broken).unwrap();
        let inserted = String::from_utf8_lossy(inserted);
        check_document(&file, &format!("{inserted:?} inserted {what} (byte {at})"));
    }
}
