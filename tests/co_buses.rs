//! co-buses: XML events to bus records, through the real binaries.

use crate::common::Bounded;
use crate::common::{cmd, lines_stream, pipeline, run_with_input};

/// `co-xml | co-buses | co-dump`, returning the printed records.
fn records(doc: &str) -> Vec<String> {
    let out = pipeline(
        vec![
            cmd("co-xml", &[]),
            cmd("co-buses", &[]),
            cmd("co-dump", &[]),
        ],
        doc.as_bytes(),
    );
    assert!(out.all_ok(), "{:?}", out.stderrs);
    out.stdout_text().lines().map(str::to_owned).collect()
}

#[test]
fn one_record_per_bus_fields_in_document_order() {
    let got = records(
        "<buses><time>now</time>\r\n<bus>\r\n\t<id>1485</id>\r\n\t<route>22</route>\r\n</bus>\
         <bus><route>X49</route><id>9</id></bus></buses>",
    );
    assert_eq!(
        got,
        [
            "record {'id': '1485', 'route': '22'}",
            "record {'route': 'X49', 'id': '9'}"
        ]
    );
}

#[test]
fn keeps_the_seeds_quirks() {
    // Text after a nested element joins it; an element set twice keeps its first place;
    // every element ending inside a bus sets a field, unknown and nested ones too.
    let got = records(
        "<buses><bus><id>1</id><latitude><deg>41</deg>.88</latitude>\
         <x><id>2</id></x><empty/></bus></buses>",
    );
    assert_eq!(
        got,
        ["record {'id': '2', 'deg': '41', 'latitude': '41.88', 'x': '2', 'empty': ''}"]
    );
}

#[test]
fn only_elements_inside_a_bus_make_fields() {
    let got = records("<buses><bus><id>1</id></bus><other><id>2</id></other></buses>");
    assert_eq!(got, ["record {'id': '1'}"]);
}

#[test]
fn refuses_a_stream_of_the_wrong_kind() {
    let out = run_with_input(cmd("co-buses", &[]), &lines_stream("hello\n"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        "co-buses: error: co-buses expects XML events, got line events"
    );
    let out = run_with_input(cmd("co-buses", &[]), b"<buses/>");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not a copipe stream"));
}

#[test]
fn help_and_describe() {
    let out = cmd("co-buses", &["--help"]).bounded();
    assert!(out.status.success());
    let out = cmd("co-buses", &["--describe"]).bounded();
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (json["input"].as_str(), json["output"].as_str()),
        (Some("xml"), Some("records"))
    );
}
