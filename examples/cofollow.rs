//! The seed's `cofollow.py`: `follow(file, target)` *pushes* each new line into a
//! `printer()` coroutine (Part 1).
//!
//! The source is a function, not a stage, exactly as in the seed; the sink is copipe's
//! `Printer`. The printer buffers its output and `follow` flushes it whenever it is about
//! to wait for more, so each line shows at once without a write per line.
//!
//! Run: `cargo run --example cofollow -- access-log` (`--from-start` to print what is there
//! first); Ctrl-C stops, after printing everything read.

use std::io::{self, BufWriter};
use std::process::ExitCode;

use clap::Parser;
use copipe::error::Result;
use copipe::stages::follow::{follow, FollowedFile};
use copipe::stages::printer::Printer;

/// Print each line appended to FILE, pushed from a source into a printer. Ctrl-C stops.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    log: FollowedFile,
}

fn run(args: Args) -> Result<()> {
    copipe::signals::stop_on_signals();
    let options = args.log.options();
    let mut printer = Printer::new(BufWriter::new(io::stdout().lock()));
    follow(&args.log.file, &options, &mut printer)
}

fn main() -> ExitCode {
    copipe::run::finish("cofollow", run(Args::parse()))
}
