//! co-select: keep, reorder and rename the fields of records.
use std::process::ExitCode;

use clap::Parser;
use copipe::args::{InputArgs, OutputArgs};
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::select::{run_select, IfMissing, Pick};

const INFO: StageInfo = StageInfo::new("co-select", Port::RECORDS, Port::RECORDS);

/// Keep only the given fields of each record, in the order given; `NEW=OLD` renames.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example: co-xml allroutes.xml | co-buses | co-select id route lat=latitude lon=longitude | co-dump"
)]
struct Args {
    /// The fields to keep, in output order: `NAME`, or `NEW=OLD` to rename.
    #[arg(value_name = "FIELD", required = true)]
    picks: Vec<Pick>,
    /// What a record without a selected field gives.
    #[arg(long, value_enum, default_value = "omit")]
    missing: IfMissing,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: OutputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        run_select(&args.picks, args.missing, &args.input, &args.output)
    })
}
