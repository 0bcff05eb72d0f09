//! `co-from-csv` and `co-to-csv`: CSV with a header row to records and back, with the `csv`
//! crate (RFC 4180 quoting; any one-byte delimiter, so `--delimiter tab` reads and writes TSV).
//!
//! Reading, the header names the fields and each row becomes one record, its cells in column
//! order (or in the order `--fields` gives). A row with the wrong number of cells or a cell
//! that is not UTF-8 is a one-line error naming its line, or is skipped and counted
//! (`--skip-bad`). Rows are read into one reused `ByteRecord` and records borrow their text
//! from it: no allocation per row. A row may not grow past `--max-line` bytes, so a runaway
//! quoted field cannot exhaust memory.
//!
//! Writing, the header is `--fields`, or else the first record's field names; each record
//! gives one row, its values looked up by name. A record without one of the columns gives an
//! empty cell, or an error with `--missing error`; fields outside the columns are left out.

use std::cell::{Cell, RefCell};
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::Path;
use std::rc::Rc;

use crate::args::{InputArgs, OutputArgs, TextOutputArgs};
use crate::error::{Error, Result};
use crate::event::{EventKind, Field, Record};
use crate::link::{self, Records, SendTo};
use crate::signals::{self, Shutdown};
use crate::sink::Sink;
use crate::stages::lines::open_text_input;
use crate::stages::record_buf::FieldBuf;
use crate::stages::text_input::{BadInput, TextInputArgs};

/// The options both CSV stages share.
#[derive(Debug, Clone, clap::Args)]
pub struct CsvArgs {
    /// The cell separator: one character, or `tab` (`\t`) for TSV.
    #[arg(long, short = 'd', value_name = "CHAR", default_value = ",", value_parser = parse_delimiter)]
    pub delimiter: u8,
    /// The columns, in order, separated by commas (`--fields id,route`). Reading, the header
    /// must have them; writing, they are the header.
    #[arg(long, value_name = "NAME,...", value_delimiter = ',')]
    pub fields: Option<Vec<String>>,
}

/// `,` `;` `|` ... or `tab` / `\t`: one ASCII byte.
fn parse_delimiter(text: &str) -> std::result::Result<u8, String> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if text.len() == 1 && text.is_ascii() => Ok(text.as_bytes()[0]),
        _ => Err(format!(
            "{text:?} is not one ASCII character (use `tab` for a tab)"
        )),
    }
}

/// What `co-to-csv` does with a record that lacks a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Missing {
    /// Write an empty cell.
    Empty,
    /// Stop with an error naming the record and the field.
    Error,
}

/// The `csv` crate's reader pulls its input; this is what it pulls from. It counts the bytes
/// read since the current row began and fails the read once a row outgrows the limit (the
/// crate would otherwise grow its record without bound), and it calls `idle` before a read
/// that may block, so the records already made are flushed downstream while the input is
/// quiet (a live CSV source stays prompt).
struct Bounded {
    inner: BufReader<Box<dyn Read>>,
    read: u64,
    row_start: Rc<Cell<u64>>,
    limit: u64,
    idle: Box<dyn FnMut() -> Result<()>>,
    /// The last byte read, and whether a stop request ended the input after a byte that
    /// ends no row: the row being read then was cut, and is not one.
    last: u8,
    cut: Rc<Cell<bool>>,
}

impl Read for Bounded {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.read - self.row_start.get() > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a row longer than --max-line ({} bytes)", self.limit),
            ));
        }
        if self.inner.buffer().is_empty() {
            (self.idle)().map_err(|e| {
                if e.is_broken_pipe() {
                    io::Error::from(io::ErrorKind::BrokenPipe)
                } else {
                    io::Error::other(e.to_string())
                }
            })?;
        }
        if signals::stop_requested() {
            self.cut.set(self.read > 0 && self.last != b'\n');
            return Ok(0);
        }
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        if n > 0 {
            self.last = buf[n - 1];
        }
        Ok(n)
    }
}

/// Where each output field comes from: a column of the input.
struct Columns {
    names: Vec<String>,
    take: Vec<usize>,
    width: usize,
}

