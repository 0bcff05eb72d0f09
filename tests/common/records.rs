//! Helpers for the record tests: build record streams, read them back, tell stages apart.

use std::borrow::Cow;

use super::Bounded;
use copipe::event::Field;
use copipe::link::{recv_any, recv_from, FrameReader, FrameWriter, Records};
use copipe::signals::Shutdown;
use copipe::sink::collect;
use copipe::stages::dump::Dump;
use copipe::{EventKind, Record};

/// A record as plain pairs, easy to compare.
pub type Pairs = Vec<(String, String)>;

pub fn pairs(p: &[(&str, &str)]) -> Pairs {
    p.iter()
        .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
        .collect()
}

/// A copipe stream of records, encoded by the library's own writer.
pub fn records_stream(records: &[Pairs]) -> Vec<u8> {
    let mut w = FrameWriter::new(Vec::new(), EventKind::Records, "test");
    for r in records {
        let record = Record {
            fields: r
                .iter()
                .map(|(n, v)| Field {
                    name: Cow::Borrowed(n.as_str()),
                    value: Cow::Borrowed(v.as_str()),
                })
                .collect(),
        };
        w.write_event(&record).unwrap();
    }
    w.close().unwrap();
    w.into_inner()
}

/// The records of a complete copipe stream (panics on anything else).
pub fn read_records(stream: &[u8]) -> Vec<Pairs> {
    let mut got: Vec<Record<'static>> = Vec::new();
    let mut r = FrameReader::open(stream, "test", 1 << 24).expect("a copipe stream");
    recv_from::<Records, _, _>(&mut r, "test", &mut collect(&mut got), &Shutdown::never())
        .expect("records");
    got.into_iter()
        .map(|r| {
            r.fields
                .into_iter()
                .map(|f| (f.name.into_owned(), f.value.into_owned()))
                .collect()
        })
        .collect()
}

/// Any complete stream as `co-dump --json` prints it, decoded in-process by the library.
pub fn dump_json(stream: &[u8]) -> String {
    let mut out = Vec::new();
    let mut r = FrameReader::open(stream, "test", 1 << 24).expect("a copipe stream");
    recv_any(
        &mut r,
        "test",
        &mut Dump::new(&mut out, true),
        &Shutdown::never(),
    )
    .expect("a whole stream");
    String::from_utf8(out).unwrap()
}

/// Checks that stage `name` answers `--help`, `--version` and `--describe` (with ports
/// `input` → `output`), and that a bad option is a usage error (exit 2).
pub fn check_manners(name: &str, input: &str, output: &str) {
    let help = super::cmd(name, &["--help"]).bounded();
    assert!(help.status.success(), "{name} --help");
    assert!(String::from_utf8_lossy(&help.stdout).contains(&format!("Usage: {name}")));
    let version = super::cmd(name, &["--version"]).bounded();
    assert!(version.status.success());
    assert!(String::from_utf8_lossy(&version.stdout).starts_with(&format!("{name} ")));
    let describe = super::cmd(name, &["--describe"]).bounded();
    let v: serde_json::Value = serde_json::from_slice(&describe.stdout).unwrap();
    assert_eq!(
        (
            v["name"].as_str(),
            v["input"].as_str(),
            v["output"].as_str()
        ),
        (Some(name), Some(input), Some(output))
    );
    let bad = super::cmd(name, &["--no-such-option"]).bounded();
    assert_eq!(bad.status.code(), Some(2), "{name} with a bad option");
}

/// Runs `python3 -c program` with `input` on stdin; `None` (with a note) when python3 is
/// missing outside CI. In CI a missing python3 fails: a comparison never passes silently.
pub fn python(program: &str, input: &[u8]) -> Option<String> {
    let mut c = std::process::Command::new("python3");
    c.args(["-c", program]);
    let spawned = c
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && std::env::var_os("CI").is_none() => {
            eprintln!("note: python3 not found; skipping the comparison with Python's modules");
            return None;
        }
        Err(e) => panic!("running python3: {e}"),
    };
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || {
        use std::io::Write;
        let _ = stdin.write_all(&input);
    });
    let out = super::finish(child);
    let _ = feeder.join();
    assert!(
        out.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(String::from_utf8(out.stdout).unwrap())
}
