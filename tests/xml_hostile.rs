//! Linear time and bounded memory whatever the document (issue 10, part 3).
//!
//! Each hostile document goes through `co-xml | co-buses | co-dump`; every stage must either
//! finish or refuse with one line naming the option that bounds it, and no stage may hold
//! more than a fixed amount of memory (peak RSS, as `copipe run --stats` reads it). Times are measured by
//! `just bench-bus`, which prints seconds per MB for the same shapes at full size.

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::common::Bounded;

/// The most any stage may hold on these documents (co-xml's buffers are bounded by a few
/// times --max-token, 16 MiB by default). co-xml needed 165 MB for the 1.8 million
/// attributes before they were bounded, and co-buses grew with every field.
const MAX_RSS_MB: u64 = 128;

/// One stage's end: exit code, its error line (if any), peak memory in MB.
struct Ended {
    code: Option<i64>,
    stderr: String,
    rss_mb: u64,
}

/// Runs the chain `spec` under `copipe run --stats=json`, whose figures come from wait4 on
/// each stage (a process spawned straight from this big test process would inherit its
/// peak RSS). Returns each stage's end and the chain's output.
fn run_measured(spec: &str, stages: &[&str]) -> (Vec<Ended>, Vec<u8>) {
    let out = Command::new(env!("CARGO_BIN_EXE_copipe"))
        .args(["run", "--stats=json", "-e", spec])
        .stdin(Stdio::null())
        .bounded();
    let stderr = String::from_utf8(out.stderr).unwrap();
    let json = stderr
        .lines()
        .find(|l| l.starts_with("{\"stages\""))
        .unwrap_or_else(|| panic!("no statistics from copipe: {stderr}"));
    let stats: serde_json::Value = serde_json::from_str(json).unwrap();
    let ended = stats["stages"]
        .as_array()
        .unwrap()
        .iter()
        .zip(stages.iter().enumerate())
        .map(|(stage, (i, name))| Ended {
            code: stage["exit_code"].as_i64(),
            // The launcher tags each stage's lines with its position and name.
            stderr: stderr
                .lines()
                .filter_map(|l| l.strip_prefix(&format!("[{} {name}] ", i + 1)))
                .map(|l| format!("{l}\n"))
                .collect(),
            rss_mb: stage["peak_rss_bytes"].as_u64().unwrap() >> 20,
        })
        .collect();
    (ended, out.stdout)
}

/// Runs the pipe on `doc` with extra co-xml `args`; asserts every stage finished or refused
/// in one line naming `--max-...`, within the memory bound. Returns the dump and whether
/// some stage refused.
fn feed(dir: &Path, name: &str, doc: &[u8], args: &[&str]) -> (String, bool) {
    let file = dir.join(name);
    std::fs::write(&file, doc).unwrap();
    let spec = format!(
        "co-xml '{}' {} | co-buses | co-dump",
        file.display(),
        args.join(" ")
    );
    let stages = ["co-xml", "co-buses", "co-dump"];
    let (ended, stdout) = run_measured(&spec, &stages);
    let mut refused = false;
    for (stage, e) in stages.iter().zip(&ended) {
        assert!(
            e.rss_mb <= MAX_RSS_MB,
            "{name}: {stage} held {} MB; stderr: {}",
            e.rss_mb,
            e.stderr
        );
        match e.code {
            Some(0) => assert!(e.stderr.is_empty(), "{name}: {stage}: {}", e.stderr),
            Some(1) if e.stderr.contains("without an end-of-stream marker") => {}
            Some(1) => {
                assert_eq!(e.stderr.lines().count(), 1, "{name}: {}", e.stderr);
                assert!(
                    e.stderr.contains("(raise it with --max-"),
                    "{name}: {}",
                    e.stderr
                );
                refused = true;
            }
            other => panic!("{name}: {stage} ended with {other:?}: {}", e.stderr),
        }
    }
    (String::from_utf8(stdout).unwrap(), refused)
}

fn bus(body: &str) -> Vec<u8> {
    format!("<buses><bus>{body}</bus></buses>").into_bytes()
}

