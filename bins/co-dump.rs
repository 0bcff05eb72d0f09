//! co-dump: show any stream, one readable line per event.
use std::process::ExitCode;

use clap::Parser;
use copipe::args::{InputArgs, TextOutputArgs};
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::dump::run_dump;

const INFO: StageInfo = StageInfo::new("co-dump", Port::Any, Port::Text);

/// Show any copipe stream as one readable line per event, prefixed with its kind.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example: co-xml allroutes.xml | co-dump --json | jq ."
)]
struct Args {
    /// One JSON value per line instead (for jq).
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: TextOutputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        run_dump(args.json, &args.input, &args.output)
    })
}
