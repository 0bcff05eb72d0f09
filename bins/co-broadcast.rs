//! co-broadcast: copy every event to several outputs.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use copipe::args::InputArgs;
use copipe::run;
use copipe::stages::broadcast::{self, run_broadcast, OnBranchClose};

/// Copy every event of the input to each output: the seed's broadcast(targets).
///
/// Outputs are usually named pipes (mkfifo). Frames are copied whole, never decoded.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example:\n  mkfifo a b\n  co-printer --input a & co-dump --input b &\n  co-lines log | co-broadcast a b"
)]
struct Args {
    /// Where to copy the stream: FIFO or file paths, `-` for standard output.
    #[arg(required = true, value_name = "OUT")]
    outputs: Vec<PathBuf>,
    /// When one output's reader exits early: drop that branch, or stop every branch.
    #[arg(long, value_enum, default_value_t = OnBranchClose::Drop)]
    on_branch_close: OnBranchClose,
    #[command(flatten)]
    input: InputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&broadcast::INFO, |args: Args| {
        run_broadcast(&args.outputs, args.on_branch_close, &args.input)
    })
}
