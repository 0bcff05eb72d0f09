//! The seed's `pipeline.py`: `tail -f | grep python` as a chain of generators (Part 0).
//!
//! Data is *pulled*: the `for` loop asks `grep` for a line, which asks `follow` for lines
//! until one contains the pattern. The seed's `grep(pattern, lines)` generator is a Rust
//! iterator adaptor over `Follow`.
//!
//! Run: `cargo run --example pipeline -- access-log` (`--from-start` to search what is
//! there first); Ctrl-C stops.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use copipe::error::{Error, Result};
use copipe::stages::follow::{Follow, FollowedFile};

/// Print each line appended to FILE that contains "python". Ctrl-C stops.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    log: FollowedFile,
}

/// The seed's generator `grep(pattern, lines)`: yields the lines that contain `pattern`
/// (errors pass through, so the consumer sees them).
fn grep<'p>(
    pattern: &'p str,
    lines: impl Iterator<Item = Result<String>> + 'p,
) -> impl Iterator<Item = Result<String>> + 'p {
    lines.filter(move |line| line.as_ref().map_or(true, |l| l.contains(pattern)))
}

fn run(args: Args) -> Result<()> {
    copipe::signals::stop_on_signals();
    let options = args.log.options();
    // Set up a processing pipe: tail -f | grep python
    let loglines = Follow::open(&args.log.file, &options)?;
    let pylines = grep("python", loglines);
    // Pull results out of the processing pipeline.
    let mut out = io::stdout().lock();
    for line in pylines {
        writeln!(out, "{}", line?).map_err(Error::writing_output)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    copipe::run::finish("pipeline", run(Args::parse()))
}
