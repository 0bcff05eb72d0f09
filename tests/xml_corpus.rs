//! Every document a SAX parser reads (issue 10, part 2): the corpus under `tests/xml/corpus`
//! (well-formed and not, in several encodings) goes through co-xml and through Python's
//! expat (`tests/reference/sax_events.py`). Both must give the same verdict; for a
//! well-formed document the same events (adjacent text joined), for a broken one the same
//! events before the error and an error at the same line and column (expat counts columns
//! from 0, co-xml from 1), in one line.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{cmd, pipeline, stdout_of_success, Bounded};

fn corpus() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/xml/corpus");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    files
}

/// Python's events, and its error's line and column (0-based) if expat refused the document.
fn expat(file: &Path) -> (String, Option<(u64, u64)>, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/reference/sax_events.py");
    let out = Command::new("python3")
        .arg(script)
        .arg(file)
        .env("PYTHONIOENCODING", "utf-8")
        .bounded();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let line = (!out.status.success()).then(|| {
        let place = stderr
            .strip_prefix("error ")
            .unwrap_or_else(|| panic!("python crashed on {}: {stderr}", file.display()));
        line_column(place)
    });
    (String::from_utf8(out.stdout).unwrap(), line, stderr)
}

/// `LINE:COLUMN` at the start of `place`.
fn line_column(place: &str) -> (u64, u64) {
    let (line, rest) = place.split_once(':').unwrap();
    let column = rest.split(|c: char| !c.is_ascii_digit()).next().unwrap();
    (line.parse().unwrap(), column.parse().unwrap())
}

#[test]
fn co_xml_agrees_with_expat_on_every_corpus_document() {
    if !crate::common::python_available() {
        return;
    }
    let files = corpus();
    assert!(
        files.len() >= 40,
        "the corpus has {} documents",
        files.len()
    );
    let (mut good, mut bad, mut differ) = (0, 0, Vec::new());
    for file in &files {
        match agree_with_expat(file) {
            Ok(true) => good += 1,
            Ok(false) => bad += 1,
            Err(why) => differ.push(why),
        }
    }
    assert!(differ.is_empty(), "{}", differ.join("\n"));
    assert!(good >= 15 && bad >= 15, "{good} well-formed, {bad} not");
}

/// Runs `file` through co-xml and through expat and requires the same verdict, the same
/// events (well-formed) or the same line and column (not). Returns whether it is well-formed,
/// or how the events before an error differ from expat's.
fn agree_with_expat(file: &Path) -> Result<bool, String> {
    let name = file.file_name().unwrap().to_string_lossy();
    let (events, expat_line, expat_err) = expat(file);
    let ours = pipeline(
        vec![
            cmd("co-xml", &[file.to_str().unwrap()]),
            cmd("co-printer", &[]),
        ],
        b"",
    );
    let err = &ours.stderrs[0];
    match expat_line {
        None => {
            assert!(ours.all_ok(), "{name}: expat accepts it, co-xml says {err}");
            assert_eq!(ours.stdout_text(), events, "{name}: events differ");
            Ok(true)
        }
        Some((line, column)) => {
            assert_eq!(
                ours.statuses[0].code(),
                Some(1),
                "{name}: expat refuses it ({expat_err}), co-xml accepts it"
            );
            assert_eq!(err.lines().count(), 1, "{name}: {err}");
            let place = err
                .strip_prefix("co-xml: error: malformed XML at ")
                .unwrap_or_else(|| panic!("{name}: {err}"));
            // Expat counts columns from 0, co-xml from 1, both in characters.
            assert_eq!(
                line_column(place),
                (line, column + 1),
                "{name}: expat says {expat_err}, co-xml says {err}"
            );
            // Nothing already parsed is lost: what expat reported before it failed, co-xml
            // delivered before it failed. (Not where each stops at its own bound on entity
            // expansion: the two bounds are counted differently.)
            if expat_err.contains("amplification") {
                return Ok(false);
            }
            same_events_before_error(&name, &ours.stdout_text(), &events, &expat_err)
                .map(|()| false)
        }
    }
}

/// Whether co-xml's events before its error are expat's; if not, the first that differs.
fn same_events_before_error(
    name: &str,
    ours: &str,
    expat: &str,
    expat_err: &str,
) -> Result<(), String> {
    let (ours, theirs): (Vec<&str>, Vec<&str>) = (ours.lines().collect(), expat.lines().collect());
    let first = ours.iter().zip(&theirs).take_while(|(a, b)| a == b).count();
    if first == ours.len() && first == theirs.len() {
        return Ok(());
    }
    Err(format!(
        "{name}: events before the error differ at event {first}: co-xml {:?}, expat {:?} \
         (co-xml sent {}, expat {}; expat says {})",
        ours.get(first),
        theirs.get(first),
        ours.len(),
        theirs.len(),
        expat_err.trim_end(),
    ))
}

