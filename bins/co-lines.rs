//! co-lines: text lines to line events.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use copipe::args::OutputArgs;
use copipe::observe::progress::ProgressArgs;
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::lines::{run_lines, LineArgs};

const INFO: StageInfo = StageInfo::new("co-lines", Port::Text, Port::LINES);

/// Turn text lines into line events: the source of a line pipeline.
///
/// Each line (without its newline) becomes one event; the stream ends at end of file.
/// SIGINT or SIGTERM stops reading and ends the stream cleanly.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example: co-lines access-log | co-grep python | co-printer"
)]
struct Args {
    /// The text file to read; `-` or nothing reads standard input.
    file: Option<PathBuf>,
    #[command(flatten)]
    lines: LineArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    progress: ProgressArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        let _meter = args.progress.start(args.file.as_deref());
        run_lines(args.file.as_deref(), args.lines.options(), &args.output)
    })
}
