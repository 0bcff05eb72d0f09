//! The seed's programs, as `examples/`: each one runs and prints what the seed's prints.
//!
//! [`SEED`] lists every program of the seed that prints something, in the seed's order, with
//! the example that is its Rust counterpart and what the seed says it prints:
//!
//! * where the seed shows the result ([`Expected::Printed`]), the example's output must be that
//!   text line for line, prompt lines included; the few lines Rust cannot print the same
//!   (an object's address, a Python traceback) are listed beside it, each with its reason,
//!   and a listed difference that no longer occurs fails the test too;
//! * where the seed shows no result, the seed's code says what it prints: traced by hand for
//!   the three-line programs ([`Expected::Traced`]), or run as Python 3 ports of the seed's
//!   code in `tests/reference/` on the same input ([`Expected::Python`]; without python3 these
//!   are skipped with a note, and fail when `CI` is set);
//! * the log followers never end by themselves ([`Expected::Follow`]): they are run on a copy
//!   of `examples/data/access-log`, made to append lines while they follow it, stopped with
//!   SIGINT, and must print exactly what `tail -f | grep` would;
//! * the "hidden danger" ([`Expected::Crash`]) prints its lines in the order its threads
//!   take the lock: the same lines in any order, then the run-time report.
//!
//! Counted this way the seed has 28 programs that print something: 21 in Parts 0 to 3
//! (each interactive session of Part 0 on its own) and the 7 results printed in Part 7. The
//! issue counted 26: it did not count the seed's `grepclose` program apart from the close
//! session beside it, nor cobroadcast's "more disturbing variation" (one shared printer)
//! apart from its first hook-up; both print, so both are here.
//!
//! The examples are built once, by a nested `cargo build --example ...` on the same target
//! directory and profile as this test (cargo does not hold its build lock while tests run),
//! and run from `target/<profile>/examples/`.

use crate::common;
use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex, OnceLock};

use crate::common::Bounded;
use crate::common::{wait_until, Reaper, DEADLINE};

/// What one of the seed's programs prints.
enum Expected {
    /// The result the seed shows, verbatim, and the lines the example prints differently.
    Printed {
        text: &'static str,
        differs: &'static [Differ],
    },
    /// The seed shows no result; this is what its code prints, traced by hand.
    Traced(&'static str),
    /// A Python 3 port of the seed's code (`tests/reference/SCRIPT ARGS... FILE`), run on the
    /// same input as the example: [`Input`].
    Python {
        script: &'static str,
        args: &'static [&'static str],
        input: Input,
    },
    /// A log follower: what `tail -f | grep PATTERNS` prints (every line when none).
    Follow(&'static [&'static str]),
    /// The seed's crash: lines in any order, then fixed lines.
    Crash {
        any_order: &'static [(&'static str, usize)],
        then: &'static str,
    },
}

/// A line of the seed's result that the example prints differently: `seed` (trailing blanks
/// ignored) becomes the lines of `ours` (none if empty), for `why`.
struct Differ {
    seed: &'static str,
    ours: &'static str,
    why: &'static str,
}

/// The XML input of a [`Expected::Python`] comparison.
#[derive(Clone, Copy)]
enum Input {
    /// `examples/data/allroutes.xml`, whole.
    Allroutes,
    /// Its first buses (under 64 KiB) with `&amp;` spelled out: expat also cuts character
    /// data where its 64 KiB input buffers end and where an entity reference stands, and
    /// copipe's events do not keep those places (see the `basicsax` example).
    SaxPieces,
}

/// One program of the seed and its example.
struct Program {
    /// Where it is in the seed.
    seed: &'static str,
    example: &'static str,
    args: &'static [&'static str],
    expected: Expected,
}

const ADDRESS: &str =
    "Python prints the generator object's address; the example describes the value";

