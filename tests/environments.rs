//! The seed's Part 3: the same stage code gives the same result inline, in a thread
//! (`threaded`), and across a process boundary (`sendto`/`recvfrom`), here over an OS pipe
//! inside this process and through the real binaries.

use std::sync::{Arc, Mutex};

use crate::common::{cmd, pipeline, sample_text};
use copipe::link::{recv_from, FrameReader, Lines, SendTo};
use copipe::signals::Shutdown;
use copipe::sink::{collect, sink_fn, Sink, Threaded};
use copipe::stages::grep::Grep;
use copipe::stages::printer::Printer;

fn input() -> String {
    sample_text(50_000, 11)
}

/// follow → grep → printer, all inline.
fn inline(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let mut pipe = Grep::new("python", Printer::new(&mut out));
    for line in text.lines() {
        pipe.send(line).unwrap();
    }
    pipe.close().unwrap();
    out
}

/// grep → printer in a worker thread behind `Threaded`.
fn threaded(text: &str) -> Vec<u8> {
    let shared = Arc::new(Mutex::new(Vec::new()));
    let out = Arc::clone(&shared);
    let printer = sink_fn(move |line: &str| {
        let mut o = out.lock().unwrap();
        o.extend_from_slice(line.as_bytes());
        o.push(b'\n');
        Ok(())
    });
    let mut pipe: Threaded<String> = Threaded::new(Grep::new("python", printer));
    for line in text.lines() {
        pipe.send(line).unwrap();
    }
    pipe.close().unwrap();
    let out = shared.lock().unwrap().clone();
    out
}

/// `sendto` into an OS pipe, `recvfrom` on a thread into grep → printer.
fn over_a_pipe(text: &str) -> Vec<u8> {
    let (reader, writer) = std::io::pipe().unwrap();
    let receiver = std::thread::spawn(move || {
        let mut out = Vec::new();
        let mut input = FrameReader::open(reader, "pipe", 1 << 20).unwrap();
        let mut pipe = Grep::new("python", Printer::new(&mut out));
        recv_from::<Lines, _, _>(&mut input, "test", &mut pipe, &Shutdown::never()).unwrap();
        out
    });
    let mut sendto = SendTo::<Lines, _>::new(writer, "pipe");
    for line in text.lines() {
        sendto.send(line).unwrap();
    }
    sendto.close().unwrap();
    drop(sendto);
    crate::common::join_by(receiver, "the receiving thread")
}

/// The real binaries: co-lines | co-grep | co-printer.
fn processes(text: &str) -> Vec<u8> {
    let out = pipeline(
        vec![
            cmd("co-lines", &[]),
            cmd("co-grep", &["python"]),
            cmd("co-printer", &[]),
        ],
        text.as_bytes(),
    );
    assert!(out.all_ok(), "{:?}", out.stderrs);
    out.stdout
}

#[test]
fn inline_threaded_and_processes_agree() {
    let text = input();
    let a = inline(&text);
    assert!(a.len() > 10_000, "the filter passes a good share");
    assert!(a == threaded(&text), "threaded differs from inline");
    assert!(
        a == over_a_pipe(&text),
        "sendto/recvfrom differs from inline"
    );
    assert!(a == processes(&text), "processes differ from inline");
}

#[test]
fn collect_keeps_owned_copies() {
    let mut found: Vec<String> = Vec::new();
    let mut g = Grep::new("b", collect(&mut found));
    for l in ["abc", "xyz", "bbb"] {
        g.send(l).unwrap();
    }
    g.close().unwrap();
    assert_eq!(found, ["abc", "bbb"]);
}

#[test]
fn a_failing_threaded_stage_reports_its_error_on_close() {
    let failing = sink_fn(|line: &str| {
        if line == "boom" {
            Err(copipe::Error::Other("stage refused boom".into()))
        } else {
            Ok(())
        }
    });
    let mut t: Threaded<String> = Threaded::new(failing);
    // The error surfaces either on a later send (queue closed) or on close.
    let mut result = Ok(());
    for l in ["a", "boom", "b", "c"] {
        result = result.and_then(|()| t.send(l));
    }
    let result = result.and_then(|()| t.close());
    let e = result.unwrap_err();
    assert_eq!(e.to_string(), "stage refused boom");
}

/// Records of varying shapes through `Threaded`, whose recycled slots must never leak a field
/// or a value from an earlier record into a later one.
#[test]
fn threaded_records_arrive_intact_through_recycled_slots() {
    use copipe::Record;
    let records: Vec<Record<'static>> = (0..3000)
        .map(|i| {
            let mut r = Record::new();
            for f in 0..(i % 7) {
                r.set(format!("f{f}"), "v".repeat((i * 31 + f) % 13));
            }
            r
        })
        .collect();
    let got = Arc::new(Mutex::new(Vec::new()));
    let sink_got = Arc::clone(&got);
    let keep = sink_fn(move |r: &Record<'static>| {
        sink_got.lock().unwrap().push(r.clone());
        Ok(())
    });
    let mut t = Threaded::<Record<'static>>::new(keep);
    for (i, r) in records.iter().enumerate() {
        t.send(r).unwrap();
        if i % 1000 == 999 {
            t.flush().unwrap();
        }
    }
    t.close().unwrap();
    assert!(*got.lock().unwrap() == records);
}
