//! The wire-format test vectors (tests/vectors/, documented in docs/wire-format.md): each
//! `NAME.bin` must be exactly what the Rust writer makes of the events in `NAME.json`, and
//! must read back as those events; each case of `bad.json` must fail with its message, after
//! delivering the events before the fault. The Python tests (python/tests) check the same
//! files against the Python reader and writer, so neither side can drift from the document.
//!
//! `COPIPE_BLESS_VECTORS=1 cargo test vectors` rewrites the `.bin` files from the JSON (after a
//! deliberate format change; review the diff).

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use copipe::event::{Attr, Field};
use copipe::link::codec;
use copipe::link::frame::{FrameReader, FrameWriter};
use copipe::{EventKind, Record, XmlEvent};
use serde_json::Value;

use crate::common::{cmd, run_with_input};

/// One event, owned, of any kind.
#[derive(Debug, PartialEq)]
pub enum Event {
    Line(String),
    Xml(XmlEvent<'static>),
    Record(Record<'static>),
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn text(v: &Value) -> Cow<'static, str> {
    Cow::Owned(v.as_str().expect("a JSON string").to_owned())
}

/// `[["name", "value"], ...]`
fn pairs(v: &Value) -> Vec<(Cow<'static, str>, Cow<'static, str>)> {
    let list = v.as_array().expect("a list of pairs");
    list.iter().map(|p| (text(&p[0]), text(&p[1]))).collect()
}

/// The JSON form of the vectors: a line is a string, an XML event `["start", name, pairs]`,
/// `["text", text]` or `["end", name]`, a record a list of `[name, value]` pairs.
fn event_from_json(kind: EventKind, v: &Value) -> Event {
    match kind {
        EventKind::Lines => Event::Line(text(v).into_owned()),
        EventKind::Records => Event::Record(Record {
            fields: pairs(v)
                .into_iter()
                .map(|(name, value)| Field { name, value })
                .collect(),
        }),
        EventKind::Xml => Event::Xml(match v[0].as_str() {
            Some("start") => XmlEvent::Start {
                name: text(&v[1]),
                attrs: pairs(&v[2])
                    .into_iter()
                    .map(|(name, value)| Attr { name, value })
                    .collect(),
            },
            Some("text") => XmlEvent::Text(text(&v[1])),
            Some("end") => XmlEvent::End(text(&v[1])),
            other => panic!("unknown xml event {other:?}"),
        }),
    }
}

fn kind_from_json(v: &Value) -> EventKind {
    match v.as_str() {
        Some("lines") => EventKind::Lines,
        Some("xml") => EventKind::Xml,
        Some("records") => EventKind::Records,
        other => panic!("unknown kind {other:?}"),
    }
}

/// The stream the Rust writer makes of `frames` (a frame boundary is a flush).
fn encode(kind: EventKind, frames: &[Vec<Event>]) -> Vec<u8> {
    let mut w = FrameWriter::new(Vec::new(), kind, "vector");
    for frame in frames {
        for event in frame {
            match event {
                Event::Line(l) => w.write_event(l.as_str()),
                Event::Xml(x) => w.write_event(x),
                Event::Record(r) => w.write_event(r),
            }
            .unwrap();
        }
        w.flush().unwrap();
    }
    w.close().unwrap();
    w.into_inner()
}

fn decode_one(kind: EventKind, bytes: &[u8]) -> Result<(Event, usize), String> {
    Ok(match kind {
        EventKind::Lines => {
            let (l, n) = codec::decode::<&str>(bytes)?;
            (Event::Line(l.to_owned()), n)
        }
        EventKind::Xml => {
            let (x, n) = codec::decode::<XmlEvent>(bytes)?;
            (Event::Xml(x.into_owned()), n)
        }
        EventKind::Records => {
            let (r, n) = codec::decode::<Record>(bytes)?;
            (Event::Record(r.into_owned()), n)
        }
    })
}

/// Reads a whole stream with the Rust reader, frame by frame.
pub fn decode(bytes: &[u8]) -> (EventKind, Vec<Vec<Event>>) {
    let mut r = FrameReader::open(bytes, "vector", 1 << 20).unwrap();
    let kind = r.kind();
    let mut frames = Vec::new();
    while let Some(frame) = r.next_frame().unwrap() {
        let mut rest = frame.payload;
        let mut events = Vec::new();
        for _ in 0..frame.events {
            let (event, used) = decode_one(kind, rest).unwrap();
            events.push(event);
            rest = &rest[used..];
        }
        assert!(rest.is_empty(), "bytes left over in a vector frame");
        frames.push(events);
    }
    (kind, frames)
}

fn vector_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .filter_map(|e| {
            let name = e.unwrap().file_name().into_string().unwrap();
            let stem = name.strip_suffix(".json")?;
            (stem != "bad").then(|| stem.to_owned())
        })
        .collect();
    names.sort();
    names
}

#[test]
fn every_vector_is_what_the_rust_writer_writes_and_reads() {
    let names = vector_names();
    assert!(names.len() >= 8, "vectors missing: {names:?}");
    for name in names {
        let spec: Value =
            serde_json::from_slice(&std::fs::read(dir().join(format!("{name}.json"))).unwrap())
                .unwrap();
        let kind = kind_from_json(&spec["kind"]);
        let frames: Vec<Vec<Event>> = spec["frames"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let f = f.as_array().unwrap();
                f.iter().map(|e| event_from_json(kind, e)).collect()
            })
            .collect();
        let bytes = encode(kind, &frames);
        let bin = dir().join(format!("{name}.bin"));
        if std::env::var_os("COPIPE_BLESS_VECTORS").is_some() {
            std::fs::write(&bin, &bytes).unwrap();
        }
        let stored = std::fs::read(&bin).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
        assert_eq!(
            bytes, stored,
            "{name}: the Rust writer no longer writes the vector"
        );
        assert_eq!(
            decode(&stored),
            (kind, frames),
            "{name}: reads back differently"
        );
    }
}

#[test]
fn every_bad_stream_fails_with_its_documented_message() {
    let cases: Value =
        serde_json::from_slice(&std::fs::read(dir().join("bad.json")).unwrap()).unwrap();
    let cases = cases.as_array().unwrap();
    assert!(cases.len() >= 20);
    for case in cases {
        let name = case["name"].as_str().unwrap();
        let hex = case["hex"].as_str().unwrap();
        let bytes: Vec<u8> = hex
            .split_whitespace()
            .map(|b| u8::from_str_radix(b, 16).unwrap())
            .collect();
        let out = run_with_input(cmd("co-dump", &["--json"]), &bytes);
        let stderr = String::from_utf8_lossy(&out.stderr);
        let expected = format!("co-dump: error: {}\n", case["error"].as_str().unwrap());
        assert_eq!(out.status.code(), Some(1), "{name}: {stderr}");
        assert_eq!(stderr, expected, "{name}");
        let delivered = case["delivered"].as_array().unwrap().len();
        let printed = String::from_utf8(out.stdout).unwrap().lines().count();
        assert_eq!(
            printed, delivered,
            "{name}: events delivered before the fault"
        );
    }
}
