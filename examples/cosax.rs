//! The seed's `cosax` example (Part 2): SAX events sent into a printer coroutine.
//!
//! ```python
//! xml.sax.parse("allroutes.xml", EventHandler(printer()))
//! ```
//!
//! Prints every event in the seed's tuple notation: `('start', ('bus', {}))`,
//! `('text', '22')`, `('end', 'route')`.
//!
//! Run: `cargo run --example cosax -- [FILE] | head` (default `examples/data/allroutes.xml`).

use std::fs::File;
use std::io::{self, BufWriter};
use std::process::ExitCode;

use copipe::stages::printer::Printer;
use copipe::stages::xml::xml_events;
use copipe::{Error, Result};

const DEFAULT_FILE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/allroutes.xml");

fn run(path: &str) -> Result<()> {
    let file = File::open(path).map_err(|e| Error::io(format!("opening {path}"), e))?;
    let mut printer = Printer::new(BufWriter::new(io::stdout()));
    xml_events(file, &mut printer)
}

fn main() -> ExitCode {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| DEFAULT_FILE.to_owned());
    copipe::run::finish("cosax", run(&path))
}
