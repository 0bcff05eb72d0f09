//! co-dump: any stream, one readable line per event.

use std::borrow::Cow;

use crate::common::Bounded;
use crate::common::{cmd, lines_stream, run_with_input};
use copipe::link::FrameWriter;
use copipe::{EventKind, Record, XmlEvent};

fn dump(input: &[u8], args: &[&str]) -> String {
    let out = run_with_input(cmd("co-dump", args), input);
    assert!(out.status.success(), "{out:?}");
    String::from_utf8(out.stdout).unwrap()
}

fn xml_stream() -> Vec<u8> {
    let mut w = FrameWriter::new(Vec::new(), EventKind::Xml, "t");
    w.write_event(&XmlEvent::Start {
        name: "bus".into(),
        attrs: vec![],
    })
    .unwrap();
    w.write_event(&XmlEvent::Text(Cow::Borrowed("Foster & \"Sheridan\"")))
        .unwrap();
    w.write_event(&XmlEvent::End("bus".into())).unwrap();
    w.close().unwrap();
    w.into_inner()
}

fn record_stream() -> Vec<u8> {
    let mut r = Record::new();
    r.set("route", "22");
    r.set("id", "1485");
    let mut w = FrameWriter::new(Vec::new(), EventKind::Records, "t");
    w.write_event(&r).unwrap();
    w.close().unwrap();
    w.into_inner()
}

#[test]
fn every_kind_in_the_seeds_notation() {
    assert_eq!(
        dump(&lines_stream("it's\ntab\there\n"), &[]),
        "line \"it's\"\nline 'tab\\there'\n"
    );
    assert_eq!(
        dump(&xml_stream(), &[]),
        "xml ('start', ('bus', {}))\nxml ('text', 'Foster & \"Sheridan\"')\nxml ('end', 'bus')\n"
    );
    assert_eq!(
        dump(&record_stream(), &[]),
        "record {'route': '22', 'id': '1485'}\n"
    );
}

#[test]
fn json_lines_parse_and_keep_field_order() {
    let lines = dump(&lines_stream("a \"b\"\n"), &["--json"]);
    let v: serde_json::Value = serde_json::from_str(lines.trim()).unwrap();
    assert_eq!(v["line"], "a \"b\"");

    let xml = dump(&xml_stream(), &["--json"]);
    let events: Vec<serde_json::Value> = xml
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(events[0]["start"]["name"], "bus");
    assert_eq!(events[1]["text"], "Foster & \"Sheridan\"");
    assert_eq!(events[2]["end"], "bus");

    let record = dump(&record_stream(), &["--json"]);
    assert_eq!(record, "{\"route\":\"22\",\"id\":\"1485\"}\n");
}

#[test]
fn describes_itself() {
    let out = cmd("co-dump", &["--describe"]).bounded();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["input"], "any");
    assert_eq!(v["output"], "text");
    assert!(cmd("co-dump", &["--help"]).bounded().status.success());
}
