//! `printer()`: the sink that prints what it receives.
//!
//! Lines print as themselves (one per line, as the seed's `print line,`); XML events and
//! records print in the seed's Python notation, so `co-printer` shows any stream readably.

use std::io::Write;

use crate::args::{InputArgs, TextOutputArgs};
use crate::error::{Error, IoContext, Result};
use crate::event::{Record, XmlEvent};
use crate::link;
use crate::signals::Shutdown;
use crate::sink::Sink;

/// The seed's `printer()` coroutine, writing to any `Write` (buffer it: nothing here flushes
/// except `flush` and `close`).
pub struct Printer<W: Write> {
    out: W,
}

impl<W: Write> Printer<W> {
    pub fn new(out: W) -> Self {
        Printer { out }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Sink<str> for Printer<W> {
    #[inline]
    fn send(&mut self, line: &str) -> Result<()> {
        self.out
            .write_all(line.as_bytes())
            .map_err(Error::writing_output)?;
        self.out.write_all(b"\n").map_err(Error::writing_output)
    }
    fn flush(&mut self) -> Result<()> {
        self.out.flush().context_io(|| "writing output".into())
    }
    fn close(&mut self) -> Result<()> {
        self.out.flush().context_io(|| "writing output".into())
    }
}

impl<'a, W: Write> Sink<XmlEvent<'a>> for Printer<W> {
    fn send(&mut self, event: &XmlEvent<'a>) -> Result<()> {
        writeln!(self.out, "{event}").map_err(Error::writing_output)
    }
    fn flush(&mut self) -> Result<()> {
        Sink::<str>::flush(self)
    }
    fn close(&mut self) -> Result<()> {
        Sink::<str>::close(self)
    }
}

impl<'a, W: Write> Sink<Record<'a>> for Printer<W> {
    fn send(&mut self, record: &Record<'a>) -> Result<()> {
        writeln!(self.out, "{record}").map_err(Error::writing_output)
    }
    fn flush(&mut self) -> Result<()> {
        Sink::<str>::flush(self)
    }
    fn close(&mut self) -> Result<()> {
        Sink::<str>::close(self)
    }
}

/// `co-printer`: any stream in, text out.
pub fn run_printer(input: &InputArgs, output: &TextOutputArgs) -> Result<()> {
    let mut reader = input.open()?;
    let mut printer = Printer::new(output.open()?);
    link::recv_any(
        &mut reader,
        "co-printer",
        &mut printer,
        &Shutdown::on_signals(),
    )
}
