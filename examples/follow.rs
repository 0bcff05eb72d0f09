//! The seed's `follow.py`: a Python `tail -f` as a generator, pulled by a `for` loop
//! (Part 0).
//!
//! `Follow` is the generator: an iterator that blocks until a line is appended (on inotify,
//! where the seed sleeps 0.1 s and tries again). It starts at the end of the file, like the
//! seed's `seek(0, 2)`; `--from-start` prints what is already there first (handy on a
//! finished log such as `examples/data/access-log`). Ctrl-C ends the loop cleanly: the
//! iterator ends, as if the generator returned.
//!
//! Run: `cargo run --example follow -- access-log`, then append to access-log.

use std::io::{self, Write};
use std::process::ExitCode;

use clap::Parser;
use copipe::error::{Error, Result};
use copipe::stages::follow::{Follow, FollowedFile};

/// Print each line appended to FILE, like `tail -f`. Ctrl-C stops.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    log: FollowedFile,
}

fn run(args: Args) -> Result<()> {
    copipe::signals::stop_on_signals();
    let options = args.log.options();
    let logfile = Follow::open(&args.log.file, &options)?;
    // Stdout is line-buffered: each line shows as soon as it is printed (`print line,`).
    let mut out = io::stdout().lock();
    for line in logfile {
        writeln!(out, "{}", line?).map_err(Error::writing_output)?;
    }
    Ok(())
}

fn main() -> ExitCode {
    copipe::run::finish("follow", run(Args::parse()))
}
