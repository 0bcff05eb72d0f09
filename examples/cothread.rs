//! The seed's `cothread` example (Part 3): the filters and the printer run in a thread.
//!
//! ```python
//! xml.sax.parse("allroutes.xml", EventHandler(
//!                 buses_to_dicts(
//!                 threaded(
//!                      filter_on_field("route","22",
//!                      filter_on_field("direction","North Bound",
//!                      bus_locations()))
//!                 ))))
//! ```
//!
//! `Threaded` is the seed's `threaded(target)`: a bounded queue and a worker thread that
//! sends each queued item on, and closes its target when the queue ends (`GeneratorExit`).
//!
//! Run: `cargo run --example cothread -- [FILE]` (default `examples/data/allroutes.xml`).

use std::fs::File;
use std::io::{self, BufWriter};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;
use copipe::sink::Threaded;
use copipe::stages::bus_locations::BusLocations;
use copipe::stages::buses::BusesToDicts;
use copipe::stages::filter::FilterOnField;
use copipe::stages::xml::xml_events;
use copipe::{Error, Record, Result};

/// Run the seed's bus query with the filters and the printer in a worker thread.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The bus-tracker snapshot (default: the shipped allroutes.xml).
    #[arg(default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/allroutes.xml"))]
    file: PathBuf,
}

fn run(path: &Path) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let printer = BusLocations::new(BufWriter::new(io::stdout()));
    let filters = FilterOnField::new(
        "route",
        "22",
        FilterOnField::new("direction", "North Bound", printer),
    );
    let threaded = Threaded::<Record<'static>>::new(filters);
    xml_events(file, &mut BusesToDicts::new(threaded))
}

fn main() -> ExitCode {
    copipe::run::finish("cothread", run(&Args::parse().file))
}