/// Every program of the seed that prints something, in the seed's order.
const SEED: &[Program] = &[
    Program {
        seed: "Part 0, Generators: for i in countdown(5)",
        example: "countdown",
        args: &[],
        expected: Expected::Printed {
            text: ">>> for i in countdown(5): ...\nprint i, ...\n5 4 3 2 1 >>>",
            differs: &[
                Differ {
                    seed: "print i, ...",
                    ours: "...     print i,",
                    why: "the seed garbles the continuation prompt",
                },
                Differ {
                    seed: "5 4 3 2 1 >>>",
                    ours: "5 4 3 2 1",
                    why: "after `print i,` Python's next prompt follows on the same line",
                },
            ],
        },
    },
    Program {
        seed: "Part 0, Generators: x = countdown(10) makes a generator object",
        example: "countdown",
        args: &[],
        expected: Expected::Printed {
            text: ">>> x = countdown(10)\n>>> x\n<generator object at 0x58490> >>>",
            differs: &[Differ {
                seed: "<generator object at 0x58490> >>>",
                ours: "<Countdown n=10, not started>",
                why: ADDRESS,
            }],
        },
    },
    Program {
        seed: "Part 0, Generator functions: x.next() runs the body",
        example: "countdown",
        args: &[],
        expected: Expected::Printed {
            text: ">>> x = countdown(10)\n>>> x\n<generator object at 0x58490>\n>>> x.next()\n\
                   Counting down from 10\n10",
            differs: &[Differ {
                seed: "<generator object at 0x58490>",
                ours: "<Countdown n=10, not started>",
                why: ADDRESS,
            }],
        },
    },
    Program {
        seed: "Part 0, Generator functions: x.next() until StopIteration",
        example: "countdown",
        args: &[],
        expected: Expected::Printed {
            text: ">>> x.next()\n9\n>>> x.next() \n8\n...\n>>> x.next()\n1\n>>> x.next()\n\
                   Traceback (most recent call last):\n  File \"<stdin>\", line 1, in ?\nStopIteration",
            differs: &[
                Differ {
                    seed: "...",
                    ours: ">>> x.next()\n7\n>>> x.next()\n6\n>>> x.next()\n5\n>>> x.next()\n4\n\
                           >>> x.next()\n3\n>>> x.next()\n2",
                    why: "the seed elides the middle of the session",
                },
                Differ {
                    seed: "Traceback (most recent call last):",
                    ours: "",
                    why: "no traceback: a Rust iterator returns None at the end",
                },
                Differ {
                    seed: "File \"<stdin>\", line 1, in ?",
                    ours: "",
                    why: "no traceback",
                },
                Differ {
                    seed: "StopIteration",
                    ours: "None: the end (Python raises StopIteration)",
                    why: "a Rust iterator returns None where a generator raises StopIteration",
                },
            ],
        },
    },
    Program {
        seed: "Part 0, A Python version of tail -f (follow.py)",
        example: "follow",
        args: &[],
        expected: Expected::Follow(&[]),
    },
    Program {
        seed: "Part 0, Generators as pipelines (pipeline.py)",
        example: "pipeline",
        args: &[],
        expected: Expected::Follow(&["python"]),
    },
    Program {
        seed: "Part 0, Coroutines: the holy grail countdown",
        example: "grail",
        args: &[],
        expected: Expected::Printed {
            // The seed prints the result as comments: `# 5`, `# 2`, ...
            text: "5\n2\n1\n0",
            differs: &[Differ {
                seed: "5",
                ours: "Counting down from 5\n5",
                why: "the seed's listing of the result leaves out the line its code prints first",
            }],
        },
    },
    Program {
        seed: "Part 0, the @coroutine decorator (coroutine.py)",
        example: "coroutine",
        args: &[],
        // The same grep and sends as the close session below, which shows these two lines.
        expected: Expected::Traced("Looking for python\npython generators rock!"),
    },
    Program {
        seed: "Part 0, Closing a coroutine: the session",
        example: "corecv",
        args: &[],
        expected: Expected::Printed {
            text: ">>> g = grep(\"python\") \n>>> g.next()\t# Prime it\nLooking for python \n\
                   >>> g.send(\"Yeah, but no, but yeah, but no\") \n>>> g.send(\"A series of tubes\") \n\
                   >>> g.send(\"python generators rock!\") \npython generators rock! \n>>> g.close()",
            differs: &[],
        },
    },
    Program {
        seed: "Part 0, Throwing an exception: the session",
        example: "corecv",
        args: &[],
        expected: Expected::Printed {
            text: ">>> g = grep(\"python\") \n>>> g.next()\t# Prime it\nLooking for python \n\
                   >>> g.send(\"python generators rock!\") \npython generators rock! \n\
                   >>> g.throw(RuntimeError,\"You're hosed\") \nTraceback (most recent call last): \n\
                   File \"<stdin>\", line 1, in <module> \n  File \"<stdin>\", line 4, in grep \n\
                   RuntimeError: You're hosed",
            differs: &[
                Differ {
                    seed: "Traceback (most recent call last):",
                    ours: "",
                    why: "the error comes back out of throw() as a value: no traceback",
                },
                Differ {
                    seed: "File \"<stdin>\", line 1, in <module>",
                    ours: "",
                    why: "no traceback",
                },
                Differ {
                    seed: "File \"<stdin>\", line 4, in grep",
                    ours: "",
                    why: "no traceback",
                },
            ],
        },
    },
    Program {
        seed: "Part 0, Closing a coroutine: grep with except GeneratorExit (grepclose.py)",
        example: "grepclose",
        args: &[],
        expected: Expected::Traced("Looking for python\npython generators rock!\nGoing away. Goodbye"),
    },
    Program {
        seed: "Part 1, A pipeline example: follow into printer (cofollow.py)",
        example: "cofollow",
        args: &[],
        expected: Expected::Follow(&[]),
    },
    Program {
        seed: "Part 1, A filter example: follow, grep, printer (copipe.py)",
        example: "copipeline",
        args: &[],
        expected: Expected::Follow(&["python"]),
    },
    Program {
        seed: "Part 1, Broadcasting (cobroadcast.py)",
        example: "cobroadcast",
        args: &[],
        expected: Expected::Follow(&["python", "ply", "swig"]),
    },
    Program {
        seed: "Part 1, Broadcasting: a more disturbing variation (one shared printer)",
        example: "cobroadcast",
        args: &["--shared"],
        expected: Expected::Follow(&["python", "ply", "swig"]),
    },
    Program {
        seed: "Part 2, XML parsing with SAX: MyHandler (basicsax.py)",
        example: "basicsax",
        args: &[],
        expected: Expected::Python {
            script: "seed.py",
            args: &["basicsax"],
            input: Input::SaxPieces,
        },
    },
    Program {
        seed: "Part 2, From SAX to coroutines: EventHandler into printer (cosax.py)",
        example: "cosax",
        args: &[],
        expected: Expected::Python {
            script: "seed.py",
            args: &["cosax"],
            input: Input::SaxPieces,
        },
    },
    Program {
        seed: "Part 2, Hooking it together: northbound route 22 (buses.py)",
        example: "buses",
        args: &[],
        expected: Expected::Python {
            script: "buses.py",
            args: &[],
            input: Input::Allroutes,
        },
    },
    Program {
        seed: "Part 3, A threaded target (cothread.py)",
        example: "cothread",
        args: &[],
        expected: Expected::Python {
            script: "buses.py",
            args: &[],
            input: Input::Allroutes,
        },
    },
    Program {
        seed: "Part 3, A subprocess target (coprocess.py and busproc.py)",
        example: "coprocess",
        args: &[],
        expected: Expected::Python {
            script: "buses.py",
            args: &[],
            input: Input::Allroutes,
        },
    },
    Program {
        seed: "Part 3, A hidden danger (cocrash.py)",
        example: "cocrash",
        args: &[],
        expected: Expected::Crash {
            any_order: &[("foo is nice", 10), ("bar is bad", 10)],
            then: "foo is nice\nError::Reentrant: send() into a stage that is already running \
                   (re-entrant send); the seed's 'disturbing variation' would crash here",
        },
    },
    Program {
        seed: "Part 7, Defining Tasks",
        example: "sched_task",
        args: &[],
        expected: Expected::Printed {
            text: "Part 1\nPart 2",
            differs: &[
                Differ {
                    seed: "Part 1",
                    ours: "Running foo()\nPart 1",
                    why: "the seed's listing omits this line, which its code prints",
                },
                Differ {
                    seed: "Part 2",
                    ours: "Resuming foo()\nPart 2",
                    why: "the seed's listing omits this line, which its code prints",
                },
            ],
        },
    },
    Program {
        seed: "Part 7, The Scheduler (its tasks never end; the seed shows six lines)",
        example: "sched_scheduler",
        args: &[],
        expected: Expected::Printed {
            text: "I'm foo\nI'm bar \nI'm foo \nI'm bar \nI'm foo \nI'm bar",
            differs: &[],
        },
    },
    Program {
        seed: "Part 7, Task Exit",
        example: "sched_exit",
        args: &[],
        expected: Expected::Printed {
            text: "I'm foo\nI'm bar \nI'm foo \nI'm bar \nI'm foo \nI'm bar \nTask 1 terminated\n\
                   I'm bar \nI'm bar\nTask 2 terminated ",
            differs: &[],
        },
    },
    Program {
        seed: "Part 7, System Calls: GetTid",
        example: "sched_gettid",
        args: &[],
        expected: Expected::Printed {
            text: "I'm foo 1\nI'm bar 2 \nI'm foo 1 \nI'm bar 2 \nI'm foo 1 \nI'm bar 2 \nI'm foo 1 \n\
                   Task 2 terminated\nI'm foo 1\nTask 1 terminated ",
            differs: &[],
        },
    },
    Program {
        seed: "Part 7, Task Management: NewTask and KillTask",
        example: "sched_kill",
        args: &[],
        expected: Expected::Printed {
            text: "I'm foo 2\nI'm foo 2 \nI'm foo 2 \nI'm foo 2 \nI'm foo 2\nTask 2 terminated \n\
                   main done\nTask 1 terminated",
            differs: &[],
        },
    },
    Program {
        seed: "Part 7, Waiting for Tasks: without WaitTask",
        example: "sched_nowait",
        args: &[],
        expected: Expected::Printed {
            text: "I'm foo\nI'm foo\nI'm bar\nTask 1 terminated\nI'm foo\nI'm bar\nI'm foo\n\
                   I'm bar\nI'm foo\nI'm bar\nTask 2 terminated\nI'm bar\nTask 3 terminated",
            differs: &[],
        },
    },
    Program {
        seed: "Part 7, Waiting for Tasks: with WaitTask",
        example: "sched_wait",
        args: &[],
        expected: Expected::Printed {
            text: "I'm foo\nWaiting for child\nI'm foo\nI'm foo\nI'm foo\nI'm foo\n\
                   Task 2 terminated\nChild done\nI'm bar\nTask 1 terminated\nI'm bar\nI'm bar\n\
                   I'm bar\nI'm bar\nTask 3 terminated",
            differs: &[],
        },
    },
];

