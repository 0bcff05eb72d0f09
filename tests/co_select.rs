//! co-select: keep, reorder and rename fields, through the real binary.

use crate::common::records::{check_manners, pairs, read_records, records_stream, Pairs};
use crate::common::{cmd, run_with_input};

fn select(args: &[&str], records: &[Pairs]) -> std::process::Output {
    run_with_input(cmd("co-select", args), &records_stream(records))
}

fn buses() -> Vec<Pairs> {
    vec![
        pairs(&[
            ("id", "1"),
            ("route", "22"),
            ("latitude", "41.9"),
            ("longitude", "-87.6"),
        ]),
        pairs(&[("route", "36"), ("id", "2")]),
    ]
}

#[test]
fn keeps_reorders_and_renames() {
    let out = select(&["lat=latitude", "id", "route"], &buses());
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        read_records(&out.stdout),
        [
            pairs(&[("lat", "41.9"), ("id", "1"), ("route", "22")]),
            pairs(&[("id", "2"), ("route", "36")]),
        ]
    );
    let same_field_twice = select(&["a=id", "b=id"], &buses());
    assert_eq!(
        read_records(&same_field_twice.stdout)[1],
        pairs(&[("a", "2"), ("b", "2")])
    );
}

#[test]
fn a_missing_field_is_left_out_empty_or_an_error() {
    let empty = select(&["--missing", "empty", "id", "latitude"], &buses());
    assert_eq!(
        read_records(&empty.stdout)[1],
        pairs(&[("id", "2"), ("latitude", "")])
    );
    let out = select(&["--missing", "error", "id", "latitude"], &buses());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "co-select: error: record #2 has no field \"latitude\" (--missing omit or --missing empty lets it pass)\n"
    );
}

#[test]
fn usage_errors() {
    for args in [&[][..], &["a=b", "a"][..], &["=x"][..], &["x="][..]] {
        let out = select(args, &buses());
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stderr.starts_with(b"co-select: error:") || out.stderr.starts_with(b"error:"));
    }
    let twice = select(&["a=b", "a"], &buses());
    assert!(String::from_utf8(twice.stderr)
        .unwrap()
        .contains("\"a\" is selected twice"));
}

#[test]
fn manners() {
    check_manners("co-select", "records", "records");
}
