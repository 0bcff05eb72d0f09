//! The seed's sessions with a receiving coroutine: `send()`, `close()` and `throw()`
//! (Part 0, "Closing a coroutine" and "Throwing an exception").
//!
//! ```python
//! def grep(pattern):
//!     print "Looking for %s" % pattern
//!     while True:
//!         line = (yield)
//!         if pattern in line:
//!             print line,
//! ```
//!
//! Prints the seed's two interactive sessions, prompt lines included. How Rust differs:
//!
//! * no priming: `Grep::new` runs the coroutine up to its first `yield` ("Looking for
//!   python") and returns a stage ready to receive, so making the value is both the seed's
//!   `g = grep("python")` and its `g.next()` (see the `coroutine` example);
//! * `close()` is [`Sink::close`]; this grep has no `except GeneratorExit`, so closing it
//!   prints nothing (the `grepclose` example has the handler);
//! * `throw()` is [`Sink::throw`]: the error is delivered into the stage where it waits.
//!   This grep does not catch it, so (the trait's default) the error comes straight back out
//!   of `throw` to the caller, where Python prints a traceback ending in the same line.
//!
//! Run: `cargo run --example corecv`

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use copipe::error::{Error, Result};
use copipe::Sink;

/// The seed's `grep(pattern)` coroutine, printing the lines that contain `pattern`.
struct Grep {
    pattern: String,
}

impl Grep {
    /// Everything before the coroutine's first `(yield)` runs here.
    fn new(pattern: &str) -> Result<Self> {
        say(format_args!("Looking for {pattern}"))?;
        Ok(Grep {
            pattern: pattern.to_owned(),
        })
    }
}

impl Sink<str> for Grep {
    fn send(&mut self, line: &str) -> Result<()> {
        if line.contains(&self.pattern) {
            say(line)?;
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        io::stdout().flush().map_err(Error::writing_output)
    }
    /// No `except GeneratorExit:` in this grep: closing it just ends it.
    fn close(&mut self) -> Result<()> {
        self.flush()
    }
    // No `throw` here: the default hands the error back, as an uncaught exception.
}

/// The seed's `RuntimeError`, as a library error whose text names it.
fn runtime_error(message: &str) -> Error {
    Error::Other(format!("RuntimeError: {message}"))
}

/// Writes a line of the transcript (prompts and the stage's prints share the one stdout).
fn say(line: impl std::fmt::Display) -> Result<()> {
    writeln!(io::stdout(), "{line}").map_err(Error::writing_output)
}

fn session() -> Result<()> {
    say(">>> g = grep(\"python\")")?;
    say(">>> g.next()\t# Prime it")?;
    let mut g = Grep::new("python")?;
    say(">>> g.send(\"Yeah, but no, but yeah, but no\")")?;
    g.send("Yeah, but no, but yeah, but no")?;
    say(">>> g.send(\"A series of tubes\")")?;
    g.send("A series of tubes")?;
    say(">>> g.send(\"python generators rock!\")")?;
    g.send("python generators rock!")?;
    say(">>> g.close()")?;
    g.close()?;

    say(">>> g = grep(\"python\")")?;
    say(">>> g.next()\t# Prime it")?;
    let mut g = Grep::new("python")?;
    say(">>> g.send(\"python generators rock!\")")?;
    g.send("python generators rock!")?;
    say(">>> g.throw(RuntimeError,\"You're hosed\")")?;
    match g.throw(runtime_error("You're hosed")) {
        // Uncaught: back out of throw(), where Python prints the traceback's last line.
        Err(thrown) => say(thrown),
        Ok(()) => say("(the coroutine caught it)"),
    }
}

/// Print the seed's grep sessions: send, close, and throw.
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    copipe::run::finish("corecv", session())
}
