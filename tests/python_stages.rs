//! Python stages (python/copipe, examples/python) among the Rust ones, run for real with
//! python3: events of every kind round-trip Rust → Python → Rust, the seed's bus pipeline
//! with Python stages in the middle prints exactly what the Rust pipe prints (by hand and
//! through `copipe run`), bad streams give a Python stage the Rust stages' messages, and a
//! Python stage that crashes inside a graph is reported as a Rust one is.
//!
//! python3 is required (CI installs it): these tests fail, not skip, without it.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::process::Command;

use copipe::event::{Attr, Field};
use copipe::link::frame::FrameWriter;
use copipe::{EventKind, Record, XmlEvent};
use proptest::prelude::*;

use crate::common::{cmd, pipeline, run_with_input, Bounded};
use crate::vectors::{decode, Event};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn example(name: &str) -> String {
    root()
        .join("examples/python")
        .join(format!("{name}.py"))
        .display()
        .to_string()
}

fn passthrough() -> String {
    root()
        .join("python/tests/passthrough.py")
        .display()
        .to_string()
}

/// `python3 SCRIPT ARGS...`
fn python(script: &str, args: &[&str]) -> Command {
    let mut c = Command::new("python3");
    c.arg(script).args(args);
    c
}

/// Writes `events` as one stream with the Rust writer.
fn stream(kind: EventKind, events: &[Event]) -> Vec<u8> {
    let mut w = FrameWriter::new(Vec::new(), kind, "test");
    for event in events {
        match event {
            Event::Line(l) => w.write_event(l.as_str()),
            Event::Xml(x) => w.write_event(x),
            Event::Record(r) => w.write_event(r),
        }
        .unwrap();
    }
    w.close().unwrap();
    w.into_inner()
}

/// Sends `events` through the Python pass-through stage and reads back what it wrote.
fn through_python(kind: EventKind, events: &[Event]) -> Vec<Event> {
    let out = run_with_input(python(&passthrough(), &[]), &stream(kind, events));
    assert!(
        out.status.success(),
        "python3 passthrough.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (got_kind, frames) = decode(&out.stdout);
    assert_eq!(got_kind, kind);
    frames.into_iter().flatten().collect()
}

/// Mostly short text of any characters (newlines, NUL, astral planes), sometimes long
/// enough to need the 3-byte length form, rarely over 64 KiB (the 5-byte form, and an event
/// larger than a batch).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        40 => "(?s).{0,20}",
        4 => "[a-z]{240,300}",
        1 => (33_000usize..34_000).prop_map(|n| "é".repeat(n)),
    ]
}

fn short() -> impl Strategy<Value = String> {
    "(?s).{0,12}"
}

/// Unique names (a Python dict, like a Python record, holds each name once).
fn pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    prop::collection::btree_map(short(), text(), 0..5).prop_map(|m| m.into_iter().collect())
}

fn record() -> impl Strategy<Value = Event> {
    pairs().prop_map(|p| {
        Event::Record(Record {
            fields: p
                .into_iter()
                .map(|(n, v)| Field {
                    name: Cow::Owned(n),
                    value: Cow::Owned(v),
                })
                .collect(),
        })
    })
}

fn xml_event() -> impl Strategy<Value = Event> {
    prop_oneof![
        (short(), pairs()).prop_map(|(name, p)| XmlEvent::Start {
            name: Cow::Owned(name),
            attrs: p
                .into_iter()
                .map(|(n, v)| Attr {
                    name: Cow::Owned(n),
                    value: Cow::Owned(v),
                })
                .collect(),
        }),
        text().prop_map(|t| XmlEvent::Text(Cow::Owned(t))),
        short().prop_map(|n| XmlEvent::End(Cow::Owned(n))),
    ]
    .prop_map(Event::Xml)
}