#[test]
fn a_bus_with_80000_distinct_fields_is_one_record() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = String::new();
    for i in 0..80_000 {
        write!(body, "<f{i}>{i}</f{i}>").unwrap();
    }
    // A field set again keeps its first place and takes the last value.
    body.push_str("<f7>again</f7>");
    let (dump, refused) = feed(dir.path(), "fields.xml", &bus(&body), &[]);
    assert!(!refused);
    assert_eq!(dump.lines().count(), 1);
    assert!(
        dump.contains("'f6': '6', 'f7': 'again', 'f8': '8'"),
        "{}",
        &dump[..200]
    );
    assert!(dump.contains("'f79999': '79999'}"));
}

#[test]
fn a_million_empty_elements_and_huge_text() {
    let dir = tempfile::tempdir().unwrap();
    let (dump, refused) = feed(
        dir.path(),
        "empty.xml",
        &bus(&"<e/>".repeat(1_000_000)),
        &[],
    );
    assert!(!refused);
    assert_eq!(dump.trim_end(), "record {'e': ''}");
    let text = "x &amp; y ".repeat(1_000_000);
    let (dump, refused) = feed(dir.path(), "text.xml", &bus(&format!("<t>{text}</t>")), &[]);
    assert!(!refused);
    assert_eq!(dump.len(), "record {'t': ''}\n".len() + 6_000_000);
    // Over the token bound: refused in one line, whatever the bound is set to.
    let (_, refused) = feed(
        dir.path(),
        "text.xml",
        &bus(&format!("<t>{text}</t>")),
        &["--max-token", "1000000"],
    );
    assert!(refused);
}

#[test]
fn many_attributes_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // 1.8 million attributes in one tag (14 MB): refused at --max-attributes.
    let mut tag = String::from("<buses><bus");
    let letters: Vec<char> = ('a'..='z').chain('A'..='Z').collect();
    for i in 0..1_800_000usize {
        let name: String = [i / 52 / 52 / 52, i / 52 / 52, i / 52, i]
            .iter()
            .map(|&d| letters[d % 52])
            .collect();
        write!(tag, " {name}=''").unwrap();
    }
    assert!(tag.len() < 16_000_000);
    tag.push_str("/></buses>");
    let (_, refused) = feed(dir.path(), "attrs.xml", tag.as_bytes(), &[]);
    assert!(refused);

    // 50,000 are accepted.
    let mut tag = String::from("<buses><bus");
    for i in 0..50_000u32 {
        write!(tag, " a{i}='{i}'").unwrap();
    }
    tag.push_str("><id>1</id></bus></buses>");
    let (dump, refused) = feed(dir.path(), "attrs.xml", tag.as_bytes(), &[]);
    assert!(!refused);
    assert_eq!(dump.trim_end(), "record {'id': '1'}");
}

#[test]
fn deep_nesting_and_long_names_are_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // A million levels: refused at --max-depth.
    let deep = format!("{}{}", "<a>".repeat(1_000_000), "</a>".repeat(1_000_000));
    let (_, refused) = feed(dir.path(), "deep.xml", deep.as_bytes(), &[]);
    assert!(refused);
    // 50,000 levels are fine.
    let deep = format!("{}{}", "<a>".repeat(50_000), "</a>".repeat(50_000));
    let (dump, refused) = feed(dir.path(), "deep.xml", deep.as_bytes(), &[]);
    assert!(!refused && dump.is_empty());
    // Levels of 1,000-character names: the open names are bounded by --max-token.
    let name = "n".repeat(1000);
    let deep = format!("<{name}>").repeat(20_000);
    let (_, refused) = feed(
        dir.path(),
        "deep-names.xml",
        deep.as_bytes(),
        &["--max-token", "4000000"],
    );
    assert!(refused);
    // One long name is fine within the bound.
    let name = "n".repeat(2_000_000);
    let doc = bus(&format!("<{name}>x</{name}>"));
    let (dump, refused) = feed(dir.path(), "long-name.xml", &doc, &[]);
    assert!(!refused);
    assert_eq!(dump.len(), "record {'': 'x'}\n".len() + name.len());
}

