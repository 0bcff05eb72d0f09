//! co-grep: pass the line events that contain a pattern.
use std::process::ExitCode;

use clap::Parser;
use copipe::args::{InputArgs, OutputArgs};
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::grep::run_grep;

const INFO: StageInfo = StageInfo::new("co-grep", Port::LINES, Port::LINES);

/// Pass on the line events that contain PATTERN (a plain substring, as the seed's grep, or
/// with --regex a regular expression found anywhere in the line).
#[derive(Parser)]
#[command(
    version,
    after_help = "Example: co-lines access-log | co-grep python | co-printer"
)]
struct Args {
    /// The text to look for (with --regex, a regular expression: Rust `regex` syntax).
    pattern: String,
    /// Read PATTERN as a regular expression (`co-grep --regex '^GET .*\.py'`).
    #[arg(long, short = 'E')]
    regex: bool,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: OutputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        run_grep(&args.pattern, args.regex, &args.input, &args.output)
    })
}