/// Single-byte labels of `encoding_rs` that Python's codecs also know: one for each WHATWG
/// encoding, and every label whose WHATWG table differs from Python's (ISO-8859-1, -9 and
/// -11 and TIS-620 read as Windows code pages, US-ASCII as windows-1252, KOI8-U as KOI8-RU,
/// the bytes Windows code pages leave undefined).
const LABELS: &[&str] = &[
    "iso-8859-1",
    "latin1",
    "l1",
    "iso-ir-100",
    "csisolatin1",
    "iso_8859-1:1987",
    "cp819",
    "us-ascii",
    "ascii",
    "ansi_x3.4-1968",
    "iso-8859-2",
    "iso-8859-3",
    "iso-8859-4",
    "iso-8859-5",
    "iso-8859-6",
    "iso-8859-7",
    "iso-8859-8",
    "iso-8859-10",
    "iso-8859-13",
    "iso-8859-14",
    "iso-8859-15",
    "iso-8859-16",
    "iso-8859-9",
    "iso8859-9",
    "iso_8859-9",
    "iso_8859-9:1989",
    "iso-ir-148",
    "csisolatin5",
    "latin5",
    "l5",
    "iso-8859-11",
    "iso8859-11",
    "tis-620",
    "windows-1250",
    "windows-1251",
    "windows-1252",
    "windows-1253",
    "windows-1254",
    "windows-1255",
    "windows-1256",
    "windows-1257",
    "windows-1258",
    "cp1252",
    "cp1255",
    "cp874",
    "koi8-r",
    "koi8-u",
    "ibm866",
    "macintosh",
];

/// For each label, the bytes 0x80 to 0xFF Python's codec defines, as Python's expat reads
/// them (its unknown-encoding handler decodes the 256 bytes with the codec).
fn python_defined_bytes() -> Vec<(String, Vec<u8>)> {
    let script = "import sys\n\
        for label in sys.argv[1:]:\n\
        \x20   text = bytes(range(256)).decode(label, 'replace')\n\
        \x20   print(label, ' '.join('%02x' % b for b in range(128, 256) if text[b] != '\\ufffd'))\n";
    stdout_of_success(Command::new("python3").arg("-c").arg(script).args(LABELS))
        .lines()
        .map(|line| {
            let mut words = line.split(' ');
            let label = words.next().unwrap().to_owned();
            let bytes = words
                .filter(|w| !w.is_empty())
                .map(|w| u8::from_str_radix(w, 16).unwrap())
                .collect();
            (label, bytes)
        })
        .collect()
}

/// Every byte of every single-byte label, in text and in an attribute: co-xml reads what
/// Python's expat reads, and refuses (at the same place) the first byte it does not define.
#[test]
fn co_xml_decodes_every_single_byte_label_as_expat() {
    if !crate::common::python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let labels = python_defined_bytes();
    assert_eq!(labels.len(), LABELS.len());
    let mut refused = 0;
    for (label, defined) in &labels {
        let doc = |body: &[u8]| {
            let mut doc =
                format!("<?xml version=\"1.0\" encoding=\"{label}\"?>\n<r a=\"").into_bytes();
            doc.extend_from_slice(body);
            doc.extend_from_slice(b"\">\n");
            doc.extend_from_slice(body);
            doc.extend_from_slice(b"\n</r>\n");
            doc
        };
        let good = dir.path().join(format!("{label}.xml"));
        std::fs::write(&good, doc(defined)).unwrap();
        // A `:` is no character for an encoding name in a declaration, label or not.
        let usable = !label.contains(':');
        assert_eq!(agree_with_expat(&good), Ok(usable), "{label}");
        if !usable {
            continue;
        }
        if let Some(undefined) = (0x80..=0xFF).find(|b| !defined.contains(b)) {
            let bad = dir.path().join(format!("{label}-bad.xml"));
            std::fs::write(&bad, doc(&[b'x', b'\n', undefined])).unwrap();
            assert!(
                agree_with_expat(&bad) == Ok(false),
                "{label}: 0x{undefined:02X} accepted"
            );
            refused += 1;
        }
    }
    assert!(
        refused >= 10,
        "only {refused} labels leave a byte undefined"
    );
}

/// Names Python's codecs know but co-xml cannot read as Python does (no WHATWG label, so no
/// table to check): refused in one line naming them, never decoded some other way.
#[test]
fn encodings_co_xml_cannot_match_are_refused_by_name() {
    for label in ["cp437", "mac_roman", "iso8859_9", "utf_32"] {
        let doc = format!("<?xml version=\"1.0\" encoding=\"{label}\"?>\n<r>\u{e9}</r>\n");
        let out = crate::common::run_with_input(cmd("co-xml", &[]), doc.as_bytes());
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(1), "{label}: {err}");
        assert_eq!(err.lines().count(), 1, "{label}: {err}");
        assert!(
            err.contains(&format!("encoding \"{label}\"")),
            "{label}: {err}"
        );
    }
}

/// A chain of `levels` entities, each referring to the one below: the bottom one holds `x`
/// (or an element), the document refers to the top one in text or in an attribute.
fn entity_chain(levels: usize, bottom: &str, in_attribute: bool) -> String {
    let mut doc = format!("<!DOCTYPE r [\n<!ENTITY e0 \"{bottom}\">\n");
    for i in 1..levels {
        writeln!(doc, "<!ENTITY e{i} \"&e{};\">", i - 1).unwrap();
    }
    let top = levels - 1;
    if in_attribute {
        write!(doc, "]>\n<r a=\"&e{top};\"/>\n").unwrap();
    } else {
        write!(doc, "]>\n<r>&e{top};</r>\n").unwrap();
    }
    doc
}

/// Entity references nest as deep as expat reads them (it has no fixed bound; Python's
/// expat crashes somewhere between 10,000 and 100,000 levels): 10,000 levels in text, of
/// markup and in an attribute give expat's events (co-xml's 64-level bound refused them).
#[test]
fn entities_nested_10000_deep_agree_with_expat() {
    if !crate::common::python_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    for (name, bottom, in_attribute) in [
        ("text", "x", false),
        ("markup", "<b>x</b>", false),
        ("attribute", "x", true),
    ] {
        let file = dir.path().join(format!("deep-{name}.xml"));
        std::fs::write(&file, entity_chain(10_000, bottom, in_attribute)).unwrap();
        assert_eq!(agree_with_expat(&file), Ok(true), "{name}");
    }
}
