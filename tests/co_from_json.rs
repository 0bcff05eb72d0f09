//! co-from-json: JSON lines to events, the real binary, and back out through co-dump --json.

use proptest::prelude::*;

use crate::common::records::{
    check_manners, dump_json, pairs, python, read_records, records_stream, Pairs,
};
use crate::common::{cmd, lines_stream, pipeline, run_with_input, Bounded};

fn from_json(args: &[&str], input: &[u8]) -> std::process::Output {
    run_with_input(cmd("co-from-json", args), input)
}

#[test]
fn members_become_fields_in_order_and_values_map_as_documented() {
    let input = concat!(
        "{\"z\":\"last\",\"a\":1.50,\"t\":true,\"n\":null,\"arr\":[1, \"a b\"],\"o\":{\"k\" : {}}}\n",
        "\n",
        "  {\"s\":\"tab\\t \\\"q\\\" \\u00e9\"}  \r\n",
        "{\"a\":\"1\",\"b\":\"2\",\"a\":\"3\"}",
    );
    let out = from_json(&[], input.as_bytes());
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        read_records(&out.stdout),
        [
            pairs(&[
                ("z", "last"),
                ("a", "1.50"),
                ("t", "true"),
                ("n", "null"),
                ("arr", "[1,\"a b\"]"),
                ("o", "{\"k\":{}}")
            ]),
            pairs(&[("s", "tab\t \"q\" é")]),
            pairs(&[("a", "3"), ("b", "2")]),
        ]
    );
}

/// Records whose names are distinct (a JSON object's keys are).
fn records() -> impl Strategy<Value = Vec<Pairs>> {
    let text = prop_oneof![".{0,12}", "[a-z\"\\\\\n\t\u{0}-\u{1f}\u{7f}é€😀 ]{0,6}"];
    let record = prop::collection::btree_map(text.clone(), text, 0..6)
        .prop_map(|m| m.into_iter().collect::<Pairs>());
    prop::collection::vec(record, 0..40)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    /// Records to JSON lines and back give the same records; string-valued JSON in the
    /// canonical form comes back byte for byte.
    #[test]
    fn string_valued_objects_round_trip_byte_for_byte(records in records()) {
        let stream = records_stream(&records);
        let out = pipeline(
            vec![cmd("co-dump", &["--json"]), cmd("co-from-json", &[]), cmd("co-dump", &["--json"])],
            &stream,
        );
        prop_assert!(out.all_ok(), "{:?}", out.stderrs);
        let json = dump_json(&stream);
        prop_assert_eq!(out.stdout_text(), json.clone());
        let back = from_json(&[], json.as_bytes());
        prop_assert_eq!(read_records(&back.stdout), records);
    }
}

#[test]
fn pythons_compact_json_round_trips_byte_for_byte() {
    let program = r#"
import json
rows = [{"id": str(i), "name": "bus \"%d\"\t\u00e9\u0001\u007f" % i, "empty": "", "k\\ey": "x/y"} for i in range(200)]
for r in rows:
    print(json.dumps(r, ensure_ascii=False, separators=(",", ":")))
"#;
    let Some(text) = python(program, b"") else {
        return;
    };
    let out = pipeline(
        vec![cmd("co-from-json", &[]), cmd("co-dump", &["--json"])],
        text.as_bytes(),
    );
    assert!(out.all_ok(), "{:?}", out.stderrs);
    assert_eq!(out.stdout_text(), text);
}

#[test]
fn lines_and_xml_events_round_trip_through_their_json_form() {
    let lines = lines_stream("plain\nwith \"quotes\" and \\ and \t tab\n\nlast");
    let xml = run_with_input(
        cmd("co-xml", &[]),
        b"<a x=\"1 &amp; 2\"><b>text &lt; here</b><![CDATA[ raw ]]></a>",
    );
    assert!(xml.status.success());
    for (kind, stream) in [("lines", lines), ("xml", xml.stdout)] {
        let json = dump_json(&stream);
        assert!(json.lines().count() >= 4, "{json}");
        let back = from_json(&["--kind", kind], json.as_bytes());
        assert!(back.status.success(), "{back:?}");
        assert_eq!(dump_json(&back.stdout), json, "{kind}: the same events");
    }
    let wrong = from_json(&["--kind", "lines"], b"{\"line\":\"a\",\"extra\":1}\n");
    assert_eq!(wrong.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("line 1: unknown field `extra`"));
}

