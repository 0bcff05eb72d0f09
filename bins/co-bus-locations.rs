//! co-bus-locations: print where each bus is (the seed's `bus_locations`).
use std::process::ExitCode;

use clap::Parser;
use copipe::args::{InputArgs, TextOutputArgs};
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::bus_locations::run_bus_locations;

const INFO: StageInfo = StageInfo::new("co-bus-locations", Port::RECORDS, Port::Text);

/// Print `route,id,"direction",latitude,longitude` for each bus record, the seed's format.
///
/// A record missing one of these fields is an error naming the field and the bus id,
/// unless --skip-incomplete is given.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example: co-xml allroutes.xml | co-buses | co-filter route=22 | co-bus-locations"
)]
struct Args {
    /// Drop records missing a printed field, and count them on stderr, instead of failing.
    #[arg(long)]
    skip_incomplete: bool,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: TextOutputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        run_bus_locations(args.skip_incomplete, &args.input, &args.output)
    })
}
