//! co-lines: text lines to line events.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use copipe::run::{self, OutputArgs, Port, StageInfo};
use copipe::stages::lines::{run_lines, LineOptions};

const INFO: StageInfo = StageInfo::new("co-lines", Port::Text, Port::Lines);

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
    /// Replace invalid UTF-8 with U+FFFD instead of stopping with an error.
    #[arg(long)]
    lossy: bool,
    /// Longest line accepted, in bytes (a longer one is an error, never an unbounded buffer).
    #[arg(long, value_name = "BYTES", default_value_t = LineOptions::default().max_line)]
    max_line: usize,
    #[command(flatten)]
    output: OutputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        let options = LineOptions {
            max_line: args.max_line,
            lossy: args.lossy,
        };
        run_lines(args.file.as_deref(), options, &args.output)
    })
}
