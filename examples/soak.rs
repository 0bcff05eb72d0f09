//! `just soak [INPUTS] [SEED]`: mutation fuzzing of every frame-reading stage (issue 15).
//!
//! Valid streams of every kind are mutated (bit flips, interesting bytes and lengths,
//! truncation, deletion, insertion, duplication, splices of two streams, stacked) and fed to
//! the logic of every stage that reads frames, in process: co-grep, co-printer, co-dump (text
//! and JSON), co-chaos (a pass-through), co-broadcast and co-merge (whole-frame copies),
//! co-buses, co-filter, co-bus-locations. For each input it counts:
//!
//! * a **panic** (caught; there should be none),
//! * a **hang** (a watchdog ends the run and saves the input if one takes over 10 s),
//! * a **wrong accept**: the stage finished without an error but produced other output than
//!   the stream the mutant came from, and the mutant is not simply made of whole genuine
//!   frames (a frame duplicated, dropped or a stream appended: those are valid streams that
//!   no per-frame check can refuse, and are counted apart as "re-framed").
//!
//! It runs in release (`cargo run --release --example soak -- 10000000`); it is not part of
//! `cargo test`.

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use copipe::link::frame::{FrameReader, FrameWriter, FRAME_HEADER_LEN, HEADER_LEN};
use copipe::link::{self, Lines, Records, SendTo, Xml};
use copipe::signals::Shutdown;
use copipe::sink::Sink;
use copipe::stages::bus_locations::BusLocations;
use copipe::stages::buses::BusesToDicts;
use copipe::stages::dump::Dump;
use copipe::stages::filter::FilterOnField;
use copipe::stages::grep::Grep;
use copipe::stages::printer::Printer;
use copipe::EventKind;

const MAX_FRAME: usize = 1 << 20;

fn never() -> Shutdown {
    Shutdown::never()
}

/// The frame-reading stages, by the binary whose logic they run.
const STAGES: [&str; 9] = [
    "co-grep",
    "co-printer",
    "co-dump",
    "co-dump --json",
    "co-chaos",
    "co-broadcast/co-merge",
    "co-buses",
    "co-filter",
    "co-bus-locations",
];

/// Runs stage `i` on `bytes`: its output, or the error it stopped with.
fn run_stage(i: usize, bytes: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    let result = (|| {
        let mut r = FrameReader::open(bytes, "soak", MAX_FRAME)?;
        match i {
            0 => link::recv_from::<Lines, _, _>(
                &mut r,
                "co-grep",
                &mut Grep::new("python", Printer::new(&mut out)),
                &never(),
            ),
            1 => link::recv_any(&mut r, "co-printer", &mut Printer::new(&mut out), &never()),
            2 | 3 => link::recv_any(
                &mut r,
                "co-dump",
                &mut Dump::new(&mut out, i == 3),
                &never(),
            ),
            4 => pass_through(&mut r, &mut out),
            5 => copy_frames(&mut r, &mut out),
            6 => link::recv_from::<Xml, _, _>(
                &mut r,
                "co-buses",
                &mut BusesToDicts::new(Printer::new(&mut out)),
                &never(),
            ),
            7 => link::recv_from::<Records, _, _>(
                &mut r,
                "co-filter",
                &mut FilterOnField::new("route", "22", Printer::new(&mut out)),
                &never(),
            ),
            _ => link::recv_from::<Records, _, _>(
                &mut r,
                "co-bus-locations",
                &mut BusLocations::new(&mut out).skip_incomplete(true),
                &never(),
            ),
        }
    })();
    result.map(|()| out).map_err(|e| e.to_string())
}

/// co-chaos without a fault: decode and re-encode every event.
fn pass_through(r: &mut FrameReader<&[u8]>, out: &mut Vec<u8>) -> copipe::Result<()> {
    let w = FrameWriter::new(out, r.kind(), "out");
    match r.kind() {
        EventKind::Lines => link::recv_from::<Lines, _, _>(
            r,
            "co-chaos",
            &mut SendTo::<Lines, _>::from_writer(w),
            &never(),
        ),
        EventKind::Xml => link::recv_from::<Xml, _, _>(
            r,
            "co-chaos",
            &mut SendTo::<Xml, _>::from_writer(w),
            &never(),
        ),
        EventKind::Records => link::recv_from::<Records, _, _>(
            r,
            "co-chaos",
            &mut SendTo::<Records, _>::from_writer(w),
            &never(),
        ),
    }
}

/// co-broadcast and co-merge: whole frames copied, never decoded.
fn copy_frames(r: &mut FrameReader<&[u8]>, out: &mut Vec<u8>) -> copipe::Result<()> {
    let mut w = FrameWriter::new(out, r.kind(), "out");
    while let Some(frame) = r.next_frame()? {
        w.write_frame(frame.events, frame.payload)?;
    }
    w.close()
}

