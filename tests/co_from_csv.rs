//! co-from-csv: CSV and TSV with a header to records, against Python's csv module.

use crate::common::records::{check_manners, dump_json, pairs, python, read_records};
use crate::common::{cmd, pipeline, run_with_input, Bounded};

fn from_csv(args: &[&str], input: &[u8]) -> std::process::Output {
    run_with_input(cmd("co-from-csv", args), input)
}

/// Rows Python's csv module writes (RFC 4180: CRLF, quotes doubled, newlines in quotes),
/// read by co-from-csv, give exactly the records Python's `DictReader` reads.
#[test]
fn reads_what_pythons_csv_module_writes_as_python_reads_it() {
    let write = r#"
import csv, sys
w = csv.writer(sys.stdout)
w.writerow(["id", "name, quoted", "note"])
for i in range(300):
    w.writerow([str(i), 'say "hi", %d' % i, "two\nlines" if i % 7 == 0 else ("" if i % 5 == 0 else " é€ ")])
"#;
    let Some(text) = python(write, b"") else {
        return;
    };
    assert!(text.contains("\r\n") && text.contains("\"\""));
    let read = r#"
import csv, json, sys
for row in csv.DictReader(sys.stdin):
    print(json.dumps(row, ensure_ascii=False, separators=(",", ":")))
"#;
    let expected = python(read, text.as_bytes()).unwrap();
    let out = pipeline(
        vec![cmd("co-from-csv", &[]), cmd("co-dump", &["--json"])],
        text.as_bytes(),
    );
    assert!(out.all_ok(), "{:?}", out.stderrs);
    assert_eq!(out.stdout_text(), expected);
}

#[test]
fn tsv_and_chosen_columns() {
    let tsv = b"id\troute\tdirection\n1\t22\tNorth Bound\n2\t36\t\"South, Bound\"\n";
    let out = from_csv(&["--delimiter", "tab", "--fields", "direction,id"], tsv);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        read_records(&out.stdout),
        [
            pairs(&[("direction", "North Bound"), ("id", "1")]),
            pairs(&[("direction", "South, Bound"), ("id", "2")]),
        ]
    );
    let out = from_csv(&["-d", ";"], b"a;b\n1;2,3\n");
    assert_eq!(
        read_records(&out.stdout),
        [pairs(&[("a", "1"), ("b", "2,3")])]
    );
    let err = from_csv(&["--fields", "id,nope"], b"id,x\n1,2\n");
    assert_eq!(err.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(err.stderr).unwrap(),
        "co-from-csv: error: line 1: the header has no column \"nope\" (it has [\"id\", \"x\"])\n"
    );
    let bad = cmd("co-from-csv", &["--delimiter", "ab"]).bounded();
    assert_eq!(bad.status.code(), Some(2));
}

#[test]
fn a_header_alone_or_nothing_gives_an_empty_stream() {
    for input in [&b"a,b\n"[..], b""] {
        let out = from_csv(&[], input);
        assert!(out.status.success(), "{out:?}");
        assert!(read_records(&out.stdout).is_empty());
    }
}

#[test]
fn a_row_with_the_wrong_cell_count_is_an_error_naming_its_line() {
    // Row 3 starts on line 4: the quoted cell before it spans two lines.
    let input = b"a,b\n1,\"x\ny\"\n2,3,4\n5,6\n";
    let out = pipeline(
        vec![cmd("co-from-csv", &[]), cmd("co-dump", &["--json"])],
        input,
    );
    assert_eq!(out.statuses[0].code(), Some(1));
    assert_eq!(
        out.stderrs[0],
        "co-from-csv: error: line 4: the row has 3 cells, the header 2 (--skip-bad skips and counts bad rows)\n"
    );
    assert_eq!(
        out.stdout_text(),
        "{\"a\":\"1\",\"b\":\"x\\ny\"}\n",
        "the row before it is delivered"
    );

    let skipped = from_csv(&["--skip-bad"], input);
    assert!(skipped.status.success());
    assert_eq!(
        read_records(&skipped.stdout),
        [
            pairs(&[("a", "1"), ("b", "x\ny")]),
            pairs(&[("a", "5"), ("b", "6")])
        ]
    );
    assert_eq!(
        String::from_utf8(skipped.stderr).unwrap(),
        "co-from-csv: warning: skipped 1 bad rows (the first: line 4: the row has 3 cells, the header 2)\n"
    );
}

#[test]
fn invalid_utf8_is_an_error_or_skipped() {
    let input = b"a,b\n1,2\n3,\xff\n4,5\n";
    let out = from_csv(&[], input);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "co-from-csv: error: line 3: cell 2 is not valid UTF-8 (--skip-bad skips and counts bad rows)\n"
    );
    let skipped = from_csv(&["--skip-bad"], input);
    assert!(skipped.status.success());
    assert_eq!(
        dump_json(&skipped.stdout),
        "{\"a\":\"1\",\"b\":\"2\"}\n{\"a\":\"4\",\"b\":\"5\"}\n"
    );
    let header = from_csv(&["--skip-bad"], b"a,\xff\n1,2\n");
    assert_eq!(
        header.status.code(),
        Some(1),
        "a bad header is never skipped"
    );
    let twice = from_csv(&[], b"a,b,a\n1,2,3\n");
    assert!(String::from_utf8(twice.stderr)
        .unwrap()
        .contains("names column \"a\" twice"));
}

#[test]
fn a_runaway_quoted_cell_is_refused_at_the_limit() {
    let mut input = b"a\n\"".to_vec();
    input.extend(std::iter::repeat_n(b'x', 2 << 20));
    let out = from_csv(&["--max-line", "100000"], &input);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.contains("longer than --max-line (100000 bytes)"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
}

#[test]
fn manners() {
    check_manners("co-from-csv", "text", "records");
}
