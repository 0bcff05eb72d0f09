//! The bus pipeline end to end, compared byte for byte with the seed's own program
//! (`tests/reference/buses.py`: `xml.sax` + coroutines, Python 3, standard library only).
//!
//! Inputs: generated snapshots of several seeds, the hand-written edge cases under
//! `tests/data/bus/`, and documents built here so that text straddles read-buffer
//! boundaries. Without python3 the comparisons print a note and are skipped; the other
//! tests still run.

use crate::common;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::Bounded;
use crate::common::{cmd, pipeline, PipelineOutput};

const SEED_QUERY: [&str; 2] = ["route=22", "direction=North Bound"];

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/bus")
        .join(name)
}

/// Runs the reference program; panics unless it succeeds.
fn python(args: &[&str]) -> Vec<u8> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/buses.py");
    let out = Command::new("python3")
        .arg(script)
        .args(args)
        .env("PYTHONIOENCODING", "utf-8")
        .bounded();
    assert!(
        out.status.success(),
        "reference failed on {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `co-xml FILE | co-buses | co-filter COND... | co-bus-locations`, one process each.
fn rust_locations(file: &Path, conditions: &[&str]) -> PipelineOutput {
    let file = file.to_str().unwrap();
    pipeline(
        vec![
            cmd("co-xml", &[file]),
            cmd("co-buses", &[]),
            cmd("co-filter", conditions),
            cmd("co-bus-locations", &[]),
        ],
        b"",
    )
}

/// Asserts the pipeline and the reference print the same bytes (and something at all).
fn assert_same_as_reference(file: &Path, conditions: &[&str]) {
    let ours = rust_locations(file, conditions);
    assert!(
        ours.all_ok(),
        "pipeline failed on {}: {:?}",
        file.display(),
        ours.stderrs
    );
    let mut args = vec![file.to_str().unwrap()];
    args.extend_from_slice(conditions);
    let reference = python(&args);
    assert!(!reference.is_empty(), "{} selects no bus", file.display());
    assert!(
        ours.stdout == reference,
        "output differs from the reference on {}\n--- ours\n{}\n--- reference\n{}",
        file.display(),
        String::from_utf8_lossy(&ours.stdout),
        String::from_utf8_lossy(&reference)
    );
}

/// Asserts `co-buses` makes the same records as the seed's `buses_to_dicts`, every field in
/// the same order (compared as JSON lines through `co-dump --json`).
fn assert_same_records(file: &Path) {
    let ours = pipeline(
        vec![
            cmd("co-xml", &[file.to_str().unwrap()]),
            cmd("co-buses", &[]),
            cmd("co-dump", &["--json"]),
        ],
        b"",
    );
    assert!(ours.all_ok(), "{:?}", ours.stderrs);
    let reference = python(&["--dicts", file.to_str().unwrap()]);
    assert_eq!(
        ours.stdout_text(),
        String::from_utf8(reference).unwrap(),
        "records differ on {}",
        file.display()
    );
}

fn generate(dir: &Path, buses: u32, seed: u32) -> PathBuf {
    let path = dir.join(format!("allroutes-{seed}.xml"));
    let out = cmd(
        "co-gen-buses",
        &[
            "--buses",
            &buses.to_string(),
            "--seed",
            &seed.to_string(),
            "--output",
            path.to_str().unwrap(),
        ],
    )
    .bounded();
    assert!(out.status.success(), "{out:?}");
    path
}

#[test]
fn generated_snapshots_match_the_reference_for_several_seeds() {
    if !crate::common::python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for seed in [1, 7, 2024] {
        let file = generate(dir.path(), 3000, seed);
        assert_same_as_reference(&file, &SEED_QUERY);
    }
    let file = generate(dir.path(), 3000, 99);
    assert_same_as_reference(&file, &["route=X49", "direction=East Bound"]);
    assert_same_as_reference(&file, &["revenue=false"]);
    assert_same_records(&file);
}

const EDGE_CASES: [&str; 8] = [
    "entities.xml",
    "cdata.xml",
    "comments.xml",
    "attributes.xml",
    "extra_elements.xml",
    "empty_fields.xml",
    "non_ascii.xml",
    "line_ends.xml",
];

#[test]
fn edge_cases_match_the_reference() {
    if !crate::common::python_available() {
        return;
    }
    for name in EDGE_CASES {
        assert_same_as_reference(&data(name), &SEED_QUERY);
        assert_same_records(&data(name));
    }
}

/// A document whose long field texts straddle the 64 KiB and 128 KiB read-buffer
/// boundaries of both parsers, shifted by `shift` bytes so that entities, CRLFs, CDATA
/// markers and multi-byte characters land on a boundary in one run or another.
fn straddling_document(shift: usize) -> String {
    let mut doc = String::from("<?xml version=\"1.0\"?>\r\n<buses>\r\n");
    doc.push_str(&format!("<!--{}-->\r\n", "x".repeat(shift)));
    let piece = "é&amp;漢\r\n🚌<![CDATA[a&b\r\n]]>&#x41;  ";
    let mut n = 0;
    while doc.len() < 300_000 {
        n += 1;
        let long = piece.repeat(1000 + n * 37);
        doc.push_str(&format!(
            "<bus>\r\n<id>{n}</id><route>22</route>\r\n<direction>North Bound</direction>\r\n\
             <latitude>{long}</latitude>\r\n<longitude>-87.{n}{long}</longitude>\r\n</bus>\r\n"
        ));
    }
    doc.push_str("</buses>\r\n");
    doc
}

#[test]
fn text_split_across_buffer_boundaries_matches_the_reference() {
    if !crate::common::python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for shift in [0, 1, 2, 3, 5, 8] {
        let path = dir.path().join(format!("straddle-{shift}.xml"));
        std::fs::write(&path, straddling_document(shift)).unwrap();
        assert_same_as_reference(&path, &SEED_QUERY);
    }
}

#[test]
fn a_malformed_document_fails_the_whole_pipeline() {
    let out = rust_locations(&data("malformed.xml"), &SEED_QUERY);
    assert_eq!(out.statuses[0].code(), Some(1));
    assert_eq!(
        out.stderrs[0].trim_end(),
        "co-xml: error: malformed XML at 5:16 (byte 68): ill-formed document: expected `</route>`, but `</rout>` was found"
    );
    for (status, stderr) in out.statuses[1..].iter().zip(&out.stderrs[1..]) {
        assert_eq!(status.code(), Some(1));
        assert!(
            stderr.contains("without an end-of-stream marker"),
            "{stderr}"
        );
    }
    assert!(out.stdout.is_empty());
}

#[test]
fn a_bus_missing_a_printed_field_is_an_error_naming_it() {
    let out = rust_locations(&data("incomplete.xml"), &SEED_QUERY);
    assert_eq!(out.statuses[3].code(), Some(1), "{:?}", out.stderrs);
    assert_eq!(
        out.stderrs[3].trim_end(),
        "co-bus-locations: error: record for bus id \"4002\" has no field \"latitude\" (--skip-incomplete drops such records)"
    );
    // The seed's program dies on the same bus, with a KeyError.
    if crate::common::python_available() {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/buses.py");
        let py = Command::new("python3")
            .arg(script)
            .arg(data("incomplete.xml"))
            .bounded();
        assert!(!py.status.success());
        assert!(String::from_utf8_lossy(&py.stderr).contains("KeyError: 'latitude'"));
        assert_eq!(out.stdout, py.stdout);
    }
}

/// Path of an example program; `cargo test` builds the examples next to the test binaries'
/// directory (`target/<profile>/examples`).
fn example(name: &str) -> PathBuf {
    common::bin("co-xml")
        .parent()
        .unwrap()
        .join("examples")
        .join(name)
}

#[test]
fn inline_threaded_and_coprocess_examples_print_what_the_pipe_prints() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/allroutes.xml");
    let piped = rust_locations(&file, &SEED_QUERY);
    assert!(piped.all_ok(), "{:?}", piped.stderrs);
    assert!(piped.stdout.len() > 1000);
    let file_arg = file.to_str().unwrap();
    for (name, args) in [
        ("buses", vec![file_arg]),
        ("buses", vec!["--threaded", file_arg]),
        ("cothread", vec![file_arg]),
        ("coprocess", vec![file_arg]),
    ] {
        let path = example(name);
        assert!(
            path.exists(),
            "{} is not built: run `cargo build --examples`",
            path.display()
        );
        let out = Command::new(&path).args(&args).bounded();
        assert!(out.status.success(), "{name} {args:?}: {out:?}");
        assert!(
            out.stdout == piped.stdout,
            "{name} {args:?} prints something else"
        );
    }
    if crate::common::python_available() {
        assert_eq!(piped.stdout, python(&[file_arg]));
    }
}
