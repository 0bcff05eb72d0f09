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
//! Run: `cargo run --release --example buses -- [--threaded] [FILE]`
//! (FILE defaults to `examples/data/allroutes.xml`).

use std::fs::File;
use std::io::{self, BufWriter};
use std::process::ExitCode;

use copipe::sink::Threaded;
use copipe::stages::bus_locations::BusLocations;
use copipe::stages::buses::BusesToDicts;
use copipe::stages::filter::FilterOnField;
use copipe::stages::xml::xml_events;
use copipe::{Error, Record, Result};

const DEFAULT_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/allroutes.xml");

fn run(path: &str, threaded: bool) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(format!("opening {path}"), e))?;
    let out = BufWriter::with_capacity(64 << 10, io::stdout());
    let locations = FilterOnField::new(
        "route",
        "22",
        FilterOnField::new("direction", "North Bound", BusLocations::new(out)),
    );
    if threaded {
        let worker = Threaded::<Record<'static>>::new(locations);
        xml_events(file, &mut BusesToDicts::new(worker))
    } else {
        xml_events(file, &mut BusesToDicts::new(locations))
    }
}

fn main() -> ExitCode {
    let mut threaded = false;
    let mut path = DEFAULT_FILE.to_owned();
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--threaded" => threaded = true,
            "-h" | "--help" => {
                println!("usage: buses [--threaded] [FILE]   (default {DEFAULT_FILE})");
                return ExitCode::SUCCESS;
            }
            _ => path = arg,
        }
    }
    copipe::run::finish("buses", run(&path, threaded))
}
