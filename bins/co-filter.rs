//! co-filter: keep the records that meet every condition (the seed's `filter_on_field`,
//! nested once per condition, with more tests than equality).
use std::process::ExitCode;

use clap::Parser;
use copipe::args::{InputArgs, OutputArgs};
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::filter::{run_filter, Condition};

const INFO: StageInfo = StageInfo::new("co-filter", Port::RECORDS, Port::RECORDS);

/// Keep the records that meet every condition.
///
/// FIELD=VALUE: equal, exactly. FIELD!=VALUE: not equal (a record without the field passes).
/// FIELD~REGEX / FIELD!~REGEX: the value does / does not contain a match of the regular
/// expression. FIELD<N, FIELD<=N, FIELD>N, FIELD>=N: numeric comparison; a value that is not a
/// number is an error. Apart from !=, a record without the field does not match. The field
/// name ends at the first of `=!<>~`; the rest is the operand.
#[derive(Parser)]
#[command(
    version,
    after_help = "Examples:\n  co-xml allroutes.xml | co-buses | co-filter route=22 \"direction=North Bound\" | co-bus-locations\n  co-from-csv stops.csv | co-filter 'name~^Clark' 'latitude>=41.9' | co-to-csv"
)]
struct Args {
    /// Conditions, all of which must hold.
    #[arg(value_name = "CONDITION", required = true)]
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