proptest! {
    // Each case starts a Python process: few cases, many events each.
    #![proptest_config(ProptestConfig::with_cases(12))]

    #[test]
    fn lines_round_trip_through_python(lines in prop::collection::vec(text(), 0..60)) {
        let events: Vec<Event> = lines.into_iter().map(Event::Line).collect();
        prop_assert_eq!(through_python(EventKind::Lines, &events), events);
    }

    #[test]
    fn xml_events_round_trip_through_python(events in prop::collection::vec(xml_event(), 0..60)) {
        prop_assert_eq!(through_python(EventKind::Xml, &events), events);
    }

    #[test]
    fn records_round_trip_through_python(events in prop::collection::vec(record(), 0..60)) {
        prop_assert_eq!(through_python(EventKind::Records, &events), events);
    }
}

/// A generated snapshot of `buses` buses, in a temporary directory.
fn snapshot(dir: &Path, buses: usize, seed: u64) -> PathBuf {
    let path = dir.join(format!("buses-{seed}.xml"));
    let out = cmd(
        "co-gen-buses",
        &[
            "--buses",
            &buses.to_string(),
            "--seed",
            &seed.to_string(),
            "--out",
            path.to_str().unwrap(),
        ],
    )
    .bounded();
    assert!(out.status.success(), "{out:?}");
    path
}

fn rust_pipe(file: &str) -> Vec<u8> {
    let out = pipeline(
        vec![
            cmd("co-xml", &[file]),
            cmd("co-buses", &[]),
            cmd("co-filter", &["route=22"]),
            cmd("co-filter", &["direction=North Bound"]),
            cmd("co-bus-locations", &[]),
        ],
        b"",
    );
    assert!(out.all_ok(), "{:?}", out.stderrs);
    out.stdout
}

/// The mixed pipe: `co-xml F | python3 buses_to_dicts.py | co-filter route=22 |
/// python3 filter_on_field.py direction "North Bound" | co-bus-locations`.
fn mixed_pipe(file: &str) -> Vec<u8> {
    let out = pipeline(
        vec![
            cmd("co-xml", &[file]),
            python(&example("buses_to_dicts"), &[]),
            cmd("co-filter", &["route=22"]),
            python(&example("filter_on_field"), &["direction", "North Bound"]),
            cmd("co-bus-locations", &[]),
        ],
        b"",
    );
    assert!(out.all_ok(), "{:?}", out.stderrs);
    out.stdout
}

#[test]
fn mixed_pipe_prints_what_the_rust_pipe_prints() {
    let dir = tempfile::tempdir().unwrap();
    let shipped = root().join("examples/data/allroutes.xml");
    let mut files = vec![shipped];
    for seed in [1, 2, 3] {
        files.push(snapshot(dir.path(), 3000, seed));
    }
    for file in &files {
        let file = file.to_str().unwrap();
        let rust = rust_pipe(file);
        assert!(rust.len() > 100, "{file}: the pipe should print buses");
        assert_eq!(mixed_pipe(file), rust, "{file}");
    }
}

#[test]
fn python_sinks_and_filters_match_the_rust_ones() {
    // All the seed's stages in Python after co-xml: buses_to_dicts, two filter_on_field,
    // bus_locations.
    let dir = tempfile::tempdir().unwrap();
    let file = snapshot(dir.path(), 2000, 9);
    let file = file.to_str().unwrap();
    let out = pipeline(
        vec![
            cmd("co-xml", &[file]),
            python(&example("buses_to_dicts"), &[]),
            python(&example("filter_on_field"), &["route", "22"]),
            python(&example("filter_on_field"), &["direction", "North Bound"]),
            python(&example("bus_locations"), &[]),
        ],
        b"",
    );
    assert!(out.all_ok(), "{:?}", out.stderrs);
    assert_eq!(out.stdout, rust_pipe(file));
}

#[test]
fn printer_and_grep_match_the_rust_ones() {
    let log = root().join("examples/data/access-log");
    let log = log.to_str().unwrap();
    let rust = pipeline(
        vec![
            cmd("co-lines", &[log]),
            cmd("co-grep", &["python"]),
            cmd("co-printer", &[]),
        ],
        b"",
    );
    let py = pipeline(
        vec![
            cmd("co-lines", &[log]),
            python(&example("grep"), &["python"]),
            python(&example("printer"), &[]),
        ],
        b"",
    );
    assert!(rust.all_ok() && py.all_ok(), "{:?}", py.stderrs);
    assert!(rust.stdout.len() > 1000);
    assert_eq!(py.stdout, rust.stdout);
}

