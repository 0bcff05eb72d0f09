//! Every document a SAX parser reads (issue 10, part 2): the corpus under `tests/xml/corpus`
//! (well-formed and not, in several encodings) goes through co-xml and through Python's
//! expat (`tests/reference/sax_events.py`). Both must give the same verdict; for a
//! well-formed document the same events (adjacent text joined), for a broken one an error at
//! the same line and column (expat counts columns from 0, co-xml from 1), in one line.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{cmd, pipeline, Bounded};

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
    let (mut good, mut bad) = (0, 0);
    for file in &files {
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
                good += 1;
                assert!(ours.all_ok(), "{name}: expat accepts it, co-xml says {err}");
                assert_eq!(ours.stdout_text(), events, "{name}: events differ");
            }
            Some((line, column)) => {
                bad += 1;
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
            }
        }
    }
    assert!(good >= 15 && bad >= 15, "{good} well-formed, {bad} not");
}
