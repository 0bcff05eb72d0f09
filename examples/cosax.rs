//! The seed's `cosax` program (Part 2, "From SAX to coroutines"): SAX events sent into a
//! printer coroutine.
//!
//! ```python
//! class EventHandler(xml.sax.ContentHandler):
//!     def __init__(self,target):
//!         self.target = target
//!     def startElement(self,name,attrs):
//!         self.target.send(('start',(name,attrs._attrs)))
//!     def characters(self,text):
//!         self.target.send(('text',text))
//!     def endElement(self,name):
//!         self.target.send(('end',name))
//!
//! @coroutine
//! def printer():
//!     while True:
//!         event = (yield)
//!         print event
//!
//! xml.sax.parse("allroutes.xml", EventHandler(printer()))
//! ```
//!
//! `xml_events` is the `EventHandler`: it parses the document and sends each event into a
//! sink. The events print in the seed's tuple notation (`('start', ('bus', {}))`,
//! `('text', '22')`, `('end', 'route')`), strings as Python 3's `repr` writes them. Expat
//! hands `characters()` a run of text in pieces (each line end on its own); this printer
//! cuts the text the same way ([`expat_pieces`]) so that it prints what the seed prints, line
//! for line, except where an entity reference (`&amp;`) made expat cut a piece more.
//!
//! Run: `cargo run --example cosax -- [FILE] | head` (default `examples/data/allroutes.xml`).

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use copipe::error::Result;
use copipe::event::{expat_pieces, XmlEvent};
use copipe::stages::xml::xml_events;
use copipe::{Error, Sink};

/// The seed's `printer()`: `print event` for every event received.
struct Printer<W: Write> {
    out: W,
}

impl<W: Write> Printer<W> {
    fn print(&mut self, event: &XmlEvent<'_>) -> Result<()> {
        writeln!(self.out, "{event}").map_err(Error::writing_output)
    }
}

impl<W: Write> Sink<XmlEvent<'_>> for Printer<W> {
    fn send(&mut self, event: &XmlEvent<'_>) -> Result<()> {
        match event {
            XmlEvent::Text(text) => expat_pieces(text)
                .try_for_each(|piece| self.print(&XmlEvent::Text(Cow::Borrowed(piece)))),
            event => self.print(event),
        }
    }
    fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(Error::writing_output)
    }
    fn close(&mut self) -> Result<()> {
        self.flush()
    }
}

/// Print every SAX event of an XML document as a Python tuple, as the seed's cosax does.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The document (default: the shipped allroutes.xml).
    #[arg(default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/allroutes.xml"))]
    file: PathBuf,
}

fn run(args: &Args) -> Result<()> {
    let path = &args.file;
    let file = File::open(path).map_err(|e| Error::io(format!("opening {}", path.display()), e))?;
    let mut printer = Printer {
        out: BufWriter::new(io::stdout().lock()),
    };
    xml_events(file, &mut printer)
}

fn main() -> ExitCode {
    copipe::run::finish("cosax", run(&Args::parse()))
}