#[test]
fn the_seeds_threaded_example_prints_what_the_rust_pipe_prints() {
    // cothread.py is the seed's cothread hook-up: buses_to_dicts, then threaded(two
    // filter_on_field and bus_locations), one Python stage whose printer runs in a thread.
    let dir = tempfile::tempdir().unwrap();
    let files = [
        root().join("examples/data/allroutes.xml"),
        snapshot(dir.path(), 3000, 4),
    ];
    for file in &files {
        let file = file.to_str().unwrap();
        let out = pipeline(
            vec![cmd("co-xml", &[file]), python(&example("cothread"), &[])],
            b"",
        );
        assert!(out.all_ok(), "{:?}", out.stderrs);
        let rust = rust_pipe(file);
        assert!(rust.len() > 100, "{file}: the pipe should print buses");
        assert_eq!(out.stdout, rust, "{file}");
    }
}

#[test]
fn a_failure_in_a_threaded_target_is_one_line_after_what_came_before() {
    // The second bus has no latitude: bus_locations raises KeyError in the thread. The line
    // printed before it arrives; the stage reports the error on one line, naming where it
    // happened, and exits 1 (the seed's thread would die with a traceback, its stage exit 0).
    let dir = tempfile::tempdir().unwrap();
    let xml = dir.path().join("buses.xml");
    let bus = |id: u32, fields: &str| {
        format!(
            "<bus><id>{id}</id><route>22</route><direction>North Bound</direction>{fields}</bus>"
        )
    };
    let text = format!(
        "<buses>{}{}{}</buses>",
        bus(1, "<latitude>41.1</latitude><longitude>-87.1</longitude>"),
        bus(2, "<longitude>-87.2</longitude>"),
        bus(3, "<latitude>41.3</latitude><longitude>-87.3</longitude>"),
    );
    std::fs::write(&xml, text).unwrap();
    let out = pipeline(
        vec![
            cmd("co-xml", &[xml.to_str().unwrap()]),
            python(&example("cothread"), &[]),
        ],
        b"",
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "22,1,\"North Bound\",41.1,-87.1\n"
    );
    assert_eq!(out.statuses[1].code(), Some(1), "{:?}", out.stderrs);
    let err = &out.stderrs[1];
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("cothread.py: error: KeyError: 'latitude' (bus_locations.py line "),
        "{err}"
    );
}

#[test]
fn the_seeds_broadcast_example_prints_each_line_once_per_pattern_in_it() {
    // cobroadcast.py: broadcast([grep(p, printer()) for p in PATTERNS]), the seed's example.
    let log = root().join("examples/data/access-log");
    let text = std::fs::read_to_string(&log).unwrap();
    for patterns in [&[][..], &["GET", "dabeaz", "python"][..]] {
        let shown = if patterns.is_empty() {
            &["python", "ply", "swig"][..]
        } else {
            patterns
        };
        let mut expected = String::new();
        for line in text.lines() {
            for pattern in shown {
                if line.contains(pattern) {
                    expected.push_str(line);
                    expected.push('\n');
                }
            }
        }
        let out = pipeline(
            vec![
                cmd("co-lines", &[log.to_str().unwrap()]),
                python(&example("cobroadcast"), patterns),
            ],
            b"",
        );
        assert!(out.all_ok(), "{:?}", out.stderrs);
        assert!(expected.lines().count() > 200, "{patterns:?}");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            expected,
            "{patterns:?}"
        );
    }
}

