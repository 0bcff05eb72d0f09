//! co-printer: print events as text.
use std::process::ExitCode;

use clap::Parser;
use copipe::args::{InputArgs, TextOutputArgs};
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::printer::run_printer;

const INFO: StageInfo = StageInfo::new("co-printer", Port::Any, Port::Text);

/// Print events as text: line events as plain lines, XML events and records in the seed's
/// Python notation. The sink at the end of a pipeline.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example: co-lines access-log | co-grep python | co-printer"
)]
struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: TextOutputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| run_printer(&args.input, &args.output))
}
