//! The seed's first SAX program (Part 2, "XML parsing"): a handler that prints each event.
//!
//! ```python
//! import xml.sax
//!
//! class MyHandler(xml.sax.ContentHandler):
//!     def startElement(self,name,attrs):
//!         print "startElement", name
//!     def endElement(self,name):
//!         print "endElement", name
//!     def characters(self,text):
//!         print "characters", repr(text)[:40]
//!
//! xml.sax.parse("allroutes.xml",MyHandler())
//! ```
//!
//! SAX calls the handler's methods; copipe's parser (`xml_events`) sends events into a
//! [`Sink`], so the handler is a sink with one `match` arm per method. `repr(text)[:40]` is
//! [`PyStr`] (Python 3's `repr`) cut to 40 characters.
//!
//! Python's parser (expat) reports character data in pieces: every line end is a
//! `characters()` call of its own. copipe's events carry a run of text whole, so this handler
//! cuts it the same way ([`expat_pieces`]), to print what the seed prints line for line.
//! (Expat also cuts where an entity reference such as `&amp;` stands: there the seed prints
//! `'Clark '`, `'&'`, `' Schiller'` on three lines where this prints `'Clark & Schiller'`.)
//!
//! Run: `cargo run --example basicsax -- [FILE] | head` (default `examples/data/allroutes.xml`).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use copipe::error::Result;
use copipe::event::{expat_pieces, PyStr, XmlEvent};
use copipe::stages::xml::xml_events;
use copipe::{Error, Sink};

/// The seed's `MyHandler`: prints every SAX event it receives.
struct MyHandler<W: Write> {
    out: W,
    /// `repr(text)`, reused from one call to the next.
    repr: String,
}

impl<W: Write> MyHandler<W> {
    fn characters(&mut self, text: &str) -> Result<()> {
        self.repr.clear();
        let _ = write!(self.repr, "{}", PyStr(text)); // writing to a String cannot fail
        let cut = self
            .repr
            .char_indices()
            .nth(40)
            .map_or(self.repr.len(), |(i, _)| i);
        writeln!(self.out, "characters {}", &self.repr[..cut]).map_err(Error::writing_output)
    }
}

impl<W: Write> Sink<XmlEvent<'_>> for MyHandler<W> {
    fn send(&mut self, event: &XmlEvent<'_>) -> Result<()> {
        match event {
            XmlEvent::Start { name, .. } => {
                writeln!(self.out, "startElement {name}").map_err(Error::writing_output)
            }
            XmlEvent::End(name) => {
                writeln!(self.out, "endElement {name}").map_err(Error::writing_output)
            }
            XmlEvent::Text(text) => expat_pieces(text).try_for_each(|piece| self.characters(piece)),
        }
    }
    fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(Error::writing_output)
    }
    fn close(&mut self) -> Result<()> {
        self.flush()
    }
}

/// Print every SAX event of an XML document, as the seed's first SAX handler does.
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
    let mut handler = MyHandler {
        out: BufWriter::new(io::stdout().lock()),
        repr: String::new(),
    };
    xml_events(file, &mut handler)
}

fn main() -> ExitCode {
    copipe::run::finish("basicsax", run(&Args::parse()))
}