/// Reads the header row and picks the columns `fields` asks for.
fn read_header<R: Read>(
    reader: &mut ::csv::Reader<R>,
    row: &mut ::csv::ByteRecord,
    fields: Option<&[String]>,
) -> Result<Option<Columns>> {
    if !reader.read_byte_record(row).map_err(csv_error)? {
        return Ok(None);
    }
    let line = row.position().map_or(1, ::csv::Position::line);
    let mut names = Vec::with_capacity(row.len());
    for (i, cell) in row.iter().enumerate() {
        let name = std::str::from_utf8(cell).map_err(|_| Error::BadInput {
            line,
            message: format!("header cell {} is not valid UTF-8", i + 1),
        })?;
        if names.iter().any(|n| n == name) {
            return Err(Error::BadInput {
                line,
                message: format!("the header names column {name:?} twice"),
            });
        }
        names.push(name.to_owned());
    }
    let take = match fields {
        None => (0..names.len()).collect(),
        Some(wanted) => wanted
            .iter()
            .map(|w| {
                names
                    .iter()
                    .position(|n| n == w)
                    .ok_or_else(|| Error::BadInput {
                        line,
                        message: format!("the header has no column {w:?} (it has {names:?})"),
                    })
            })
            .collect::<Result<_>>()?,
    };
    let width = names.len();
    Ok(Some(Columns { names, take, width }))
}

fn csv_error(e: ::csv::Error) -> Error {
    let line = e.position().map_or(0, ::csv::Position::line);
    match e.into_kind() {
        ::csv::ErrorKind::Io(io) if io.kind() == io::ErrorKind::InvalidData => Error::BadInput {
            line: line + 1,
            message: io.to_string(),
        },
        ::csv::ErrorKind::Io(io) => Error::io("reading input", io),
        other => Error::Other(format!("CSV error: {other:?}")),
    }
}

/// Sends one record per row of `reader` to `target`, then closes it. `target` is shared
/// with the reader's idle flush, so it is borrowed one record at a time.
fn send_rows<R: Read, S: for<'a> Sink<Record<'a>>>(
    reader: &mut ::csv::Reader<R>,
    row_start: &Cell<u64>,
    cut: &Cell<bool>,
    fields: Option<&[String]>,
    bad: &mut BadInput,
    target: &RefCell<S>,
) -> Result<()> {
    let mut row = ::csv::ByteRecord::new();
    let Some(columns) = read_header(reader, &mut row, fields)? else {
        return target.borrow_mut().close();
    };
    let mut buf = FieldBuf::new();
    loop {
        row_start.set(reader.position().byte());
        let read = reader.read_byte_record(&mut row);
        // A row cut short by a stop request (a drain) is dropped, whatever became of it.
        if cut.get() {
            break;
        }
        if !read.map_err(csv_error)? {
            break;
        }
        let line = row.position().map_or(0, ::csv::Position::line);
        if row.len() != columns.width {
            let message = format!(
                "the row has {} cells, the header {}",
                row.len(),
                columns.width
            );
            bad.reject(line, message)?;
            continue;
        }
        let sent = buf.with(|record| -> Result<Option<String>> {
            for &i in &columns.take {
                let Ok(value) = std::str::from_utf8(&row[i]) else {
                    return Ok(Some(format!("cell {} is not valid UTF-8", i + 1)));
                };
                record.fields.push(Field {
                    name: columns.names[i].as_str().into(),
                    value: value.into(),
                });
            }
            target.borrow_mut().send(record)?;
            Ok(None)
        })?;
        if let Some(message) = sent {
            bad.reject(line, message)?;
        }
    }
    target.borrow_mut().close()
}

