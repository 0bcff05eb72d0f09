//! The seed's programs, as `examples/`: each one runs and prints what the seed shows.
//!
//! The examples are built once, by a nested `cargo build --example ...` on the same target
//! directory and profile as this test (cargo does not hold its build lock while tests run),
//! and run from `target/<profile>/examples/`. Where the seed prints results (countdown,
//! coroutine, corecv), the output must match its transcript, prompt lines included. The
//! examples that follow a log never end by themselves: they are run on a copy of
//! `examples/data/access-log`, made to append lines while they follow it, stopped with
//! SIGINT, and their output must be exactly what `tail -f | grep` would print.

use crate::common;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use crate::common::{wait_until, Reaper, DEADLINE};

/// The examples this test runs (the seed's Parts 0 and 1).
const EXAMPLES: [&str; 8] = [
    "countdown",
    "coroutine",
    "corecv",
    "follow",
    "pipeline",
    "cofollow",
    "copipeline",
    "cobroadcast",
];

/// `target/<profile>/examples/NAME`, built on first use.
fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let dir = BUILT.get_or_init(|| {
        let bin_dir = common::bin("co-grep").parent().unwrap().to_owned();
        let profile = bin_dir.file_name().unwrap().to_str().unwrap().to_owned();
        let mut build = Command::new(env!("CARGO"));
        build
            .args(["build", "--quiet", "--manifest-path"])
            .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.toml"))
            .env("CARGO_TARGET_DIR", bin_dir.parent().unwrap());
        match profile.as_str() {
            "debug" => {}
            "release" => {
                build.arg("--release");
            }
            other => {
                build.args(["--profile", other]);
            }
        }
        for e in EXAMPLES {
            build.args(["--example", e]);
        }
        let status = build.status().expect("run cargo build");
        assert!(status.success(), "building the examples failed");
        bin_dir.join("examples")
    });
    dir.join(name)
}

