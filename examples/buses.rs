//! The seed's bus example, inline in one process:
//!
//! ```python
//! xml.sax.parse("allroutes.xml",
//!     EventHandler(
//!     buses_to_dicts(filter_on_field("route", "22",
//!     filter_on_field("direction", "North Bound", bus_locations())))))
//! ```
//!
//! The same stage values that the `co-*` binaries run one per process, nested here as the
//! seed nests its coroutines. With `--threaded`, the filters and the printer run in a
//! worker thread behind a queue (the seed's `threaded(target)`, Part 3).
//!
//! `--route` and `--direction` choose other buses than the seed's northbound 22s.
//!
//! Run: `cargo run --release --example buses -- [--route R] [--direction D] [--threaded] [FILE]`
//! (FILE defaults to `examples/data/allroutes.xml`).

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use copipe::sink::Threaded;
use copipe::stages::bus_locations::BusLocations;
use copipe::stages::buses::BusesToDicts;
use copipe::stages::filter::FilterOnField;
use copipe::stages::xml::xml_events;
use copipe::{Error, Record, Result};

/// Print where the buses of one route and direction are, as the seed's bus program does.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The route to keep (the seed's `filter_on_field("route", "22", ...)`).
    #[arg(long, default_value = "22")]
    route: String,
    /// The direction to keep (the seed's `filter_on_field("direction", "North Bound", ...)`).
    #[arg(long, default_value = "North Bound")]
    direction: String,
    /// Run the filters and the printer in a worker thread (the seed's `threaded`, Part 3).
    #[arg(long)]
    threaded: bool,
    /// The bus-tracker snapshot (default: the shipped allroutes.xml).
    #[arg(default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/allroutes.xml"))]
    file: PathBuf,
}

fn run(args: &Args) -> Result<()> {
    let path = &args.file;
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let out = BufWriter::with_capacity(64 << 10, io::stdout());
    let locations = FilterOnField::new(
        "route",
        args.route.as_str(),
        FilterOnField::new("direction", args.direction.as_str(), BusLocations::new(out)),
    );
    if args.threaded {
        let worker = Threaded::<Record<'static>>::new(locations);
        xml_events(file, &mut BusesToDicts::new(worker))
    } else {
        xml_events(file, &mut BusesToDicts::new(locations))
    }
}

fn main() -> ExitCode {
    copipe::run::finish("buses", run(&Args::parse()))
}
