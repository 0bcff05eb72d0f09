//! The seed's `copipeline.py`: source → filter → sink, pushed: `follow` sends each new line
//! to `grep('python', printer())` (Part 1).
//!
//! The filter owns its target, as in the seed, so the pipeline is one nested value,
//! `Grep::new("python", Printer::new(out))`, and `close()` travels down it when `follow`
//! ends (on Ctrl-C).
//!
//! Run: `cargo run --example copipeline -- access-log` (`--from-start` to search what is
//! there first).

use std::io::{self, BufWriter};
use std::process::ExitCode;

use clap::Parser;
use copipe::error::Result;
use copipe::stages::follow::{follow, FollowedFile};
use copipe::stages::grep::Grep;
use copipe::stages::printer::Printer;

/// Print each line appended to FILE that contains "python". Ctrl-C stops.
#[derive(Parser)]
struct Args {
    #[command(flatten)]
    log: FollowedFile,
}

fn run(args: Args) -> Result<()> {
    copipe::signals::stop_on_signals();
    let options = args.log.options();
    // Hooking it up.
    let mut pipeline = Grep::new("python", Printer::new(BufWriter::new(io::stdout().lock())));
    follow(&args.log.file, &options, &mut pipeline)
}

fn main() -> ExitCode {
    copipe::run::finish("copipeline", run(Args::parse()))
}
