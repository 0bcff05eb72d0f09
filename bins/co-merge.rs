//! co-merge: interleave whole events from several inputs into one output.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use copipe::args::OutputArgs;
use copipe::link::DEFAULT_MAX_FRAME;
use copipe::run;
use copipe::stages::merge::{self, run_merge};

/// Interleave whole events from several inputs (all of one kind) into one output; ends when
/// every input has ended. The seed's shared printer, made safe.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example:\n  mkfifo a b\n  co-grep python --input x --output a & co-grep ply --input y --output b &\n  co-merge a b | co-printer"
)]
struct Args {
    /// The inputs: FIFO or file paths, `-` for standard input.
    #[arg(required = true, value_name = "IN")]
    inputs: Vec<PathBuf>,
    /// Largest frame accepted, in bytes (1 to 1073741824).
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FRAME,
          value_parser = copipe::args::max_frame_bytes)]
    max_frame: usize,
    #[command(flatten)]
    output: OutputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&merge::INFO, |args: Args| {
        run_merge(&args.inputs, args.max_frame, &args.output)
    })
}