fn lines_stream(lines: &[&str]) -> Vec<u8> {
    let mut w = SendTo::<Lines, _>::new(Vec::new(), "seed");
    for l in lines {
        w.send(*l).unwrap();
    }
    Sink::<str>::close(&mut w).unwrap();
    w.into_writer().into_inner()
}

const BUSES: &str = r#"<?xml version="1.0"?>
<buses>
<bus><id>7574</id><route>22</route><direction>North Bound</direction><latitude>41.87</latitude><longitude>-87.62</longitude></bus>
<bus id="x &amp; y"><id>7575</id><route>36</route><direction>South Bound</direction><latitude>41.9</latitude><longitude>-87.6</longitude></bus>
<bus><id>7576</id><route>22</route><direction>North Bound</direction></bus>
</buses>
"#;

/// Valid streams of every kind: the inputs the mutants start from.
fn seeds() -> Vec<Vec<u8>> {
    let mut seeds = vec![
        lines_stream(&["python is here", "not this one", "", "é ü python ☃"]),
        lines_stream(&[]),
        lines_stream(&["a"; 300]),
    ];
    let long = "python ".repeat(6000);
    seeds.push(lines_stream(&[&long, "tail python", &long[..100]]));
    let mut xml = SendTo::<Xml, _>::new(Vec::new(), "seed");
    copipe::stages::xml::xml_events(BUSES.as_bytes(), &mut xml).unwrap();
    seeds.push(xml.into_writer().into_inner());
    let mut records = SendTo::<Records, _>::new(Vec::new(), "seed");
    {
        let mut buses = BusesToDicts::new(&mut records);
        copipe::stages::xml::xml_events(BUSES.as_bytes(), &mut buses).unwrap();
    }
    seeds.push(records.into_writer().into_inner());
    let two = [seeds[0].as_slice(), seeds[2].as_slice()].concat();
    seeds.push(two);
    seeds
}

/// Every frame (header and payload) of a well-formed stream, to tell a re-framed mutant.
fn frames_of(stream: &[u8], into: &mut std::collections::HashSet<Vec<u8>>) {
    let mut at = HEADER_LEN;
    while at + FRAME_HEADER_LEN <= stream.len() {
        let len = u32::from_le_bytes(stream[at..at + 4].try_into().unwrap()) as usize;
        let end = at + FRAME_HEADER_LEN + len;
        if len == 0 {
            at = end + HEADER_LEN;
            continue;
        }
        into.insert(stream[at..end].to_vec());
        at = end;
    }
}

/// True when `bytes` parses as headers and frames that all occur in the seeds.
fn only_genuine_frames(bytes: &[u8], genuine: &std::collections::HashSet<Vec<u8>>) -> bool {
    let mut at = HEADER_LEN;
    while at + FRAME_HEADER_LEN <= bytes.len() {
        let len = u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        let end = at + FRAME_HEADER_LEN + len;
        if len == 0 {
            at = end + HEADER_LEN;
            continue;
        }
        if end > bytes.len() || !genuine.contains(&bytes[at..end]) {
            return false;
        }
        at = end;
    }
    true
}

const INTERESTING: [u32; 9] = [0, 1, 2, 0x7f, 0x80, 0xff, 0xffff, 1 << 30, u32::MAX];

/// One random change to `b`; `other` is another seed, for splices.
fn mutate_once(rng: &mut fastrand::Rng, b: &mut Vec<u8>, other: &[u8]) {
    let n = b.len().max(1);
    match rng.u8(0..8) {
        0 if !b.is_empty() => {
            let i = rng.usize(0..b.len());
            b[i] ^= 1 << rng.u8(0..8);
        }
        1 if !b.is_empty() => {
            let i = rng.usize(0..b.len());
            b[i] = INTERESTING[rng.usize(0..INTERESTING.len())] as u8 ^ rng.u8(0..2);
        }
        2 if b.len() >= 4 => {
            let i = rng.usize(0..=b.len() - 4);
            let v = INTERESTING[rng.usize(0..INTERESTING.len())];
            b[i..i + 4].copy_from_slice(&v.to_le_bytes());
        }
        3 => b.truncate(rng.usize(0..n)),
        4 if !b.is_empty() => {
            let i = rng.usize(0..b.len());
            let j = (i + rng.usize(1..=16.min(n))).min(b.len());
            b.drain(i..j);
        }
        5 => {
            let i = rng.usize(0..=b.len());
            let extra: Vec<u8> = (0..rng.usize(1..9)).map(|_| rng.u8(..)).collect();
            b.splice(i..i, extra);
        }
        6 if !b.is_empty() => {
            let i = rng.usize(0..b.len());
            let j = (i + rng.usize(1..=64.min(n))).min(b.len());
            let chunk = b[i..j].to_vec();
            let k = rng.usize(0..=b.len());
            b.splice(k..k, chunk);
        }
        _ => {
            let cut = rng.usize(0..=b.len());
            let from = rng.usize(0..=other.len());
            b.truncate(cut);
            b.extend_from_slice(&other[from..]);
        }
    }
}

