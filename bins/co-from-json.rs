//! co-from-json: JSON lines to records (or to line or XML events).
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use copipe::args::OutputArgs;
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::json::{run_from_json, JsonKind};
use copipe::stages::text_input::TextInputArgs;

/// The output is records by default, but `--kind` can make it lines or XML events, and
/// `--describe` cannot see the arguments: so it says "any", and the launcher checks the
/// kind at run time by the stream header.
const INFO: StageInfo = StageInfo::new("co-from-json", Port::Text, Port::Any);

/// Turn JSON lines into records: one object per line, one field per member, in order.
///
/// A string member gives its text; any other value (number, boolean, null, array, object)
/// gives its JSON text as written, without insignificant whitespace. `co-dump --json` is the
/// way back: string-valued objects round-trip byte for byte. With --kind, the lines are the
/// JSON form of line events ({"line":"..."}) or of XML events ({"start":{"name":..,"attrs":
/// [..]}}, {"text":".."}, {"end":".."}), as `co-dump --json` writes them.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example: co-from-json buses.jsonl | co-filter route=22 | co-dump --json | jq -c ."
)]
struct Args {
    /// The JSON lines file to read; `-` or nothing reads standard input.
    file: Option<PathBuf>,
    /// The kind of events the lines hold.
    #[arg(long, value_enum, default_value = "records")]
    kind: JsonKind,
    #[command(flatten)]
    text: TextInputArgs,
    #[command(flatten)]
    output: OutputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        run_from_json(args.file.as_deref(), args.kind, &args.text, &args.output)
    })
}