#[test]
fn co_buses_bounds_what_one_bus_holds() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big-bus.xml");
    let value = "v".repeat(1_000_000);
    let mut body = String::new();
    for i in 0..20 {
        write!(body, "<f{i}>{value}</f{i}>").unwrap();
    }
    std::fs::write(&file, bus(&body)).unwrap();
    let spec = format!(
        "co-xml '{}' | co-buses --max-record 5000000",
        file.display()
    );
    let (ended, _) = run_measured(&spec, &["co-xml", "co-buses"]);
    assert_eq!(ended[1].code, Some(1));
    assert_eq!(
        ended[1].stderr.trim_end(),
        "co-buses: error: a <bus> element holds over 5000000 bytes of fields and text (raise it with --max-record)"
    );
}

/// A "billion laughs" whose entities hold elements: each level refers ten times to the one
/// below, the bottom one is a whole bus.
fn element_laughs(levels: usize) -> Vec<u8> {
    let mut doc = String::from(
        "<!DOCTYPE buses [<!ENTITY l0 \"<bus><route>22</route><id>&#55;</id></bus>\">",
    );
    for level in 1..=levels {
        let below = format!("&l{};", level - 1);
        write!(doc, "<!ENTITY l{level} \"{}\">", below.repeat(10)).unwrap();
    }
    write!(doc, "]>\n<buses>&l{levels};</buses>\n").unwrap();
    doc.into_bytes()
}

#[test]
fn entity_expansion_made_of_elements_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    // Nine levels would be a billion buses: refused at --max-entity-expansion in one line,
    // after the buses within the bound went down the pipe.
    let (dump, refused) = feed(dir.path(), "laughs.xml", &element_laughs(9), &[]);
    assert!(refused);
    assert!(dump.lines().count() > 10_000, "{}", dump.lines().count());
    assert!(dump.starts_with("record {'route': '22', 'id': '7'}\n"));
    // Five levels (100,000 buses, 5 MB of expansion) within the bound: every bus, in
    // memory that does not grow with them.
    let (dump, refused) = feed(dir.path(), "laughs5.xml", &element_laughs(5), &[]);
    assert!(!refused);
    assert_eq!(dump.lines().count(), 100_000);
    assert!(dump
        .lines()
        .all(|l| l == "record {'route': '22', 'id': '7'}"));
    // The same document under a bound it exceeds is refused.
    let (_, refused) = feed(
        dir.path(),
        "laughs5.xml",
        &element_laughs(5),
        &["--max-entity-expansion", "1000000"],
    );
    assert!(refused);
}

/// A chain of `levels` entities, each referring to the one below after `pad` bytes of text,
/// the bottom one a bus.
fn entity_chain(levels: usize, pad: usize) -> Vec<u8> {
    let mut doc = String::from(
        "<!DOCTYPE buses [<!ENTITY e0 \"<bus><route>22</route><id>&#55;</id></bus>\">\n",
    );
    let pad = " ".repeat(pad);
    for i in 1..levels {
        writeln!(doc, "<!ENTITY e{i} \"{pad}&e{};\">", i - 1).unwrap();
    }
    write!(doc, "]>\n<buses>&e{};</buses>\n", levels - 1).unwrap();
    doc.into_bytes()
}

/// References nest with no fixed depth (an explicit stack, a few words a level, never the
/// thread's stack): 200,000 levels give their bus in bounded memory; with 40 bytes of text
/// a level (8 MB of expansion) they are refused at --max-entity-expansion in one line, and
/// 10,000 plain levels are under a bound of 100,000 bytes.
#[test]
fn entity_nesting_is_bounded_only_by_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let (dump, refused) = feed(dir.path(), "chain.xml", &entity_chain(200_000, 0), &[]);
    assert!(!refused);
    assert_eq!(dump, "record {'route': '22', 'id': '7'}\n");
    let (dump, refused) = feed(dir.path(), "chain.xml", &entity_chain(200_000, 40), &[]);
    assert!(refused);
    assert_eq!(dump, "");
    let (_, refused) = feed(
        dir.path(),
        "chain.xml",
        &entity_chain(10_000, 0),
        &["--max-entity-expansion", "100000"],
    );
    assert!(refused);
}