#[derive(Default)]
struct Tally {
    runs: u64,
    rejected: u64,
    accepted_same: u64,
    reframed: u64,
    wrong: u64,
    panics: u64,
}

fn main() {
    let mut args = std::env::args().skip(1);
    let inputs: u64 = args
        .next()
        .map_or(1_000_000, |a| a.parse().expect("INPUTS"));
    let seed: u64 = args.next().map_or(1, |a| a.parse().expect("SEED"));
    let seeds = seeds();
    let expected: Vec<Vec<Result<Vec<u8>, String>>> = seeds
        .iter()
        .map(|s| (0..STAGES.len()).map(|i| run_stage(i, s)).collect())
        .collect();
    let mut genuine = std::collections::HashSet::new();
    for s in &seeds {
        frames_of(s, &mut genuine);
    }
    panic::set_hook(Box::new(|_| {}));
    let done = Arc::new(AtomicU64::new(0));
    let current = Arc::new(std::sync::Mutex::new(Vec::<u8>::new()));
    watchdog(Arc::clone(&done), Arc::clone(&current));

    let mut rng = fastrand::Rng::with_seed(seed);
    let mut t = Tally::default();
    let start = Instant::now();
    for n in 0..inputs {
        let from = rng.usize(0..seeds.len());
        let mut bytes = seeds[from].clone();
        for _ in 0..rng.usize(1..4) {
            let other = &seeds[rng.usize(0..seeds.len())];
            mutate_once(&mut rng, &mut bytes, other);
        }
        if n % 4096 == 0 {
            current.lock().unwrap().clone_from(&bytes);
        }
        for stage in 0..STAGES.len() {
            t.runs += 1;
            match panic::catch_unwind(AssertUnwindSafe(|| run_stage(stage, &bytes))) {
                Err(_) => {
                    t.panics += 1;
                    eprintln!(
                        "PANIC in {} on {:?}",
                        STAGES[stage],
                        bytes.escape_ascii().to_string()
                    );
                }
                Ok(Err(_)) => t.rejected += 1,
                Ok(Ok(out)) => match &expected[from][stage] {
                    Ok(want) if *want == out => t.accepted_same += 1,
                    _ if only_genuine_frames(&bytes, &genuine) => t.reframed += 1,
                    _ => {
                        t.wrong += 1;
                        if t.wrong <= 5 {
                            eprintln!(
                                "WRONG ACCEPT by {} of {:?}",
                                STAGES[stage],
                                bytes.escape_ascii().to_string()
                            );
                        }
                    }
                },
            }
        }
        done.store(n + 1, Ordering::Relaxed);
        if (n + 1) % 1_000_000 == 0 {
            report(n + 1, &t, start.elapsed());
        }
    }
    report(inputs, &t, start.elapsed());
    std::process::exit(i32::from(t.panics > 0 || t.wrong > 0));
}

fn report(inputs: u64, t: &Tally, elapsed: Duration) {
    println!(
        "inputs tried: {inputs}  stage runs: {}  rejected with an error: {}  accepted unchanged: {}  \
         accepted re-framed (whole genuine frames): {}  panics: {}  hangs: 0  wrong accepts: {}  ({:.0} s, {:.0} inputs/s)",
        t.runs,
        t.rejected,
        t.accepted_same,
        t.reframed,
        t.panics,
        t.wrong,
        elapsed.as_secs_f64(),
        inputs as f64 / elapsed.as_secs_f64()
    );
}

/// Ends the run if one input takes over 10 s (a hang), saving a recent input.
fn watchdog(done: Arc<AtomicU64>, current: Arc<std::sync::Mutex<Vec<u8>>>) {
    std::thread::spawn(move || {
        let mut last = u64::MAX;
        loop {
            std::thread::sleep(Duration::from_secs(10));
            let now = done.load(Ordering::Relaxed);
            if now == last {
                let path = std::env::temp_dir().join("copipe-soak-hang.bin");
                let _ = std::fs::write(&path, &*current.lock().unwrap());
                println!(
                    "HANG: input {} ran over 10 s (a recent input saved to {})",
                    now + 1,
                    path.display()
                );
                println!("hangs: 1");
                std::process::exit(2);
            }
            last = now;
        }
    });
}
