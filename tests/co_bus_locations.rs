//! co-bus-locations: the seed's output format, its errors, and a downstream that leaves.

use crate::common;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use crate::common::Bounded;
use crate::common::{cmd, pipeline, Reaper, DEADLINE};

fn locations(doc: &str, args: &[&str]) -> common::PipelineOutput {
    pipeline(
        vec![
            cmd("co-xml", &[]),
            cmd("co-buses", &[]),
            cmd("co-bus-locations", args),
        ],
        doc.as_bytes(),
    )
}

#[test]
fn prints_route_id_direction_latitude_longitude() {
    let out = locations(
        "<buses><bus><id>1485</id><route>22</route><direction>North Bound</direction>\
         <latitude>41.880481123924255</latitude><longitude>-87.62948191165924</longitude>\
         <extra>ignored</extra></bus></buses>",
        &[],
    );
    assert!(out.all_ok(), "{:?}", out.stderrs);
    assert_eq!(
        out.stdout_text(),
        "22,1485,\"North Bound\",41.880481123924255,-87.62948191165924\n"
    );
}

const INCOMPLETE: &str = "<buses>\
    <bus><id>1</id><route>22</route><direction>N</direction><latitude>1</latitude><longitude>2</longitude></bus>\
    <bus><id>2</id><route>22</route><direction>N</direction><latitude>1</latitude></bus>\
    <bus><route>22</route></bus>\
    <bus><id>4</id><route>8</route><direction>S</direction><latitude>3</latitude><longitude>4</longitude></bus>\
    </buses>";

#[test]
fn a_missing_field_is_an_error_naming_the_field_and_the_bus() {
    let out = locations(INCOMPLETE, &[]);
    assert_eq!(out.statuses[2].code(), Some(1));
    assert_eq!(
        out.stderrs[2].trim_end(),
        "co-bus-locations: error: record for bus id \"2\" has no field \"longitude\" (--skip-incomplete drops such records)"
    );
    // What came before the bad record was printed, as the seed prints before its KeyError.
    assert_eq!(out.stdout_text(), "22,1,\"N\",1,2\n");
}

#[test]
fn skip_incomplete_drops_and_counts() {
    let out = locations(INCOMPLETE, &["--skip-incomplete"]);
    assert!(out.all_ok(), "{:?}", out.stderrs);
    assert_eq!(out.stdout_text(), "22,1,\"N\",1,2\n8,4,\"S\",3,4\n");
    assert_eq!(
        out.stderrs[2].trim_end(),
        "co-bus-locations: skipped 2 incomplete records"
    );
}

#[test]
fn a_downstream_that_leaves_early_ends_the_pipeline_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("big.xml");
    let gen = cmd(
        "co-gen-buses",
        &[
            "--buses",
            "30000",
            "--seed",
            "5",
            "--output",
            file.to_str().unwrap(),
        ],
    )
    .bounded();
    assert!(gen.status.success());
    // co-xml FILE | co-buses | co-bus-locations, reading one line and closing the pipe:
    // about 2 MB of output cannot fit in the pipe, so every stage meets the closed pipe.
    let mut reaper = Reaper(Vec::new());
    let mut xml = cmd("co-xml", &[file.to_str().unwrap()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let xml_out = xml.stdout.take().unwrap();
    reaper.0.push(xml);
    let mut buses = cmd("co-buses", &[])
        .stdin(xml_out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let buses_out = buses.stdout.take().unwrap();
    reaper.0.push(buses);
    let mut printer = cmd("co-bus-locations", &[])
        .stdin(buses_out)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(printer.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    reaper.0.push(printer);
    assert!(
        first.ends_with('\n') && first.split(',').count() == 5,
        "{first:?}"
    );
    // The read end is dropped: wait for all three to exit, then check they did so quietly.
    let mut statuses = vec![None, None, None];
    let all_exited = common::wait_until(DEADLINE, || {
        for (child, status) in reaper.0.iter_mut().zip(statuses.iter_mut()) {
            if status.is_none() {
                *status = child.try_wait().unwrap();
            }
        }
        statuses.iter().all(Option::is_some)
    });
    assert!(all_exited, "stages still running: {statuses:?}");
    for (child, status) in reaper.0.iter_mut().zip(&statuses) {
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        assert!(status.unwrap().success(), "{status:?}: {err}");
        assert!(err.is_empty(), "{err}");
    }
}