/// `copipe run -e SPEC`: (status, stdout, stderr).
fn copipe_run(spec: &str) -> (Option<i32>, String, String) {
    let out = cmd("copipe", &["run", "-e", spec])
        .current_dir(root())
        .bounded();
    (
        out.status.code(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn mixed_graph_through_the_launcher() {
    let rust = rust_pipe(root().join("examples/data/allroutes.xml").to_str().unwrap());
    let rust = String::from_utf8(rust).unwrap();
    // Scripts named by path answer --describe: the launcher type-checks them.
    let by_path = "co-xml examples/data/allroutes.xml | examples/python/buses_to_dicts.py \
        | co-filter route=22 | examples/python/filter_on_field.py direction 'North Bound' \
        | co-bus-locations";
    // Run by the interpreter, as in the issue: checked at run time by the stream header.
    let by_python =
        "co-xml examples/data/allroutes.xml | python3 examples/python/buses_to_dicts.py \
        | co-filter route=22 | python3 examples/python/filter_on_field.py direction 'North Bound' \
        | co-bus-locations";
    for spec in [by_path, by_python] {
        let (status, stdout, stderr) = copipe_run(spec);
        assert_eq!(status, Some(0), "{spec}: {stderr}");
        assert_eq!(stdout, rust, "{spec}");
    }
}

#[test]
fn the_launcher_type_checks_python_stages() {
    let (status, stdout, stderr) = copipe_run(
        "co-lines examples/data/access-log | examples/python/buses_to_dicts.py | co-printer",
    );
    assert_eq!(status, Some(2), "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.contains(
            "stage 1 \"co-lines examples/data/access-log\" writes line events, but stage 2 \
             \"examples/python/buses_to_dicts.py\" reads XML events"
        ),
        "{stderr}"
    );
}

/// Runs `co-lines access-log | STAGE | co-printer`, STAGE failing after 3 events: (exit
/// status, stdout, the launcher's report of stage 2 with its command replaced by `STAGE`,
/// the stage's own stderr lines).
fn crash_report(stage: &str) -> (Option<i32>, String, Vec<String>, Vec<String>) {
    let spec = format!("co-lines examples/data/access-log | {stage} | co-printer");
    let (status, stdout, stderr) = copipe_run(&spec);
    let report = stderr
        .lines()
        .filter(|l| l.starts_with("copipe: stage 2 "))
        .map(|l| l.replace(stage, "STAGE"))
        .collect();
    let own = stderr
        .lines()
        .filter(|l| l.starts_with("[2 "))
        .map(str::to_owned)
        .collect();
    (status, stdout, report, own)
}

#[test]
fn a_crashing_python_stage_is_reported_like_a_rust_one() {
    let py_stage = format!("{} --fail-after 3", passthrough());
    let (status, stdout, report, own) = crash_report(&py_stage);
    let rust = crash_report("co-chaos --after 3 --exit 1");
    // The same exit status, the same events delivered before the crash, the same report.
    assert_eq!((status, &stdout, &report), (rust.0, &rust.1, &rust.2));
    assert_eq!(status, Some(1));
    assert_eq!(
        stdout.lines().count(),
        3,
        "the events before the crash arrive"
    );
    assert_eq!(report, ["copipe: stage 2 \"STAGE\" exited with status 1"]);
    // The Python stage's own line: one line, naming it and the exception.
    assert_eq!(own.len(), 1, "{own:?}");
    assert!(
        own[0].contains("passthrough.py: error: RuntimeError: failing on purpose after 3 events"),
        "{own:?}"
    );
}

#[test]
fn bad_streams_give_a_python_stage_the_rust_messages() {
    let cases: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root().join("tests/vectors/bad.json")).unwrap())
            .unwrap();
    let mut bad: Vec<(String, Vec<u8>)> = cases
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let hex = c["hex"].as_str().unwrap();
            let bytes = hex
                .split_whitespace()
                .map(|b| u8::from_str_radix(b, 16).unwrap())
                .collect();
            (c["name"].as_str().unwrap().to_owned(), bytes)
        })
        .collect();
    // And a stream of the wrong kind.
    bad.push(("wrong kind".into(), stream(EventKind::Records, &[])));
    for (name, bytes) in bad {
        let rust = run_with_input(cmd("co-grep", &["x"]), &bytes);
        let py = run_with_input(python(&example("grep"), &["x"]), &bytes);
        let rust_err = String::from_utf8_lossy(&rust.stderr).replace("co-grep", "grep.py");
        let py_err = String::from_utf8_lossy(&py.stderr).into_owned();
        assert_eq!(py.status.code(), Some(1), "{name}: {py_err}");
        assert_eq!(py.status.code(), rust.status.code(), "{name}");
        assert_eq!(py_err, rust_err, "{name}");
        assert_eq!(py_err.lines().count(), 1, "{name}");
    }
}
