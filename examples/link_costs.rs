//! What the link's safety nets cost (issue 15, points 3 and 8), measured in one run:
//!
//! * the **CRC-32** each frame carries, computed by the writer and checked by the reader;
//! * the **20 ms flush latency**: the writer reads the coarse monotonic clock once per event.
//!
//! For small (40-byte) and large (64 KiB) line events, it times a whole link in memory
//! (`SendTo` encoding and framing, then `FrameReader` + `recv_from` decoding: a link's two
//! ends, less the pipe), then, on the same bytes and the same number of events, the checksum
//! work alone (CRC-32 over every frame's count and payload, twice: once per end) and the
//! clock reads alone. It prints each as a share of the link's CPU time. Best of `RUNS` runs
//! each, on one thread, so the shares hold on a busy machine. `just bench-links` runs it.

use std::hint::black_box;
use std::time::{Duration, Instant};

use copipe::link::frame::{checksum, FRAME_HEADER_LEN, HEADER_LEN};
use copipe::link::{recv_from, FrameReader, Lines, SendTo, DEFAULT_MAX_FRAME};
use copipe::signals::Shutdown;
use copipe::sink::Sink;

const RUNS: usize = 5;

/// A sink that only counts.
struct Count(u64);

impl Sink<str> for Count {
    fn send(&mut self, line: &str) -> copipe::Result<()> {
        black_box(line);
        self.0 += 1;
        Ok(())
    }
    fn flush(&mut self) -> copipe::Result<()> {
        Ok(())
    }
    fn close(&mut self) -> copipe::Result<()> {
        Ok(())
    }
}

/// The shortest of `RUNS` timings of `f`.
fn best(mut f: impl FnMut()) -> Duration {
    (0..RUNS)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .min()
        .expect("RUNS > 0")
}

/// A whole stream of `lines`, as co-lines writes it.
fn encode(lines: &[String]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut out = SendTo::<Lines, _>::new(&mut wire, "bench");
    for line in lines {
        out.send(line.as_str()).expect("encoding to memory");
    }
    out.close().expect("closing in memory");
    drop(out);
    wire
}

/// The (event count, payload) of every frame of `wire`.
fn frames(wire: &[u8]) -> Vec<(u32, &[u8])> {
    let word = |at: usize| u32::from_le_bytes(wire[at..at + 4].try_into().expect("4 bytes"));
    let mut at = HEADER_LEN;
    let mut found = Vec::new();
    loop {
        let (len, events) = (word(at) as usize, word(at + 4));
        if len == 0 {
            return found;
        }
        let start = at + FRAME_HEADER_LEN;
        found.push((events, &wire[start..start + len]));
        at = start + len;
    }
}

/// Measures one size of line and prints its row.
fn measure(label: &str, lines: &[String]) {
    let wire = encode(lines);
    let link = best(|| {
        let wire = encode(black_box(lines));
        let mut reader = FrameReader::open(&wire[..], "bench", DEFAULT_MAX_FRAME).expect("header");
        let mut count = Count(0);
        recv_from::<Lines, _, _>(&mut reader, "bench", &mut count, &Shutdown::never())
            .expect("decoding");
        assert_eq!(count.0, lines.len() as u64);
    });
    let frames = frames(&wire);
    let crc = best(|| {
        for _end in 0..2 {
            for &(events, payload) in &frames {
                black_box(checksum(events, black_box(payload)));
            }
        }
    });
    let clock = best(|| {
        for _ in 0..lines.len() {
            let mut ts = libc::timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            // SAFETY: a valid out-pointer (the writer's coarse_ms makes this same call).
            unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &raw mut ts) };
            black_box(ts);
        }
    });
    let share = |d: Duration| 100.0 * d.as_secs_f64() / link.as_secs_f64();
    let mb = wire.len() as f64 / 1e6;
    println!(
        "{label:<6} {:>9} events {mb:>7.1} MB  link {:>8.1} ms ({:>6.0} MB/s)  \
         crc32 {:>6.1} ms = {:>4.1}% of the link  clock {:>5.1} ms = {:>4.1}%",
        lines.len(),
        link.as_secs_f64() * 1e3,
        mb / link.as_secs_f64(),
        crc.as_secs_f64() * 1e3,
        share(crc),
        clock.as_secs_f64() * 1e3,
        share(clock),
    );
}

fn main() {
    println!("a link's two ends in memory (encode+frame, read+check+decode), best of {RUNS}:");
    let small: Vec<String> = (0..2_000_000)
        .map(|i| format!("{i:012} python coroutine pipes, in rust")[..39].to_owned())
        .collect();
    measure("small", &small);
    let large: Vec<String> = (0..1_500).map(|i| format!("{i:065535}")).collect();
    measure("large", &large);
}
