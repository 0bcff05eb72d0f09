//! The seed's `coroutine.py`: the `@coroutine` decorator, and why Rust needs none (Part 0).
//!
//! A Python coroutine must be primed with `next()` before it can receive: the decorator
//! does that for you. A Rust stage is a value: its constructor runs whatever a coroutine
//! would run up to its first `yield` (here, printing "Looking for python") and returns a
//! stage that is ready for `send`. There is nothing to forget.
//!
//! Run: `cargo run --example coroutine`

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use copipe::error::{Error, Result};
use copipe::Sink;

/// The seed's `grep(pattern)` coroutine, printing the lines that contain `pattern`.
struct Grep<W: Write> {
    pattern: String,
    out: W,
}

impl<W: Write> Grep<W> {
    /// Everything before the coroutine's first `(yield)` runs here.
    fn new(pattern: &str, mut out: W) -> Result<Self> {
        writeln!(out, "Looking for {pattern}").map_err(Error::writing_output)?;
        Ok(Grep {
            pattern: pattern.to_owned(),
            out,
        })
    }
}

impl<W: Write> Sink<str> for Grep<W> {
    fn send(&mut self, line: &str) -> Result<()> {
        if line.contains(&self.pattern) {
            writeln!(self.out, "{line}").map_err(Error::writing_output)?;
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(Error::writing_output)
    }
    fn close(&mut self) -> Result<()> {
        self.flush()
    }
}

fn run() -> Result<()> {
    let mut g = Grep::new("python", io::stdout().lock())?;
    // Notice how you don't need a next() call here.
    g.send("Yeah, but no, but yeah, but no")?;
    g.send("A series of tubes")?;
    g.send("python generators rock!")?;
    g.close()
}

/// Run the seed's grep coroutine, ready without priming.
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    copipe::run::finish("coroutine", run())
}
