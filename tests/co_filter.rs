//! co-filter: records kept when every FIELD=VALUE holds, through the real binaries.

use crate::common::Bounded;
use crate::common::{cmd, pipeline};

const DOC: &str = "<buses>\
    <bus><id>1</id><route>22</route><direction>North Bound</direction></bus>\
    <bus><id>2</id><route>22</route><direction>South Bound</direction></bus>\
    <bus><id>3</id><route>22</route></bus>\
    <bus><id>4</id><route>220</route><direction>North Bound</direction></bus>\
    <bus><id>5</id><route>X49</route><direction>a=b</direction></bus>\
    <bus><id>6</id><route></route></bus>\
    </buses>";

/// The ids of the buses that pass `co-filter ARGS`.
fn ids(args: &[&str]) -> Vec<String> {
    let out = pipeline(
        vec![
            cmd("co-xml", &[]),
            cmd("co-buses", &[]),
            cmd("co-filter", args),
            cmd("co-dump", &["--json"]),
        ],
        DOC.as_bytes(),
    );
    assert!(out.all_ok(), "{:?}", out.stderrs);
    out.stdout_text()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[test]
fn conditions_chain_like_nested_filter_on_field() {
    assert_eq!(ids(&["route=22"]), ["1", "2", "3"]);
    assert_eq!(ids(&["route=22", "direction=North Bound"]), ["1"]);
    assert_eq!(ids(&["direction=North Bound", "route=22"]), ["1"]);
}

#[test]
fn values_compare_exactly_and_a_missing_field_does_not_match() {
    assert_eq!(ids(&["direction=North bound"]), Vec::<String>::new());
    assert_eq!(ids(&["route=2"]), Vec::<String>::new());
    assert_eq!(ids(&["route="]), ["6"]);
    assert_eq!(ids(&["nosuchfield=22"]), Vec::<String>::new());
    assert_eq!(ids(&["direction=a=b"]), ["5"]);
}

#[test]
fn a_condition_without_equals_is_a_usage_error() {
    for args in [&["route"][..], &[][..], &["=22"][..]] {
        let out = cmd("co-filter", args).bounded();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
    let out = cmd("co-filter", &["route"]).bounded();
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected FIELD=VALUE"));
}

/// The ids of the records of `json` (JSON lines) that pass `co-filter ARGS`, and the run.
fn json_ids(args: &[&str], json: &str) -> (Vec<String>, crate::common::PipelineOutput) {
    let out = pipeline(
        vec![
            cmd("co-from-json", &[]),
            cmd("co-filter", args),
            cmd("co-dump", &["--json"]),
        ],
        json.as_bytes(),
    );
    let ids = out
        .stdout_text()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["id"].as_str().unwrap().to_owned()
        })
        .collect();
    (ids, out)
}

const STOPS: &str = r#"{"id":"a","name":"Clark & Lake","lat":"41.88"}
{"id":"b","name":"Clark & Division","lat":"41.90"}
{"id":"c","name":"State & Lake","lat":"41.885"}
{"id":"d","name":"Navy Pier","lat":" 4.189e1 "}
{"id":"e","name":"Depot"}
"#;

fn ok_ids(args: &[&str]) -> Vec<String> {
    let (ids, out) = json_ids(args, STOPS);
    assert!(out.all_ok(), "{args:?}: {:?}", out.stderrs);
    ids
}

#[test]
fn not_equal_passes_records_without_the_field() {
    assert_eq!(ok_ids(&["name!=Clark & Lake"]), ["b", "c", "d", "e"]);
    assert_eq!(ok_ids(&["lat!=41.90"]), ["a", "c", "d", "e"]);
}

#[test]
fn regular_expressions_match_anywhere_and_never_a_missing_field() {
    assert_eq!(ok_ids(&["name~^Clark"]), ["a", "b"]);
    assert_eq!(ok_ids(&["name~Lake$"]), ["a", "c"]);
    assert_eq!(ok_ids(&["name!~Lake"]), ["b", "d", "e"]);
    assert_eq!(ok_ids(&["name~(?i)PIER"]), ["d"]);
    assert_eq!(ok_ids(&["nope~."]), Vec::<String>::new());
}

#[test]
fn numeric_comparisons() {
    assert_eq!(ok_ids(&["lat>41.885"]), ["b", "d"]);
    assert_eq!(ok_ids(&["lat>=41.885"]), ["b", "c", "d"]);
    assert_eq!(ok_ids(&["lat<41.885"]), ["a"]);
    assert_eq!(ok_ids(&["lat<=41.885", "name~Lake"]), ["a", "c"]);
    assert_eq!(ok_ids(&["lat>-1e9"]), ["a", "b", "c", "d"]);
}

#[test]
fn a_value_that_is_not_a_number_is_an_error_after_the_records_before_it() {
    let json = "{\"id\":\"1\",\"n\":\"5\"}\n{\"id\":\"2\",\"n\":\"7\"}\n{\"id\":\"3\",\"n\":\"many\"}\n{\"id\":\"4\",\"n\":\"9\"}\n";
    let (ids, out) = json_ids(&["n>=5"], json);
    assert_eq!(out.statuses[1].code(), Some(1));
    assert_eq!(
        out.stderrs[1],
        "co-filter: error: record #3: field \"n\" is \"many\", not a number (condition \"n>=5\")\n"
    );
    assert_eq!(
        ids,
        ["1", "2"],
        "the records passed before the error are delivered"
    );
}

#[test]
fn bad_operands_are_usage_errors() {
    for (arg, message) in [
        ("lat<north", "\"lat<north\": \"north\" is not a number"),
        ("name~(", "\"name~(\": bad regular expression"),
        ("a!b", "'!' must be followed by '=' or '~'"),
    ] {
        let out = cmd("co-filter", &[arg]).bounded();
        assert_eq!(out.status.code(), Some(2), "{arg}");
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(err.contains(message), "{arg}: {err}");
    }
}
