//! co-to-csv: records to CSV, read back by Python's csv module and by co-from-csv.

use std::collections::BTreeMap;
use std::process::Command;

use crate::common::records::{check_manners, pairs, python, read_records, records_stream, Pairs};
use crate::common::{cmd, pipeline, run_with_input};

fn to_csv(args: &[&str], records: &[Pairs]) -> std::process::Output {
    run_with_input(cmd("co-to-csv", args), &records_stream(records))
}

fn tricky() -> Vec<Pairs> {
    vec![
        pairs(&[("id", "1"), ("text", "plain"), ("more", "x")]),
        pairs(&[
            ("id", "2"),
            ("text", "comma, \"quote\""),
            ("more", "two\nlines"),
        ]),
        pairs(&[("text", " é€ "), ("id", "3")]),
    ]
}

#[test]
fn quotes_as_rfc_4180_says() {
    let out = to_csv(&[], &tricky());
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "id,text,more\n1,plain,x\n2,\"comma, \"\"quote\"\"\",\"two\nlines\"\n3, é€ ,\n"
    );
}

/// The README's example: the bus records to CSV, read by Python's csv module. Python reads
/// each record's values under the first record's columns (a field outside them, like some
/// buses' `actualRoute`, is left out; a missing one is an empty cell).
#[test]
fn the_bus_records_read_back_in_python_as_they_were() {
    let bus_records = |more: Vec<Command>| {
        let mut stages = vec![
            cmd("co-xml", &["examples/data/allroutes.xml"]),
            cmd("co-buses", &[]),
        ];
        stages.extend(more);
        let out = pipeline(stages, b"");
        assert!(out.all_ok(), "{:?}", out.stderrs);
        out.stdout
    };
    let csv = bus_records(vec![cmd("co-to-csv", &[])]);
    let read = "
import csv, json, sys
for row in csv.DictReader(sys.stdin):
    print(json.dumps(row))
";
    let Some(python_rows) = python(read, &csv) else {
        return;
    };
    let got: Vec<BTreeMap<String, String>> = python_rows
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let records = read_records(&bus_records(vec![]));
    let columns: Vec<&str> = records[0].iter().map(|(n, _)| n.as_str()).collect();
    let expected: Vec<BTreeMap<String, String>> = records
        .iter()
        .map(|r| {
            columns
                .iter()
                .map(|c| {
                    let v = r
                        .iter()
                        .find(|(n, _)| n == c)
                        .map_or("", |(_, v)| v.as_str());
                    ((*c).to_owned(), v.to_owned())
                })
                .collect()
        })
        .collect();
    assert!(records
        .iter()
        .any(|r| r.iter().any(|(n, _)| n == "actualRoute")));
    assert_eq!(got.len(), 1500);
    assert!(
        got == expected,
        "Python read other values than the records hold"
    );
}

#[test]
fn columns_missing_fields_tsv_and_no_header() {
    let out = to_csv(
        &["--fields", "more,id", "-d", "tab", "--no-header"],
        &tricky(),
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        "x\t1\n\"two\nlines\"\t2\n\t3\n"
    );
    let out = pipeline(
        vec![cmd("co-to-csv", &["--missing", "error"])],
        &records_stream(&tricky()),
    );
    assert_eq!(out.statuses[0].code(), Some(1));
    assert_eq!(
        out.stderrs[0],
        "co-to-csv: error: record #3 has no field \"more\" (--missing empty writes an empty cell)\n"
    );
    assert!(
        out.stdout_text().starts_with("id,text,more\n1,plain,x\n2,"),
        "rows before it are delivered"
    );
    let header_only = to_csv(&["--fields", "a,b"], &[]);
    assert_eq!(header_only.stdout, b"a,b\n");
    assert!(to_csv(&[], &[]).stdout.is_empty());
}

#[test]
fn csv_round_trips_through_records_byte_for_byte() {
    let csv = "route,id,\"name, full\"\n22,1,\"Clark \"\"&\"\" Lake\"\n36,2,\"a\nb\"\n,,\n";
    let out = pipeline(
        vec![cmd("co-from-csv", &[]), cmd("co-to-csv", &[])],
        csv.as_bytes(),
    );
    assert!(out.all_ok(), "{:?}", out.stderrs);
    assert_eq!(out.stdout_text(), csv);
    let tsv = "a\tb\n1\t2 3\n";
    let out = pipeline(
        vec![
            cmd("co-from-csv", &["-d", "tab"]),
            cmd("co-to-csv", &["-d", "tab"]),
        ],
        tsv.as_bytes(),
    );
    assert_eq!(out.stdout_text(), tsv);
}

#[test]
fn refuses_other_streams() {
    let out = run_with_input(cmd("co-to-csv", &[]), &crate::common::lines_stream("a\n"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "co-to-csv: error: co-to-csv expects records, got line events\n"
    );
}

#[test]
fn manners() {
    check_manners("co-to-csv", "records", "text");
}
