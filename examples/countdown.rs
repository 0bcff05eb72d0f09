//! The seed's `countdown`: a generator is an iterator (Part 0, "Generators").
//!
//! ```python
//! def countdown(n):
//!     while n > 0:
//!         yield n
//!         n -= 1
//!
//! >>> for i in countdown(5): print i,
//! 5 4 3 2 1
//! ```
//!
//! Then the seed's session with the version that announces itself (`print "Counting down
//! from", n` at the top of its body), to show that calling a generator function runs
//! nothing until the first `next()`:
//!
//! ```python
//! >>> x = countdown(10)
//! >>> x
//! <generator object at 0x58490>
//! >>> x.next()
//! Counting down from 10
//! 10
//! ```
//!
//! This program prints these sessions, prompt lines included, as the seed shows them. Where
//! Rust differs it says so: a generator is a struct implementing `Iterator`, it describes
//! itself where Python shows the object's address, and the end is `None` where Python
//! raises `StopIteration`.
//!
//! Run: `cargo run --example countdown`

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use copipe::error::{Error, Result};

/// The seed's generator `countdown(n)`. Creating it runs nothing: `next()` runs the body up
/// to the next value, as a generator's `next()` runs it up to the next `yield`.
struct Countdown {
    n: u32,
    /// Whether the body starts with the announcing `print` (the seed's second listing).
    announce: bool,
    started: bool,
}

/// The seed's first `countdown(n)`: counts down from `n` to 1.
fn countdown(n: u32) -> Countdown {
    Countdown {
        n,
        announce: false,
        started: false,
    }
}

/// The seed's second `countdown(n)`, whose body first prints `Counting down from n`.
fn countdown_announced(n: u32) -> Countdown {
    Countdown {
        n,
        announce: true,
        started: false,
    }
}

impl Iterator for Countdown {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if !self.started {
            self.started = true;
            if self.announce {
                // The body's `print`. A write error here shows at the session's next write
                // to the same stdout, so it is not lost by being ignored here.
                let _ = writeln!(io::stdout(), "Counting down from {}", self.n);
            }
        }
        if self.n == 0 {
            return None; // Python: raise StopIteration
        }
        let value = self.n;
        self.n -= 1;
        Some(value)
    }
}

/// What `>>> x` shows: Python prints `<generator object at 0x58490>`.
impl fmt::Display for Countdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = if self.started {
            "running"
        } else {
            "not started"
        };
        write!(f, "<Countdown n={}, {state}>", self.n)
    }
}

/// Writes a line of the transcript.
fn say(line: impl fmt::Display) -> Result<()> {
    writeln!(io::stdout(), "{line}").map_err(Error::writing_output)
}

fn session() -> Result<()> {
    say(">>> for i in countdown(5): ...")?;
    say("...     print i,")?;
    let values: Vec<String> = countdown(5).map(|i| i.to_string()).collect();
    say(values.join(" "))?;

    // Calling a generator function runs nothing: it makes a generator object.
    say(">>> x = countdown(10)")?;
    let x = countdown(10);
    say(">>> x")?;
    say(&x)?;

    // The announcing version: its print runs at the first next(), not at the call.
    say(">>> x = countdown(10)")?;
    let mut x = countdown_announced(10);
    say(">>> x")?;
    say(&x)?;
    loop {
        say(">>> x.next()")?;
        match x.next() {
            Some(value) => say(value)?,
            None => return say("None: the end (Python raises StopIteration)"),
        }
    }
}

/// Print the seed's countdown sessions: a generator is an iterator.
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    copipe::run::finish("countdown", session())
}
