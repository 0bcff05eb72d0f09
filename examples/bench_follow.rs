//! Latency of a live pipeline: how long a line appended to a file takes to come out of
//! `co-follow FILE | co-grep x | co-printer`.
//!
//! For each of `--samples` appends: note the time, append a line, and wait until the
//! printer prints it; report min, median, p99 and max in milliseconds. It runs twice: with
//! inotify (co-follow's default) and with `--poll-ms 100`, the seed's `time.sleep(0.1)`.
//! Between samples it pauses a varying 0-49 ms, so appends land at every phase of a poll.
//!
//! Run: `benches/follow/run.sh` (or `just bench-follow`), which builds in release mode.
//! The stage binaries are looked up next to this program's directory (`target/release`).

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;

/// Measure append-to-printer latency through co-follow | co-grep x | co-printer.
#[derive(Parser)]
struct Args {
    /// Appends measured per mode.
    #[arg(long, default_value_t = 200)]
    samples: usize,
    /// Directory holding co-follow, co-grep and co-printer (default: beside this program).
    #[arg(long)]
    bin_dir: Option<PathBuf>,
}

struct Stats {
    min: f64,
    median: f64,
    p99: f64,
    max: f64,
}

fn stats(mut ms: Vec<f64>) -> Stats {
    ms.sort_by(f64::total_cmp);
    let at = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    Stats {
        min: ms[0],
        median: at(0.5),
        p99: at(0.99),
        max: ms[ms.len() - 1],
    }
}

fn spawn(bin_dir: &Path, name: &str, args: &[&str], stdin: Stdio) -> Child {
    Command::new(bin_dir.join(name))
        .args(args)
        .stdin(stdin)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {name} from {}: {e}", bin_dir.display()))
}

fn append(log: &Path, line: &str) {
    let mut f = OpenOptions::new().append(true).open(log).expect("open log");
    writeln!(f, "{line}").expect("append");
}

/// Measures one mode; `follow_args` are co-follow's options.
fn measure(bin_dir: &Path, follow_args: &[&str], samples: usize) -> Vec<f64> {
    let dir = tempfile::tempdir().expect("temp dir");
    let log = dir.path().join("access-log");
    File::create(&log).expect("create log");
    let log_arg = log.to_str().expect("utf-8 path");

    let mut args = follow_args.to_vec();
    args.push(log_arg);
    let mut follow = spawn(bin_dir, "co-follow", &args, Stdio::null());
    let mut grep = spawn(
        bin_dir,
        "co-grep",
        &["x"],
        follow.stdout.take().unwrap().into(),
    );
    let mut printer = spawn(
        bin_dir,
        "co-printer",
        &[],
        grep.stdout.take().unwrap().into(),
    );

    let (tx, rx) = mpsc::channel::<(Instant, String)>();
    let out = printer.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });

    // Until co-follow has opened the file, appends go unseen (it starts at the end): append
    // a warm-up line until one comes through.
    loop {
        append(&log, "x warm-up");
        if rx.recv_timeout(Duration::from_millis(300)).is_ok() {
            break;
        }
    }
    while rx.recv_timeout(Duration::from_millis(300)).is_ok() {}

    let mut latencies = Vec::with_capacity(samples);
    for i in 0..samples {
        std::thread::sleep(Duration::from_millis((i as u64 * 37) % 50));
        let line = format!("x sample {i}");
        let start = Instant::now();
        append(&log, &line);
        let (arrived, got) = rx
            .recv_timeout(Duration::from_secs(10))
            .expect("a line did not arrive within 10 s");
        assert_eq!(got, line, "lines out of order");
        latencies.push(arrived.duration_since(start).as_secs_f64() * 1e3);
    }

    // SAFETY: kill(2) on our own child's pid.
    unsafe { libc::kill(follow.id() as libc::pid_t, libc::SIGINT) };
    for child in [&mut follow, &mut grep, &mut printer] {
        let status = child.wait().expect("wait");
        assert!(status.success(), "a stage failed: {status:?}");
    }
    reader.join().expect("reader thread");
    latencies
}

fn main() {
    let args = Args::parse();
    let bin_dir = args.bin_dir.unwrap_or_else(|| {
        let exe = std::env::current_exe().expect("current exe");
        exe.parent()
            .and_then(Path::parent)
            .expect("target dir")
            .to_owned()
    });
    println!(
        "append -> co-follow FILE | co-grep x | co-printer: {} samples per mode, ms",
        args.samples
    );
    println!(
        "{:<16}{:>9}{:>9}{:>9}{:>9}",
        "mode", "min", "median", "p99", "max"
    );
    let mut medians = Vec::new();
    for (mode, follow_args) in [
        ("inotify", &[][..]),
        ("poll 100 ms", &["--poll-ms", "100"][..]),
    ] {
        let s = stats(measure(&bin_dir, follow_args, args.samples));
        println!(
            "{mode:<16}{:>9.3}{:>9.3}{:>9.3}{:>9.3}",
            s.min, s.median, s.p99, s.max
        );
        medians.push(s.median);
    }
    println!(
        "median latency, polling / inotify: {:.0}x",
        medians[1] / medians[0]
    );
}
