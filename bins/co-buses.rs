//! co-buses: XML events to one record per bus (the seed's `buses_to_dicts`).
use std::process::ExitCode;

use clap::Parser;
use copipe::args::{InputArgs, OutputArgs};
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::buses::run_buses;

const INFO: StageInfo = StageInfo::new("co-buses", Port::XML, Port::RECORDS);

/// Turn the XML events of a bus-tracker snapshot into one record per `<bus>` element.
///
/// Each element that ends inside a `<bus>` sets the field of its name to the text gathered
/// since the last start tag, exactly as the seed's `buses_to_dicts` does; fields keep the
/// order in which they first appear.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example: co-xml allroutes.xml | co-buses | co-printer"
)]
struct Args {
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: OutputArgs,
    /// The most bytes one `<bus>` element may hold (field names, values and text not yet
    /// assigned); a larger bus is an error. Bounds co-buses' memory whatever the input.
    #[arg(long, value_name = "BYTES", default_value_t = copipe::link::DEFAULT_MAX_FRAME)]
    max_record: usize,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        run_buses(&args.input, &args.output, args.max_record)
    })
}
