//! `co-dump`: any stream, one readable line per event, for looking inside a link.
//!
//! The plain format prefixes each event with its kind, in the seed's Python notation:
//! `line 'python rocks'`, `xml ('end', 'bus')`, `record {'id': '1485'}`. With `--json`
//! each event is one JSON value per line, for `jq`: `{"line":"..."}`, `{"start":{"name":
//! "bus","attrs":[]}}`, `{"text":"..."}`, `{"end":"bus"}`, and records as objects whose keys
//! keep the record's field order.

use std::io::Write;

use crate::args::{InputArgs, TextOutputArgs};
use crate::error::{Error, Result};
use crate::event::{PyStr, Record, XmlEvent};
use crate::link;
use crate::signals::Shutdown;
use crate::sink::Sink;

/// A sink that writes one line per event of any kind.
pub struct Dump<W: Write> {
    out: W,
    json: bool,
}

impl<W: Write> Dump<W> {
    pub fn new(out: W, json: bool) -> Self {
        Dump { out, json }
    }
}

fn json_err(e: serde_json::Error) -> Error {
    match e.io_error_kind() {
        Some(kind) => Error::writing_output(std::io::Error::from(kind)),
        None => Error::Encode(e.to_string()),
    }
}

impl<W: Write> Sink<str> for Dump<W> {
    fn send(&mut self, line: &str) -> Result<()> {
        if self.json {
            self.out
                .write_all(b"{\"line\":")
                .map_err(Error::writing_output)?;
            serde_json::to_writer(&mut self.out, line).map_err(json_err)?;
            self.out.write_all(b"}\n").map_err(Error::writing_output)
        } else {
            writeln!(self.out, "line {}", PyStr(line)).map_err(Error::writing_output)
        }
    }
    fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(Error::writing_output)
    }
    fn close(&mut self) -> Result<()> {
        self.out.flush().map_err(Error::writing_output)
    }
}

impl<'a, W: Write> Sink<XmlEvent<'a>> for Dump<W> {
    fn send(&mut self, event: &XmlEvent<'a>) -> Result<()> {
        if self.json {
            serde_json::to_writer(&mut self.out, event).map_err(json_err)?;
            self.out.write_all(b"\n").map_err(Error::writing_output)
        } else {
            writeln!(self.out, "xml {event}").map_err(Error::writing_output)
        }
    }
    fn flush(&mut self) -> Result<()> {
        Sink::<str>::flush(self)
    }
    fn close(&mut self) -> Result<()> {
        Sink::<str>::close(self)
    }
}

impl<'a, W: Write> Sink<Record<'a>> for Dump<W> {
    fn send(&mut self, record: &Record<'a>) -> Result<()> {
        if !self.json {
            return writeln!(self.out, "record {record}").map_err(Error::writing_output);
        }
        self.out.write_all(b"{").map_err(Error::writing_output)?;
        for (i, field) in record.fields.iter().enumerate() {
            if i > 0 {
                self.out.write_all(b",").map_err(Error::writing_output)?;
            }
            serde_json::to_writer(&mut self.out, &field.name).map_err(json_err)?;
            self.out.write_all(b":").map_err(Error::writing_output)?;
            serde_json::to_writer(&mut self.out, &field.value).map_err(json_err)?;
        }
        self.out.write_all(b"}\n").map_err(Error::writing_output)
    }
    fn flush(&mut self) -> Result<()> {
        Sink::<str>::flush(self)
    }
    fn close(&mut self) -> Result<()> {
        Sink::<str>::close(self)
    }
}

/// `co-dump [--json]`: any stream in, one line per event out.
pub fn run_dump(json: bool, input: &InputArgs, output: &TextOutputArgs) -> Result<()> {
    let mut reader = input.open()?;
    let mut dump = Dump::new(output.open()?, json);
    link::recv_any(&mut reader, "co-dump", &mut dump, &Shutdown::on_signals())
}
