//! co-gen-buses: write a synthetic CTA bus-tracker snapshot (allroutes.xml).
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use copipe::protocol::{Port, StageInfo};
use copipe::run;
use copipe::stages::gen_buses::{run_gen_buses, GenOptions};

const INFO: StageInfo = StageInfo::new("co-gen-buses", Port::None, Port::Text);

/// Write a synthetic bus-tracker snapshot in the format of the seed's allroutes.xml.
///
/// The output depends only on --buses and --seed, and is streamed: any size costs the same
/// memory.
#[derive(Parser)]
#[command(
    version,
    after_help = "Example: co-gen-buses --buses 100000 --seed 7 --output big.xml && co-xml big.xml | co-buses | co-printer"
)]
struct Args {
    /// How many `<bus>` elements to write.
    #[arg(long, value_name = "N")]
    buses: u64,
    /// Seed of the random choices; the same seed gives the same file.
    #[arg(long, value_name = "S", default_value_t = 1)]
    seed: u64,
    /// Write to PATH instead of standard output (`--out` is the old name, still accepted).
    #[arg(long, value_name = "PATH", alias = "out")]
    output: Option<PathBuf>,
}

fn main() -> ExitCode {
    run::stage_main(&INFO, |args: Args| {
        let options = GenOptions {
            buses: args.buses,
            seed: args.seed,
        };
        run_gen_buses(options, args.output.as_deref())
    })
}
