//! The seed's `grep` with a close handler (Part 0, "Closing a coroutine").
//!
//! ```python
//! @coroutine
//! def grep(pattern):
//!     print "Looking for %s" % pattern
//!     try:
//!         while True:
//!             line = (yield)
//!             if pattern in line:
//!                 print line,
//!     except GeneratorExit:
//!         print "Going away. Goodbye"
//!
//! if __name__ == '__main__':
//!     g = grep("python")
//!     g.send("Yeah, but no, but yeah, but no\n")
//!     g.send("A series of tubes\n")
//!     g.send("python generators rock!\n")
//!     g.close()
//! ```
//!
//! Python raises `GeneratorExit` inside the coroutine, at its `yield`, for it to catch;
//! Rust calls [`Sink::close`], and the stage says goodbye there. The lines keep their `\n`,
//! and, like `print line,`, the stage prints them without adding another.
//!
//! Run: `cargo run --example grepclose`

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use copipe::error::{Error, Result};
use copipe::Sink;

/// The seed's `grep(pattern)` coroutine, with its `try: ... except GeneratorExit:`.
struct Grep<W: Write> {
    pattern: String,
    out: W,
}

impl<W: Write> Grep<W> {
    /// Everything before the coroutine's first `(yield)` runs here (no priming needed).
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
            // `print line,`: the line as it is, its own newline included.
            write!(self.out, "{line}").map_err(Error::writing_output)?;
        }
        Ok(())
    }
    fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(Error::writing_output)
    }
    /// The seed's `except GeneratorExit: print "Going away. Goodbye"`.
    fn close(&mut self) -> Result<()> {
        writeln!(self.out, "Going away. Goodbye").map_err(Error::writing_output)?;
        self.flush()
    }
}

fn run() -> Result<()> {
    let mut g = Grep::new("python", io::stdout().lock())?;
    g.send("Yeah, but no, but yeah, but no\n")?;
    g.send("A series of tubes\n")?;
    g.send("python generators rock!\n")?;
    g.close()
}

/// Run the seed's grep with a close handler.
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    copipe::run::finish("grepclose", run())
}
