//! The clap argument groups the stage binaries share, and opening what they name.

use std::fs::File;
use std::io::BufWriter;
use std::path::PathBuf;

use crate::error::Result;
use crate::event::EventKind;
use crate::link::endpoint::{self, Endpoint};
use crate::link::frame::MAX_MAX_FRAME;
use crate::link::{FrameReader, FrameWriter, DEFAULT_MAX_FRAME};
use crate::protocol::Direction;
use crate::signals;
use crate::stats::register;

/// The input options every frame-reading stage shares.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Read frames from PATH (a named pipe or file) instead of standard input.
    #[arg(long, value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// Largest frame accepted, in bytes (1 to 1073741824); a larger one is refused before
    /// any allocation.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FRAME, value_parser = max_frame_bytes)]
    pub max_frame: usize,
}

/// The output options every frame-writing stage shares.
#[derive(Debug, Clone, clap::Args)]
pub struct OutputArgs {
    /// Write frames to PATH (a named pipe or file) instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// The output option of stages that write text (printers), not frames.
#[derive(Debug, Clone, clap::Args)]
pub struct TextOutputArgs {
    /// Write the text to PATH instead of standard output.
    #[arg(long, value_name = "PATH")]
    pub output: Option<PathBuf>,
}

/// Parses `--max-frame`: a byte count from 1 to [`MAX_MAX_FRAME`].
pub fn max_frame_bytes(text: &str) -> std::result::Result<usize, String> {
    let n: usize = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number of bytes"))?;
    if (1..=MAX_MAX_FRAME).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "{n} is out of range: a frame limit is 1 to {MAX_MAX_FRAME} bytes (1 GiB)"
        ))
    }
}

impl TextOutputArgs {
    /// Opens the output for text (a terminal is fine), buffered.
    pub fn open(&self) -> Result<BufWriter<File>> {
        let Endpoint { file, .. } = endpoint::open_output(self.output.as_deref(), false)?;
        Ok(BufWriter::with_capacity(64 << 10, file))
    }
}

impl InputArgs {
    /// Opens the input and reads its header. Sets the stage's SIGINT manners: fed by a pipe,
    /// it ignores SIGINT; reading a file, it is a source and stops cleanly on SIGINT.
    pub fn open(&self) -> Result<FrameReader<File>> {
        let Endpoint { file, label } = endpoint::open_input(self.input.as_deref())?;
        set_signal_manners(&file);
        let reader = FrameReader::open(file, label.clone(), self.max_frame)?;
        register(Direction::Input, &label, reader.counters());
        Ok(reader)
    }
}

impl OutputArgs {
    /// Opens the output for frames of `kind` (refusing a terminal).
    pub fn open(&self, kind: EventKind) -> Result<FrameWriter<File>> {
        let Endpoint { file, label } = endpoint::open_output(self.output.as_deref(), true)?;
        Ok(frame_writer(file, label, kind))
    }
}

/// A frame writer on an opened endpoint, its counters registered for statistics.
pub fn frame_writer(file: File, label: String, kind: EventKind) -> FrameWriter<File> {
    let writer = FrameWriter::new(file, kind, label.clone());
    register(Direction::Output, &label, writer.counters());
    writer
}

/// A frame reader on an opened endpoint, its counters registered for statistics.
pub fn frame_reader(file: File, label: String, max_frame: usize) -> Result<FrameReader<File>> {
    let reader = FrameReader::open(file, label.clone(), max_frame)?;
    register(Direction::Input, &label, reader.counters());
    Ok(reader)
}

/// Sets signal handling for a stage whose main input is `file` (see [`crate::signals`]):
/// SIGTERM (and SIGINT unless fed by a pipe) stops it cleanly, flushing what it produced.
pub fn set_signal_manners(file: &File) {
    signals::stop_on_signals();
    if endpoint::is_pipe(file) {
        signals::ignore_interrupt();
    }
}
