//! `co-lines`: the source that turns text into line events.
//!
//! The seed's sources read a file and `send()` each line into the pipeline. [`send_lines`]
//! does that for any buffered reader: lines are cut at `\n` (which is not part of the event;
//! a `\r` before it is kept, so text round-trips byte for byte), a line is borrowed straight
//! from the read buffer when it lies within it, and no line may grow past the frame limit, so
//! memory stays bounded whatever the input.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::args::OutputArgs;
use crate::error::{Error, IoContext, Result};
use crate::link::endpoint::{self, StopAwareReader};
use crate::link::{Lines, SendTo};
use crate::signals;
use crate::sink::Sink;

/// How [`send_lines`] treats its input.
#[derive(Clone, Copy, Debug)]
pub struct LineOptions {
    /// Longest line accepted, in bytes.
    pub max_line: usize,
    /// Replace invalid UTF-8 with U+FFFD instead of failing.
    pub lossy: bool,
}

/// The line options shared by the text sources (`co-lines`, `co-follow`).
#[derive(Debug, Clone, clap::Args)]
pub struct LineArgs {
    /// Replace invalid UTF-8 with U+FFFD instead of stopping with an error.
    #[arg(long)]
    pub lossy: bool,
    /// Longest line accepted, in bytes (a longer one is an error, never an unbounded buffer).
    /// Lines over 16 MiB also need `--max-frame` on the stages that read them.
    #[arg(long, value_name = "BYTES", default_value_t = LineOptions::default().max_line,
          value_parser = crate::args::max_frame_bytes)]
    pub max_line: usize,
}

impl LineArgs {
    pub fn options(&self) -> LineOptions {
        LineOptions {
            max_line: self.max_line,
            lossy: self.lossy,
        }
    }
}

impl Default for LineOptions {
    fn default() -> Self {
        LineOptions {
            max_line: crate::link::DEFAULT_MAX_FRAME - 16,
            lossy: false,
        }
    }
}

/// Sends every line of `reader` to `target`, then closes it.
///
/// `target` is flushed whenever the next read may block (the buffer is empty), and the
/// loop ends early, closing `target` normally, once a stop is requested (SIGINT/SIGTERM).
pub fn send_lines<R: Read, S: Sink<str> + ?Sized>(
    reader: &mut BufReader<R>,
    options: LineOptions,
    target: &mut S,
) -> Result<()> {
    let outcome = read_lines(reader, options, target);
    crate::sink::deliver_then_close(outcome, target)
}

/// The loop of [`send_lines`], without the close.
fn read_lines<R: Read, S: Sink<str> + ?Sized>(
    reader: &mut BufReader<R>,
    options: LineOptions,
    target: &mut S,
) -> Result<()> {
    let mut partial: Vec<u8> = Vec::new();
    let mut line_no: u64 = 0;
    // Byte offset of the line being read, and of the read position.
    let mut offset: u64 = 0;
    let mut consumed: u64 = 0;
    let emit = |bytes: &[u8], line_no: u64, offset: u64, target: &mut S| -> Result<()> {
        match std::str::from_utf8(bytes) {
            Ok(line) => target.send(line),
            Err(_) if options.lossy => target.send(&String::from_utf8_lossy(bytes)),
            Err(_) => Err(Error::NotUtf8 {
                line: line_no,
                offset,
            }),
        }
    };
    loop {
        if signals::stop_requested() {
            break;
        }
        if reader.buffer().is_empty() {
            target.flush()?;
        }
        let available = reader.fill_buf().context_io(|| "reading input".into())?;
        if available.is_empty() {
            // A stop request ends a pipe's input where it stands: a line it cut is not one.
            if !partial.is_empty() && !signals::stop_requested() {
                line_no += 1;
                emit(&partial, line_no, offset, target)?;
            }
            break;
        }
        if let Some(i) = memchr::memchr(b'\n', available) {
            line_no += 1;
            let too_long = partial.len() + i > options.max_line;
            if too_long {
                return Err(Error::LineTooLong {
                    line: line_no,
                    offset,
                    max: options.max_line,
                });
            }
            if partial.is_empty() {
                emit(&available[..i], line_no, offset, target)?;
            } else {
                partial.extend_from_slice(&available[..i]);
                emit(&partial, line_no, offset, target)?;
                partial.clear();
            }
            reader.consume(i + 1);
            consumed += i as u64 + 1;
            offset = consumed;
        } else {
            let n = available.len();
            if partial.len() + n > options.max_line {
                return Err(Error::LineTooLong {
                    line: line_no + 1,
                    offset,
                    max: options.max_line,
                });
            }
            partial.extend_from_slice(available);
            reader.consume(n);
            consumed += n as u64;
        }
    }
    Ok(())
}

/// Opens a text input: standard input for `None` or `-`, else the file at `path`. Input
/// that can keep a reader waiting (a terminal, a pipe) is wrapped so a stop request ends it.
pub fn open_text_input(path: Option<&Path>) -> Result<(BufReader<Box<dyn Read>>, String)> {
    let endpoint::Endpoint { file, label } = endpoint::open_input(path)?;
    let waits = !file.metadata().is_ok_and(|m| m.file_type().is_file());
    let reader: Box<dyn Read> = if waits {
        Box::new(StopAwareReader::new(file))
    } else {
        Box::new(file)
    };
    Ok((BufReader::with_capacity(128 << 10, reader), label))
}

/// `co-lines [FILE|-]`: text lines in, line events out.
pub fn run_lines(path: Option<&Path>, options: LineOptions, output: &OutputArgs) -> Result<()> {
    signals::stop_on_signals();
    let (mut reader, _label) = open_text_input(path)?;
    let writer = output
        .open(crate::EventKind::Lines)?
        .with_max_frame(options.max_line.saturating_add(16));
    let mut sink = SendTo::<Lines, File>::from_writer(writer);
    send_lines(&mut reader, options, &mut sink)
}