fn run_example(name: &str) -> String {
    let out = Command::new(example(name)).output().expect("run example");
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The seed's session: `for i in countdown(5)`, `x.next()` down to `StopIteration`, and the
/// countdown that receives `send(3)` (5 2 1 0).
#[test]
fn countdown_prints_the_seed_session() {
    let mut expected = String::from(
        ">>> for i in countdown(5): print i,\n\
         Counting down from 5\n\
         5 4 3 2 1\n\
         >>> x = countdown(10)\n\
         >>> x\n\
         Countdown { n: 10, started: false }\n\
         >>> x.next()\n\
         Counting down from 10\n\
         10\n",
    );
    for n in (1..=9).rev() {
        expected.push_str(&format!(">>> x.next()\n{n}\n"));
    }
    expected.push_str(
        ">>> x.next()\n\
         None (Python raises StopIteration here)\n\
         >>> c = countdown(5)  # the holy grail countdown\n\
         >>> for x in c: print x; if x == 5: c.send(3)\n\
         Counting down from 5\n\
         5\n2\n1\n0\n",
    );
    assert_eq!(run_example("countdown"), expected);
}

#[test]
fn coroutine_needs_no_priming() {
    assert_eq!(
        run_example("coroutine"),
        "Looking for python\npython generators rock!\n"
    );
}

/// The seed's `corecv` session: priming message, the one matching line, the goodbye on
/// close, and the thrown error coming back out.
#[test]
fn corecv_prints_the_seed_session() {
    let expected = "\
>>> g = grep(\"python\")
Looking for python
>>> g.send(\"Yeah, but no, but yeah, but no\")
>>> g.send(\"A series of tubes\")
>>> g.send(\"python generators rock!\")
python generators rock!
>>> g.close()
Going away. Goodbye
>>> g = grep(\"python\")
Looking for python
>>> g.send(\"python generators rock!\")
python generators rock!
>>> g.throw(RuntimeError, \"You're hosed\")
RuntimeError: You're hosed
>>> g.send(\"python again\")
send() to a finished coroutine (Python raises StopIteration)
";
    assert_eq!(run_example("corecv"), expected);
}

/// What `tail -f FILE | grep` prints for `lines`: each line once per pattern it contains,
/// patterns in order (the broadcast), or every line when there are no patterns.
fn expected_output(lines: &[String], patterns: &[&str]) -> Vec<String> {
    let mut out = Vec::new();
    for line in lines {
        if patterns.is_empty() {
            out.push(line.clone());
        }
        for p in patterns {
            if line.contains(p) {
                out.push(line.clone());
            }
        }
    }
    out
}

/// Runs a log-following example on a copy of the sample log: it prints the log's lines
/// (`--from-start`), then the lines appended while it runs, until SIGINT.
fn follow_example(name: &str, extra: &[&str], patterns: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("access-log");
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/access-log");
    fs::copy(&sample, &log).unwrap();
    let mut lines: Vec<String> = fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(
        lines.len() >= 200,
        "the sample log should have a few hundred lines"
    );

    let mut child = Command::new(example(name))
        .arg(&log)
        .arg("--from-start")
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn example");
    let mut stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reaper = Reaper(vec![child]);
    let printed = Arc::new(Mutex::new(Vec::<u8>::new()));
    let sink = Arc::clone(&printed);
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = stdout.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    });
    let printed_lines = || -> Vec<String> {
        String::from_utf8_lossy(&printed.lock().unwrap())
            .lines()
            .map(str::to_owned)
            .collect()
    };
    let wait_for = |count: usize| {
        let ok = wait_until(DEADLINE, || printed_lines().len() >= count);
        assert!(
            ok,
            "{name}: printed {} lines, expected {count}",
            printed_lines().len()
        );
    };

    // What the log holds, then live appends: a line for every pattern, one for none.
    wait_for(expected_output(&lines, patterns).len());
    let appended = [
        "1.2.3.4 - - [25/Feb/2008:10:00:00 -0600] \"GET /python/new.html HTTP/1.1\" 200 1",
        "1.2.3.4 - - [25/Feb/2008:10:00:01 -0600] \"GET /ply/new.html HTTP/1.1\" 200 1",
        "1.2.3.4 - - [25/Feb/2008:10:00:02 -0600] \"GET /other/new.html HTTP/1.1\" 200 1",
        "1.2.3.4 - - [25/Feb/2008:10:00:03 -0600] \"GET /swig/python-ply.html HTTP/1.1\" 200 1",
    ];
    for line in appended {
        let mut f = OpenOptions::new().append(true).open(&log).unwrap();
        writeln!(f, "{line}").unwrap();
        lines.push(line.to_owned());
        wait_for(expected_output(&lines, patterns).len());
    }

    let pid = reaper.0[0].id() as libc::pid_t;
    // SAFETY: kill(2) on our own child's pid.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    reader.join().unwrap();
    let mut reaper = reaper;
    let status = reaper.0[0].wait().unwrap();
    let mut errors = String::new();
    stderr.read_to_string(&mut errors).unwrap();
    assert!(status.success(), "{name} exited {status:?}: {errors}");
    assert_eq!(printed_lines(), expected_output(&lines, patterns), "{name}");
}

#[test]
fn follow_prints_each_line_of_the_log_as_it_comes() {
    follow_example("follow", &[], &[]);
}

#[test]
fn pipeline_pulls_the_python_lines() {
    follow_example("pipeline", &[], &["python"]);
}

#[test]
fn cofollow_pushes_each_line_to_the_printer() {
    follow_example("cofollow", &[], &[]);
}

#[test]
fn copipeline_pushes_through_grep_to_the_printer() {
    follow_example("copipeline", &[], &["python"]);
}

#[test]
fn cobroadcast_sends_each_line_to_three_greps() {
    follow_example("cobroadcast", &[], &["python", "ply", "swig"]);
}

#[test]
fn cobroadcast_shared_printer_prints_the_same() {
    follow_example("cobroadcast", &["--shared"], &["python", "ply", "swig"]);
}
