//! The seed's "holy grail" countdown (Part 0, "Coroutines"): a generator that also receives.
//!
//! ```python
//! def countdown(n):
//!     print "Counting down from", n
//!     while n >= 0:
//!         newvalue = (yield n)
//!         # If a new value got sent in, reset n with it
//!         if newvalue is not None:
//!             n = newvalue
//!         else:
//!             n -= 1
//!
//! # The holy grail countdown
//! c = countdown(5)
//! for x in c:
//!     print x
//!     if x == 5:
//!         c.send(3)
//! # 5
//! # 2
//! # 1
//! # 0
//! ```
//!
//! A Rust iterator has no `send`, so `Countdown` has `next()` and `send()`, both resuming the
//! same state machine: `resume(None)` is `next()`, `resume(Some(v))` is `send(v)`. (Each
//! returns a `Result`, since the body prints and printing can fail.) And `for x in c` would
//! move `c` into the loop, leaving nothing to send to: the loop is a `while let` that
//! borrows `c` afresh at each turn. As in Python, the value `send` returns
//! (3) is not seen by the loop, which goes on with 2.
//!
//! The seed's listing of the result leaves out the first line, `Counting down from 5`, that
//! its code prints; the test comparing the two notes that line.
//!
//! Run: `cargo run --example grail`

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use copipe::error::{Error, Result};

/// The generator's state between two `yield`s.
struct Countdown {
    n: i64,
    started: bool,
}

fn countdown(n: i64) -> Countdown {
    Countdown { n, started: false }
}

impl Countdown {
    /// Runs the body up to its next `yield n`, with `sent` as the value of the last `yield`.
    fn resume(&mut self, sent: Option<i64>) -> Result<Option<i64>> {
        if self.started {
            match sent {
                Some(newvalue) => self.n = newvalue,
                None => self.n -= 1,
            }
        } else {
            self.started = true;
            say(format_args!("Counting down from {}", self.n))?;
        }
        Ok((self.n >= 0).then_some(self.n))
    }

    /// The seed's `next(c)`.
    fn next(&mut self) -> Result<Option<i64>> {
        self.resume(None)
    }

    /// The seed's `c.send(v)`: resumes with `v` and returns the next value yielded.
    fn send(&mut self, value: i64) -> Result<Option<i64>> {
        self.resume(Some(value))
    }
}

fn say(line: impl std::fmt::Display) -> Result<()> {
    writeln!(io::stdout(), "{line}").map_err(Error::writing_output)
}

fn run() -> Result<()> {
    // The holy grail countdown
    let mut c = countdown(5);
    while let Some(x) = c.next()? {
        say(x)?;
        if x == 5 {
            c.send(3)?;
        }
    }
    Ok(())
}

/// Print the seed's holy grail countdown: a generator that also receives.
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    copipe::run::finish("grail", run())
}
