//! The seed's `countdown`: a generator is an iterator (Part 0).
//!
//! Prints the seed's interactive session, prompt lines included. Where Rust differs, the
//! transcript says what Python would show:
//!
//! * calling `countdown(10)` runs nothing in either language: Python returns a generator
//!   object, Rust a struct whose `next()` runs the body up to the next value;
//! * Python's `next()` raises `StopIteration` at the end; a Rust iterator returns `None`;
//! * the "holy grail" countdown receives a new value with `send()`. A Rust iterator has no
//!   `send`, so [`GrailCountdown`] has one beside `next()`, both resuming the same state
//!   machine. And `for x in c` would move `c` into the loop, leaving nothing to send to:
//!   the loop is a `while let` that borrows `c` afresh at each turn.
//!
//! Run: `cargo run --example countdown`

use std::io::{self, Write};
use std::process::ExitCode;

/// The seed's generator `countdown(n)`: counts down from `n` to 1, announcing itself on the
/// first `next()` (not when created: generators are lazy).
#[derive(Debug)]
struct Countdown {
    n: u32,
    started: bool,
}

fn countdown(n: u32) -> Countdown {
    Countdown { n, started: false }
}

impl Iterator for Countdown {
    type Item = u32;

    fn next(&mut self) -> Option<u32> {
        if !self.started {
            self.started = true;
            // The seed's `print "Counting down from", n` at the top of the body; a
            // generator's body writes where it likes, so this one writes to stdout too.
            let _ = writeln!(io::stdout(), "Counting down from {}", self.n);
        }
        if self.n == 0 {
            return None;
        }
        let value = self.n;
        self.n -= 1;
        Some(value)
    }
}

/// The seed's "holy grail" countdown: `newvalue = (yield n)` resets `n` when a value is
/// sent in. `resume(None)` is `next()`, `resume(Some(v))` is `send(v)`.
struct GrailCountdown {
    n: i64,
    started: bool,
}

impl GrailCountdown {
    fn new(n: i64) -> Self {
        GrailCountdown { n, started: false }
    }

    fn resume(&mut self, sent: Option<i64>) -> Option<i64> {
        if self.started {
            match sent {
                Some(newvalue) => self.n = newvalue,
                None => self.n -= 1,
            }
        } else {
            self.started = true;
            let _ = writeln!(io::stdout(), "Counting down from {}", self.n);
        }
        (self.n >= 0).then_some(self.n)
    }

    /// The seed's `c.send(v)`: resumes with `v` and returns the next value yielded.
    fn send(&mut self, value: i64) -> Option<i64> {
        self.resume(Some(value))
    }
}

impl Iterator for GrailCountdown {
    type Item = i64;
    fn next(&mut self) -> Option<i64> {
        self.resume(None)
    }
}

fn session(out: &mut impl Write) -> io::Result<()> {
    writeln!(out, ">>> for i in countdown(5): print i,")?;
    out.flush()?;
    let values: Vec<String> = countdown(5).map(|i| i.to_string()).collect();
    writeln!(out, "{}", values.join(" "))?;

    writeln!(out, ">>> x = countdown(10)")?;
    let mut x = countdown(10);
    writeln!(out, ">>> x")?;
    writeln!(out, "{x:?}")?;
    loop {
        writeln!(out, ">>> x.next()")?;
        out.flush()?;
        if let Some(value) = x.next() {
            writeln!(out, "{value}")?;
        } else {
            writeln!(out, "None (Python raises StopIteration here)")?;
            break;
        }
    }

    writeln!(out, ">>> c = countdown(5)  # the holy grail countdown")?;
    writeln!(out, ">>> for x in c: print x; if x == 5: c.send(3)")?;
    out.flush()?;
    let mut c = GrailCountdown::new(5);
    while let Some(x) = c.next() {
        writeln!(out, "{x}")?;
        if x == 5 {
            // As in Python, the value `send` returns (3) is not seen by the loop.
            c.send(3);
        }
    }
    out.flush()
}

fn main() -> ExitCode {
    // `Stdout` is shared with the generator's own message; it is line-buffered, so the two
    // interleave in order.
    let outcome = session(&mut io::stdout()).map_err(|e| copipe::Error::io("writing output", e));
    copipe::run::finish("countdown", outcome)
}
