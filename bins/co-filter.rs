//! co-filter: keep the records whose fields have given values (the seed's
//! `filter_on_field`, nested once per condition).
use std::process::ExitCode;

use clap::Parser;
use copipe::args::{InputArgs, OutputArgs};
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::filter::{run_filter, Condition};

const INFO: StageInfo = StageInfo::new("co-filter", Port::RECORDS, Port::RECORDS);

/// Keep the records in which every FIELD equals its VALUE exactly.
///
/// A record without the field does not match. Each condition is split at its first `=`.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example: co-xml allroutes.xml | co-buses | co-filter route=22 \"direction=North Bound\" | co-bus-locations"
)]
struct Args {
    /// Conditions, all of which must hold.
    #[arg(value_name = "FIELD=VALUE", required = true)]
    conditions: Vec<Condition>,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: OutputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        run_filter(&args.conditions, &args.input, &args.output)
    })
}
