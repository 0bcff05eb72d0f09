//! What the record sources (`co-from-json`, `co-from-csv`) share: reading text line by line
//! with bounded memory, and the bad-input policy (stop at the first bad line with a one-line
//! error naming it, or skip bad lines, count them, and say so at the end).

use std::io::{BufRead, BufReader, Read};

use crate::error::{Error, IoContext, Result};
use crate::signals;

/// The options every record source shares.
#[derive(Debug, Clone, clap::Args)]
pub struct TextInputArgs {
    /// Skip bad input (not JSON, not an object, wrong number of cells, invalid UTF-8), count
    /// it, and report the count on stderr at the end, instead of stopping at the first.
    #[arg(long)]
    pub skip_bad: bool,
    /// Longest line (or CSV row) accepted, in bytes: a longer one is an error, so memory stays
    /// bounded whatever the input.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_LINE)]
    pub max_line: usize,
}

/// The default `--max-line`: what fits in one frame.
pub const DEFAULT_MAX_LINE: usize = crate::link::DEFAULT_MAX_FRAME - 1024;

/// The bad-input policy at work: fails on the first bad line, or counts skipped ones.
pub struct BadInput {
    skip: bool,
    skipped: u64,
    first: Option<String>,
    what: &'static str,
}

impl BadInput {
    /// `what` names the units in the final report ("lines", "rows").
    pub fn new(skip: bool, what: &'static str) -> Self {
        BadInput {
            skip,
            skipped: 0,
            first: None,
            what,
        }
    }

    /// A bad line `line` (1-based): an error, or one more skipped line.
    pub fn reject(&mut self, line: u64, message: impl Into<String>) -> Result<()> {
        let message = message.into();
        if !self.skip {
            return Err(Error::BadInput {
                line,
                message: format!("{message} (--skip-bad skips and counts bad {})", self.what),
            });
        }
        self.skipped += 1;
        if self.first.is_none() {
            self.first = Some(format!("line {line}: {message}"));
        }
        Ok(())
    }

    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// Says on stderr how many bad lines were skipped, if any.
    pub fn report(&self, stage: &str) {
        if let Some(first) = &self.first {
            eprintln!(
                "{stage}: warning: skipped {} bad {} (the first: {first})",
                self.skipped, self.what
            );
        }
    }
}

/// Calls `line(state, number, bytes)` for every line of `reader` (without its `\n`),
/// numbered from 1, and `idle(state)` whenever the next read may block (the moment to flush downstream).
/// Stops early, normally, once a stop is requested (SIGINT/SIGTERM). A line longer than
/// `max_line` is an error: the partial line buffer never grows past it.
pub fn each_line<R: Read, T: ?Sized>(
    reader: &mut BufReader<R>,
    max_line: usize,
    state: &mut T,
    mut line: impl FnMut(&mut T, u64, &[u8]) -> Result<()>,
    mut idle: impl FnMut(&mut T) -> Result<()>,
) -> Result<()> {
    let mut partial: Vec<u8> = Vec::new();
    let mut number: u64 = 0;
    loop {
        if signals::stop_requested() {
            return Ok(());
        }
        if reader.buffer().is_empty() {
            idle(state)?;
        }
        let available = reader.fill_buf().context_io(|| "reading input".into())?;
        if available.is_empty() {
            // A stop request ends a pipe's input where it stands: a line it cut is not one.
            if !partial.is_empty() && !signals::stop_requested() {
                line(state, number + 1, &partial)?;
            }
            return Ok(());
        }
        let (end, used) = match memchr::memchr(b'\n', available) {
            Some(i) => (Some(i), i + 1),
            None => (None, available.len()),
        };
        let piece = &available[..end.unwrap_or(used)];
        if partial.len() + piece.len() > max_line {
            return Err(Error::BadInput {
                line: number + 1,
                message: format!("longer than --max-line ({max_line} bytes)"),
            });
        }
        if end.is_some() {
            number += 1;
            if partial.is_empty() {
                line(state, number, piece)?;
            } else {
                partial.extend_from_slice(piece);
                line(state, number, &partial)?;
                partial.clear();
            }
        } else {
            partial.extend_from_slice(piece);
        }
        reader.consume(used);
    }
}