/// Every example the tests run (this module's and `sched`'s): built in one cargo call.
const EXAMPLES: &[&str] = &[
    "countdown",
    "follow",
    "pipeline",
    "grail",
    "coroutine",
    "corecv",
    "grepclose",
    "cofollow",
    "copipeline",
    "cobroadcast",
    "basicsax",
    "cosax",
    "buses",
    "cothread",
    "coprocess",
    "busproc",
    "cocrash",
    "sched_task",
    "sched_scheduler",
    "sched_exit",
    "sched_gettid",
    "sched_kill",
    "sched_nowait",
    "sched_wait",
    "sched_message",
    "sched_trampoline",
    "echo_server",
];

/// `target/<profile>/examples/NAME`, built (with every other example in [`EXAMPLES`]) on
/// first use.
pub fn example(name: &str) -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    assert!(EXAMPLES.contains(&name), "add {name} to EXAMPLES");
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
        let mut cargo = build.spawn().expect("run cargo build");
        let status = crate::common::wait_by(
            &mut cargo,
            std::time::Instant::now() + crate::common::BUILD_DEADLINE,
        );
        assert!(status.success(), "building the examples failed");
        bin_dir.join("examples")
    });
    dir.join(name)
}

/// Runs an example to its end and returns its standard output.
pub fn run_example(name: &str, args: &[&str]) -> String {
    let out = common::finish(
        Command::new(example(name))
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run example"),
    );
    assert!(
        out.status.success(),
        "{name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The seed's result with the listed differences applied, line by line (trailing blanks
/// dropped). Panics if a difference is not found in order: a stale list fails the test.
fn apply_differs(program: &Program, text: &str, differs: &[Differ]) -> Vec<String> {
    let mut out = Vec::new();
    let mut pending = differs.iter().peekable();
    for line in text.lines() {
        let line = line.trim_end();
        match pending.peek() {
            Some(d) if d.seed.trim() == line.trim() => {
                out.extend(d.ours.lines().map(str::to_owned));
                pending.next();
            }
            _ => out.push(line.to_owned()),
        }
    }
    if let Some(d) = pending.next() {
        panic!(
            "{}: listed difference {:?} ({}) is not in the seed's text",
            program.seed, d.seed, d.why
        );
    }
    out
}

fn lines(text: &str) -> Vec<String> {
    text.lines().map(|l| l.trim_end().to_owned()).collect()
}

/// The programs whose expected output is fixed text, grouped by example (several of the
/// seed's sessions are one example), each example's expected lines in the seed's order.
fn fixed_expectations() -> BTreeMap<(&'static str, Vec<&'static str>), Vec<String>> {
    let mut expected: BTreeMap<_, Vec<String>> = BTreeMap::new();
    for p in SEED {
        let lines = match &p.expected {
            Expected::Printed { text, differs } => apply_differs(p, text, differs),
            Expected::Traced(text) => lines(text),
            _ => continue,
        };
        expected
            .entry((p.example, p.args.to_vec()))
            .or_default()
            .extend(lines);
    }
    expected
}

#[test]
fn the_seed_has_28_programs_that_print_and_each_has_its_example() {
    assert_eq!(SEED.len(), 28);
    for p in SEED {
        assert!(EXAMPLES.contains(&p.example), "{}: {}", p.seed, p.example);
    }
}

#[test]
fn examples_print_the_seeds_printed_results_line_for_line() {
    for ((name, args), expected) in fixed_expectations() {
        let got = lines(&run_example(name, &args));
        assert_eq!(got, expected, "example {name} {args:?}");
    }
}

/// Runs `python3 tests/reference/SCRIPT ARGS...`; `None` (with a note) when python3 is
/// missing outside CI. In CI a missing python3 fails: a comparison never passes silently.
fn python_output(script: &str, args: &[&str]) -> Option<String> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/reference")
        .join(script);
    if !common::python_available() {
        return None;
    }
    let output = Command::new("python3")
        .arg(&path)
        .args(args)
        .stdin(Stdio::null())
        .bounded();
    assert!(
        output.status.success(),
        "{script} {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).expect("the reference prints UTF-8"))
}

/// Writes the input of a Python comparison into `dir`, and returns its path.
fn input_file(input: Input, dir: &Path) -> PathBuf {
    let allroutes = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/allroutes.xml");
    match input {
        Input::Allroutes => allroutes,
        Input::SaxPieces => {
            let text = fs::read_to_string(&allroutes).unwrap();
            // The buses that end before byte 60000, then the closing tag.
            let cut = text[..60_000]
                .rfind("</bus>")
                .expect("a bus in the first 60 KB")
                + 6;
            let small = format!("{}\r\n</buses>\r\n", &text[..cut]).replace("&amp;", "and");
            let path = dir.join("first-buses.xml");
            fs::write(&path, small).unwrap();
            path
        }
    }
}

#[test]
fn examples_print_what_the_seeds_code_prints_in_python() {
    let dir = tempfile::tempdir().unwrap();
    for p in SEED {
        let Expected::Python {
            script,
            args,
            input,
        } = &p.expected
        else {
            continue;
        };
        let file = input_file(*input, dir.path());
        let file = file.to_str().unwrap();
        let mut python_args = args.to_vec();
        python_args.push(file);
        let Some(python) = python_output(script, &python_args) else {
            return;
        };
        let mut example_args = p.args.to_vec();
        example_args.push(file);
        let got = run_example(p.example, &example_args);
        assert!(!got.is_empty(), "{} printed nothing", p.example);
        assert_eq!(
            lines(&got),
            lines(&python),
            "{}: example {}",
            p.seed,
            p.example
        );
    }
}

#[test]
fn cocrash_runs_the_seeds_threads_without_crashing_and_reports_the_reentrant_send() {
    let p = SEED.iter().find(|p| p.example == "cocrash").unwrap();
    let Expected::Crash { any_order, then } = &p.expected else {
        panic!("cocrash expects a crash");
    };
    let got = lines(&run_example(p.example, p.args));
    let unordered: usize = any_order.iter().map(|(_, n)| n).sum();
    assert!(got.len() >= unordered, "too few lines: {got:?}");
    let (threads, rest) = got.split_at(unordered);
    for (line, count) in *any_order {
        let n = threads.iter().filter(|l| l == line).count();
        assert_eq!(n, *count, "{line:?} in {threads:?}");
    }
    assert_eq!(rest, lines(then));
}

/// `--route`/`--direction` choose other buses, as the seed's `filter_on_field` arguments do.
#[test]
fn buses_takes_a_route_and_direction_and_refuses_unknown_flags() {
    let file = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/allroutes.xml");
    let file = file.to_str().unwrap();
    let got = run_example(
        "buses",
        &["--route", "8", "--direction", "South Bound", file],
    );
    let lines: Vec<&str> = got.lines().collect();
    assert!(!lines.is_empty(), "no southbound route 8 bus printed");
    assert!(lines
        .iter()
        .all(|l| l.starts_with("8,") && l.contains(",\"South Bound\",")));
    if let Some(python) = python_output("buses.py", &[file, "route=8", "direction=South Bound"]) {
        assert_eq!(got, python);
    }
    let out = Command::new(example("buses"))
        .args(["--rout", "8"])
        .bounded();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--rout"));
    assert!(out.stdout.is_empty(), "printed buses despite a bad flag");
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
    crate::common::join_by(reader, "the output reader");
    let mut reaper = reaper;
    let status = reaper.0[0].bounded();
    let mut errors = String::new();
    stderr.read_to_string(&mut errors).unwrap();
    assert!(status.success(), "{name} exited {status:?}: {errors}");
    assert_eq!(printed_lines(), expected_output(&lines, patterns), "{name}");
}

#[test]
fn log_followers_print_what_tail_f_and_grep_print() {
    for p in SEED {
        if let Expected::Follow(patterns) = &p.expected {
            follow_example(p.example, p.args, patterns);
        }
    }
}

/// Unix manners: every example answers `--help` (exit 0, a usage on stdout) and refuses a
/// flag it does not know (exit 2, the flag named on stderr, nothing done).
#[test]
fn every_example_answers_help_and_refuses_unknown_flags() {
    for name in EXAMPLES {
        let help = Command::new(example(name)).arg("--help").bounded();
        assert!(help.status.success(), "{name} --help: {help:?}");
        assert!(
            String::from_utf8_lossy(&help.stdout).contains("Usage:"),
            "{name} --help printed no usage"
        );
        let bad = Command::new(example(name))
            .arg("--no-such-flag")
            .stdin(Stdio::null())
            .bounded();
        assert_eq!(bad.status.code(), Some(2), "{name} --no-such-flag: {bad:?}");
        assert!(
            String::from_utf8_lossy(&bad.stderr).contains("--no-such-flag"),
            "{name}: the error does not name the flag"
        );
        assert!(bad.stdout.is_empty(), "{name} ran despite a bad flag");
    }
}

/// Python's `repr` escapes what `str.isprintable()` rejects (`\xa0`, `\u2028`, `\ufeff`,
/// format and private-use characters...) and prints the rest as itself. One element per
/// character, sampled over every plane, through the seed's cosax in Python and the example.
/// Characters unassigned in the running Python's Unicode are left out: a newer Unicode in
/// the Rust tables may know them, and Python's answer for them changes with its version.
#[test]
fn cosax_escapes_text_as_pythons_repr_does_across_unicode() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("unicode.xml");
    let make = "import sys, unicodedata\n\
        cps = [c for c in range(0x80, 0x110000, 31) if not 0xD800 <= c <= 0xDFFF\n\
               and c not in (0xFFFE, 0xFFFF) and unicodedata.category(chr(c)) != 'Cn']\n\
        cps += [0xA0, 0x2028, 0x2029, 0xFEFF, 0x200B, 0xAD, 0xE000, 0xF0000, 0x85, 0x3000]\n\
        body = ''.join('<c>%s</c>' % chr(c) for c in cps)\n\
        open(sys.argv[1], 'w', encoding='utf-8').write('<doc>%s</doc>' % body)\n";
    let Some(_) = python_output_of(&["-c", make, doc.to_str().unwrap()]) else {
        return;
    };
    let doc = doc.to_str().unwrap();
    let Some(python) = python_output("seed.py", &["cosax", doc]) else {
        return;
    };
    let got = run_example("cosax", &[doc]);
    assert!(python.lines().count() > 10_000, "too few characters tried");
    assert_eq!(lines(&got), lines(&python));
}

/// Runs `python3 ARGS...`; `None` when python3 is missing (see [`python_output`]).
fn python_output_of(args: &[&str]) -> Option<String> {
    if !common::python_available() {
        return None;
    }
    let output = Command::new("python3")
        .args(args)
        .stdin(Stdio::null())
        .bounded();
    assert!(
        output.status.success(),
        "python3 failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).expect("python3 prints UTF-8"))
}