/// `co-from-csv [FILE]`: CSV with a header in, records out.
pub fn run_from_csv(
    path: Option<&Path>,
    csv: &CsvArgs,
    options: &TextInputArgs,
    output: &OutputArgs,
) -> Result<()> {
    signals::stop_on_signals();
    let (input, _label) = open_text_input(path)?;
    let writer = output.open(EventKind::Records)?;
    let sink = Rc::new(RefCell::new(SendTo::<Records, File>::from_writer(writer)));
    let row_start = Rc::new(Cell::new(0));
    let cut = Rc::new(Cell::new(false));
    let idle_sink = Rc::clone(&sink);
    let bounded = Bounded {
        inner: input,
        read: 0,
        row_start: Rc::clone(&row_start),
        limit: options.max_line as u64,
        idle: Box::new(move || idle_sink.borrow_mut().flush()),
        last: b'\n',
        cut: Rc::clone(&cut),
    };
    let mut reader = ::csv::ReaderBuilder::new()
        .delimiter(csv.delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(64 << 10)
        .from_reader(bounded);
    let mut bad = BadInput::new(options.skip_bad, "rows");
    let outcome = send_rows(
        &mut reader,
        &row_start,
        &cut,
        csv.fields.as_deref(),
        &mut bad,
        &sink,
    );
    bad.report("co-from-csv");
    if outcome.is_err() {
        let _ = sink.borrow_mut().flush();
    }
    outcome
}

/// A sink that writes records as CSV rows under a header.
pub struct ToCsv<W: Write> {
    out: ::csv::Writer<W>,
    columns: Option<Vec<String>>,
    header: bool,
    missing: Missing,
    records: u64,
}

impl<W: Write> ToCsv<W> {
    /// `columns` fixes the header (else the first record's names do); `header` false leaves
    /// the header row out.
    pub fn new(
        out: W,
        delimiter: u8,
        columns: Option<Vec<String>>,
        header: bool,
        missing: Missing,
    ) -> Self {
        let out = ::csv::WriterBuilder::new()
            .delimiter(delimiter)
            .buffer_capacity(64 << 10)
            .from_writer(out);
        ToCsv {
            out,
            columns,
            header,
            missing,
            records: 0,
        }
    }

    fn write_header(&mut self, first: &Record<'_>) -> Result<()> {
        let columns = self
            .columns
            .get_or_insert_with(|| first.fields.iter().map(|f| f.name.to_string()).collect());
        if self.header {
            self.out.write_record(columns.iter()).map_err(write_error)?;
        }
        Ok(())
    }
}

fn write_error(e: ::csv::Error) -> Error {
    match e.into_kind() {
        ::csv::ErrorKind::Io(io) => Error::io("writing output", io),
        other => Error::Other(format!("CSV error: {other:?}")),
    }
}

impl<'r, W: Write> Sink<Record<'r>> for ToCsv<W> {
    fn send(&mut self, record: &Record<'r>) -> Result<()> {
        self.records += 1;
        if self.records == 1 {
            self.write_header(record)?;
        }
        let columns = self.columns.as_deref().unwrap_or_default();
        for (i, name) in columns.iter().enumerate() {
            // Records usually keep one field order: try the same position first.
            let value = match record.fields.get(i) {
                Some(f) if f.name == name.as_str() => Some(f.value.as_ref()),
                _ => record.get(name),
            };
            let value = match (value, self.missing) {
                (Some(v), _) => v,
                (None, Missing::Empty) => "",
                (None, Missing::Error) => {
                    return Err(Error::MissingField {
                        field: name.clone(),
                        record: format!("#{}", self.records),
                        hint: " (--missing empty writes an empty cell)",
                    })
                }
            };
            self.out.write_field(value).map_err(write_error)?;
        }
        self.out.write_record(None::<&[u8]>).map_err(write_error)
    }
    fn flush(&mut self) -> Result<()> {
        self.out.flush().map_err(|e| Error::io("writing output", e))
    }
    fn close(&mut self) -> Result<()> {
        if self.records == 0 && self.header {
            if let Some(columns) = &self.columns {
                self.out.write_record(columns).map_err(write_error)?;
            }
        }
        self.flush()
    }
}

/// `co-to-csv`: records in, CSV with a header out.
pub fn run_to_csv(
    csv: &CsvArgs,
    header: bool,
    missing: Missing,
    input: &InputArgs,
    output: &TextOutputArgs,
) -> Result<()> {
    let mut reader = input.open()?;
    let out = crate::link::endpoint::open_output(output.output.as_deref(), false)?;
    let mut sink = ToCsv::new(out.file, csv.delimiter, csv.fields.clone(), header, missing);
    link::recv_from::<Records, _, _>(&mut reader, "co-to-csv", &mut sink, &Shutdown::on_signals())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delimiters() {
        assert_eq!(parse_delimiter("tab"), Ok(b'\t'));
        assert_eq!(parse_delimiter("\\t"), Ok(b'\t'));
        assert_eq!(parse_delimiter(";"), Ok(b';'));
        assert!(parse_delimiter(";;").is_err());
        assert!(parse_delimiter("é").is_err());
    }
}
