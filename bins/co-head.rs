//! co-head: pass the first N events of any stream, then end it.
use std::process::ExitCode;

use clap::Parser;
use copipe::args::{InputArgs, OutputArgs};
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::head::run_head;

const INFO: StageInfo = StageInfo::new("co-head", Port::Any, Port::Any);

/// Pass the first N events of any stream, then end it and stop reading, as `head` does: the
/// upstream stages stop quietly when they next write.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example: co-xml allroutes.xml | co-buses | co-head 5 | co-dump"
)]
struct Args {
    /// How many events to pass.
    #[arg(value_name = "N")]
    count: u64,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: OutputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        run_head(args.count, &args.input, &args.output)
    })
}
