//! co-follow: the lines appended to a file, as line events (the seed's `follow`, `tail -F`).
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use copipe::args::OutputArgs;
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::follow::{run_follow, FollowOptions};
use copipe::stages::lines::LineArgs;

const NAME: &str = "co-follow";
const INFO: StageInfo = StageInfo::new(NAME, Port::None, Port::LINES);

/// Send each line appended to FILE as a line event, starting at its end, like `tail -F`.
///
/// Survives log rotation (FILE renamed and re-created: the old file is read to its end, then
/// the new one from its start) and truncation (reading restarts at the new start). A line
/// written in pieces is sent once, whole. SIGINT or SIGTERM stops following: an unterminated
/// last line is sent as it is, the stream is ended cleanly, and co-follow exits 0.
#[derive(Parser)]
#[command(
    name = "co-follow",
    version,
    after_help = "Example: co-follow access-log | co-grep python | co-printer"
)]
struct Args {
    /// The file to follow.
    file: PathBuf,
    /// Send what FILE already holds first, instead of starting at its end.
    #[arg(long)]
    from_start: bool,
    /// Look for new lines every MS milliseconds instead of waiting on inotify.
    #[arg(long, value_name = "MS", value_parser = clap::value_parser!(u64).range(1..))]
    poll_ms: Option<u64>,
    /// If FILE does not exist yet, wait for it to appear (then read it from its start).
    #[arg(long)]
    wait: bool,
    #[command(flatten)]
    lines: LineArgs,
    #[command(flatten)]
    output: OutputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        let options = FollowOptions {
            from_start: args.from_start,
            poll: args.poll_ms.map(Duration::from_millis),
            wait: args.wait,
            lines: args.lines.options(),
            notices_as: Some(NAME),
        };
        run_follow(&args.file, &options, &args.output)
    })
}
