//! The seed's `corecv.py`: a coroutine that receives lines, its `close()` and `throw()`
//! (Part 0).
//!
//! Prints the seed's interactive session, prompt lines included. How Rust differs:
//!
//! * no `g.next()` to prime it: `Grep::new` runs the coroutine's start ("Looking for
//!   python") and returns a stage ready to receive (see the `coroutine` example);
//! * `close()` is [`Sink::close`]: where Python raises `GeneratorExit` inside the coroutine
//!   for it to catch, Rust calls a method, and the stage says goodbye there;
//! * `throw(exc)` delivers an error into the stage at the point where it waits. This grep
//!   does not handle it, so, as in Python, the error comes straight back out of `throw` to
//!   the caller (Python prints a traceback) and the stage is finished: a later `send` fails,
//!   where Python raises `StopIteration`.
//!
//! Run: `cargo run --example corecv`

use std::fmt;
use std::io::{self, Write};
use std::process::ExitCode;

use copipe::error::{Error, IoContext, Result};
use copipe::Sink;

/// The error thrown in, named as the seed names it.
#[derive(Debug)]
struct RuntimeError(&'static str);

impl fmt::Display for RuntimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RuntimeError: {}", self.0)
    }
}

impl std::error::Error for RuntimeError {}

/// The seed's `grep(pattern)` coroutine with its `try: ... except GeneratorExit:`.
struct Grep<W: Write> {
    pattern: String,
    out: W,
    finished: bool,
}

impl<W: Write> Grep<W> {
    fn new(pattern: &str, mut out: W) -> Result<Self> {
        writeln!(out, "Looking for {pattern}").context_io(|| "writing output".into())?;
        Ok(Grep {
            pattern: pattern.to_owned(),
            out,
            finished: false,
        })
    }

    /// The seed's `g.throw(exc)`: this stage has no handler for `error`, so it ends, and the
    /// error goes back to whoever threw it.
    fn throw<E: std::error::Error>(&mut self, error: E) -> std::result::Result<(), E> {
        self.finished = true;
        Err(error)
    }
}

impl<W: Write> Sink<str> for Grep<W> {
    fn send(&mut self, line: &str) -> Result<()> {
        if self.finished {
            return Err(Error::Other(
                "send() to a finished coroutine (Python raises StopIteration)".into(),
            ));
        }
        if line.contains(&self.pattern) {
            writeln!(self.out, "{line}").context_io(|| "writing output".into())?;
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        self.out.flush().context_io(|| "writing output".into())
    }
    /// The seed's `except GeneratorExit: print "Going away. Goodbye"`.
    fn close(&mut self) -> Result<()> {
        self.finished = true;
        writeln!(self.out, "Going away. Goodbye").context_io(|| "writing output".into())?;
        self.flush()
    }
}

fn session() -> Result<()> {
    // The prompts and the stage share the line-buffered stdout, so they interleave in order.
    let mut out = io::stdout();
    let mut prompt =
        |text: &str| writeln!(out, ">>> {text}").context_io(|| "writing output".into());

    prompt("g = grep(\"python\")")?;
    let mut g = Grep::new("python", io::stdout())?;
    prompt("g.send(\"Yeah, but no, but yeah, but no\")")?;
    g.send("Yeah, but no, but yeah, but no")?;
    prompt("g.send(\"A series of tubes\")")?;
    g.send("A series of tubes")?;
    prompt("g.send(\"python generators rock!\")")?;
    g.send("python generators rock!")?;
    prompt("g.close()")?;
    g.close()?;

    prompt("g = grep(\"python\")")?;
    let mut g = Grep::new("python", io::stdout())?;
    prompt("g.send(\"python generators rock!\")")?;
    g.send("python generators rock!")?;
    prompt("g.throw(RuntimeError, \"You're hosed\")")?;
    if let Err(thrown) = g.throw(RuntimeError("You're hosed")) {
        // Python prints the traceback's last line; so do we.
        writeln!(io::stdout(), "{thrown}").context_io(|| "writing output".into())?;
    }
    prompt("g.send(\"python again\")")?;
    if let Err(e) = g.send("python again") {
        writeln!(io::stdout(), "{e}").context_io(|| "writing output".into())?;
    }
    Ok(())
}

fn main() -> ExitCode {
    copipe::run::finish("corecv", session())
}
