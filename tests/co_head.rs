//! co-head: the first N events of any stream, and a quiet stop upstream.

use std::io::{Read, Write};
use std::process::Stdio;

use crate::common::records::{check_manners, dump_json, pairs, read_records, records_stream};
use crate::common::{
    cmd, lines_stream, pipeline, run_with_input, sample_text, wait_until, Bounded, Reaper, DEADLINE,
};

#[test]
fn passes_the_first_n_events_of_each_kind() {
    let lines = lines_stream("a\nb\nc\nd\n");
    let out = run_with_input(cmd("co-head", &["2"]), &lines);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(
        dump_json(&out.stdout),
        "{\"line\":\"a\"}\n{\"line\":\"b\"}\n"
    );

    let records: Vec<_> = (0..5000).map(|i| pairs(&[("i", &i.to_string())])).collect();
    let stream = records_stream(&records);
    for n in [0, 1, 1234, 5000, 9999] {
        let out = run_with_input(cmd("co-head", &[&n.to_string()]), &stream);
        assert!(out.status.success());
        assert_eq!(
            read_records(&out.stdout),
            records[..n.min(5000)],
            "co-head {n}"
        );
    }

    let xml = run_with_input(cmd("co-xml", &[]), b"<a><b>x</b></a>").stdout;
    let out = run_with_input(cmd("co-head", &["3"]), &xml);
    assert_eq!(dump_json(&out.stdout).lines().count(), 3);
}

#[test]
fn the_upstream_stops_quietly_like_a_producer_piped_into_head() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big");
    std::fs::write(&path, sample_text(300_000, 5)).unwrap();
    let out = pipeline(
        vec![
            cmd("co-lines", &[path.to_str().unwrap()]),
            cmd("co-grep", &["python"]),
            cmd("co-head", &["3"]),
            cmd("co-printer", &[]),
        ],
        b"",
    );
    assert!(out.all_ok(), "{:?} {:?}", out.statuses, out.stderrs);
    assert!(
        out.stderrs.iter().all(String::is_empty),
        "{:?}",
        out.stderrs
    );
    assert_eq!(out.stdout_text().lines().count(), 3);
}

/// co-head ends its stream once it has N events, even though its input is still open, and
/// the live upstream then stops quietly at its next write.
#[test]
fn ends_without_waiting_for_a_live_input_to_close() {
    let mut reaper = Reaper(Vec::new());
    let spawn = |mut c: std::process::Command, stdin: Stdio| {
        c.stdin(stdin).stdout(Stdio::piped()).stderr(Stdio::piped());
        c.spawn().unwrap() // the Command, and the pipe ends it held, are dropped here
    };
    reaper
        .0
        .push(spawn(cmd("co-from-json", &[]), Stdio::piped()));
    let source_out = Stdio::from(reaper.0[0].stdout.take().unwrap());
    reaper.0.push(spawn(cmd("co-head", &["2"]), source_out));
    let head_out = Stdio::from(reaper.0[1].stdout.take().unwrap());
    reaper.0.push(spawn(cmd("co-dump", &["--json"]), head_out));

    let mut feed = reaper.0[0].stdin.take().unwrap();
    feed.write_all(b"{\"n\":\"1\"}\n{\"n\":\"2\"}\n{\"n\":\"3\"}\n")
        .unwrap();
    feed.flush().unwrap();
    let head = &mut reaper.0[1];
    assert!(
        wait_until(DEADLINE, || head.try_wait().unwrap().is_some()),
        "co-head ends on its own while its input stays open"
    );
    assert!(head.wait().unwrap().success());
    let mut shown = String::new();
    reaper.0[2]
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut shown)
        .unwrap();
    assert_eq!(shown, "{\"n\":\"1\"}\n{\"n\":\"2\"}\n");
    // The source's next line goes to a closed pipe: it stops quietly, exit 0.
    let _ = feed.write_all(b"{\"n\":\"4\"}\n");
    let _ = feed.flush();
    let source = &mut reaper.0[0];
    assert!(
        wait_until(DEADLINE, || source.try_wait().unwrap().is_some()),
        "the source stops once its output is gone"
    );
    assert!(source.wait().unwrap().success());
    let mut err = String::new();
    source
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    assert_eq!(err, "");
}

#[test]
fn manners() {
    check_manners("co-head", "any", "any");
    let out = cmd("co-head", &["-3"]).bounded();
    assert_eq!(out.status.code(), Some(2));
}
