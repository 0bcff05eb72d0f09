//! co-filter: records kept when every FIELD=VALUE holds, through the real binaries.

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
        let out = cmd("co-filter", args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(!out.stderr.is_empty());
    }
    let out = cmd("co-filter", &["route"]).output().unwrap();
    assert!(String::from_utf8_lossy(&out.stderr).contains("expected FIELD=VALUE"));
}
