//! co-to-csv: records to CSV (or TSV) with a header row.
use std::process::ExitCode;

use clap::Parser;
use copipe::args::{InputArgs, TextOutputArgs};
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::csv::{run_to_csv, CsvArgs, Missing};

const INFO: StageInfo = StageInfo::new("co-to-csv", Port::RECORDS, Port::Text);

/// Write records as CSV: a header row, then one row per record.
///
/// The columns are --fields, or else the first record's field names, in order; each record's
/// values are found by name (fields outside the columns are left out). Cells are quoted as
/// RFC 4180 requires.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example: co-xml allroutes.xml | co-buses | co-to-csv --fields route,id,direction | python3 -c 'import csv, sys; print(sum(1 for _ in csv.DictReader(sys.stdin)))'"
)]
struct Args {
    #[command(flatten)]
    csv: CsvArgs,
    /// What a record without one of the columns gives.
    #[arg(long, value_enum, default_value = "empty")]
    missing: Missing,
    /// Leave out the header row.
    #[arg(long)]
    no_header: bool,
    #[command(flatten)]
    input: InputArgs,
    #[command(flatten)]
    output: TextOutputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        run_to_csv(
            &args.csv,
            !args.no_header,
            args.missing,
            &args.input,
            &args.output,
        )
    })
}
