//! co-from-csv: CSV (or TSV) with a header row to records.
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use copipe::args::OutputArgs;
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::csv::{run_from_csv, CsvArgs};
use copipe::stages::text_input::TextInputArgs;

const INFO: StageInfo = StageInfo::new("co-from-csv", Port::Text, Port::RECORDS);

/// Turn CSV with a header row into records: one record per row, one field per column.
///
/// RFC 4180 quoting (a quoted cell may hold the delimiter, quotes doubled, and newlines).
/// Every row must have as many cells as the header.
#[derive(Parser)]
#[command(
    version,
    after_help = "Examples:\n  co-from-csv stops.csv | co-filter route=22 | co-to-csv\n  co-from-csv --delimiter tab --fields id,name table.tsv | co-dump --json"
)]
struct Args {
    /// The CSV file to read; `-` or nothing reads standard input.
    file: Option<PathBuf>,
    #[command(flatten)]
    csv: CsvArgs,
    #[command(flatten)]
    text: TextInputArgs,
    #[command(flatten)]
    output: OutputArgs,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        run_from_csv(args.file.as_deref(), &args.csv, &args.text, &args.output)
    })
}