/// The stderr of a failed run, which must be exactly one line.
fn one_line_error(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

#[test]
fn bad_lines_are_one_line_errors_with_their_line_number() {
    let cases: [(&[u8], &str); 6] = [
        (
            b"{\"a\":\"1\"}\nnot json\n",
            "co-from-json: error: line 2: not JSON: expected ident at column 2",
        ),
        (
            b"{\"a\":\"1\"}\n\n[1,2]\n",
            "co-from-json: error: line 3: an array is not a JSON object",
        ),
        (
            b"\"text\"\n",
            "co-from-json: error: line 1: a string is not a JSON object",
        ),
        (
            b"{\"a\":1}\n{\"a\":\"\xff\"}\n",
            "co-from-json: error: line 2: not valid UTF-8 (at byte 7 of the line)",
        ),
        (
            b"{\"a\":1} {\"b\":2}\n",
            "co-from-json: error: line 1: not JSON: trailing characters at column 9",
        ),
        (
            b"{\"a\":\n1}\n",
            "co-from-json: error: line 1: not JSON: EOF while parsing a value at column 5",
        ),
    ];
    for (input, expected) in cases {
        let err = one_line_error(&from_json(&[], input));
        assert!(
            err.starts_with(expected),
            "{err:?} should start with {expected:?}"
        );
        assert!(err.contains("--skip-bad"), "{err}");
    }
}

#[test]
fn records_before_a_bad_line_still_reach_the_downstream() {
    let out = pipeline(
        vec![cmd("co-from-json", &[]), cmd("co-dump", &["--json"])],
        b"{\"n\":\"1\"}\n{\"n\":\"2\"}\n{oops}\n{\"n\":\"4\"}\n",
    );
    assert_eq!(out.statuses[0].code(), Some(1));
    assert_eq!(out.stdout_text(), "{\"n\":\"1\"}\n{\"n\":\"2\"}\n");
    assert!(
        out.stderrs[1].contains("without an end-of-stream marker"),
        "{:?}",
        out.stderrs
    );
}

#[test]
fn skip_bad_skips_counts_and_reports() {
    let out = from_json(
        &["--skip-bad"],
        b"{\"n\":\"1\"}\n[]\n\xff\xfe\nnope\n{\"n\":\"5\"}\n",
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        read_records(&out.stdout),
        [pairs(&[("n", "1")]), pairs(&[("n", "5")])]
    );
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "co-from-json: warning: skipped 3 bad lines (the first: line 2: an array is not a JSON object (one object per line makes one record))\n"
    );
}

#[test]
fn a_line_longer_than_the_limit_is_refused_without_buffering_it() {
    let mut input = b"{\"a\":\"".to_vec();
    input.extend(std::iter::repeat_n(b'x', 5000));
    input.extend_from_slice(b"\"}\n");
    let err = one_line_error(&from_json(&["--max-line", "1000"], &input));
    assert_eq!(
        err,
        "co-from-json: error: line 1: longer than --max-line (1000 bytes)\n"
    );
    assert!(from_json(&["--max-line", "6000"], &input).status.success());
}

#[test]
fn reads_a_file_argument_and_refuses_a_missing_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("in.jsonl");
    std::fs::write(&path, "{\"a\":\"b\"}\n").unwrap();
    let out = cmd("co-from-json", &[path.to_str().unwrap()]).bounded();
    assert!(out.status.success());
    assert_eq!(read_records(&out.stdout), [pairs(&[("a", "b")])]);
    let missing = cmd("co-from-json", &[dir.path().join("nope").to_str().unwrap()]).bounded();
    let err = one_line_error(&missing);
    assert!(err.contains("nope"), "{err}");
}

#[test]
fn manners() {
    check_manners("co-from-json", "text", "any");
    let bad_kind = cmd("co-from-json", &["--kind", "nope"]).bounded();
    assert_eq!(bad_kind.status.code(), Some(2));
}
