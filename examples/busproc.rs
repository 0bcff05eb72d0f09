//! The seed's `busproc.py` (Part 3): the receiving end of `coprocess`.
//!
//! ```python
//! recvfrom(sys.stdin,
//!     filter_on_field("route", "22",
//!     filter_on_field("direction", "North Bound",
//!     bus_locations())))
//! ```
//!
//! `recv_from` is the seed's `recvfrom(f, target)`: it decodes each record from standard
//! input, sends it into the target, and closes the target at the end-of-stream marker.

use std::io::{self, BufWriter};
use std::process::ExitCode;

use clap::Parser;
use copipe::link::{self, FrameReader, Records, DEFAULT_MAX_FRAME};
use copipe::signals::Shutdown;
use copipe::stages::bus_locations::BusLocations;
use copipe::stages::filter::FilterOnField;
use copipe::{Error, Result};

fn run() -> Result<()> {
    let stdin = io::stdin().lock();
    let mut reader = FrameReader::open(stdin, "standard input", DEFAULT_MAX_FRAME)?;
    let mut target = FilterOnField::new(
        "route",
        "22",
        FilterOnField::new(
            "direction",
            "North Bound",
            BusLocations::new(BufWriter::new(io::stdout())),
        ),
    );
    link::recv_from::<Records, _, _>(&mut reader, "busproc", &mut target, &Shutdown::on_signals())
        .map_err(|e| match e {
            Error::EmptyInput => {
                Error::Other("no input: run me through the coprocess example".into())
            }
            e => e,
        })
}

/// Read bus records on standard input (from the coprocess example) and print the seed's query.
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    copipe::run::finish("busproc", run())
}
