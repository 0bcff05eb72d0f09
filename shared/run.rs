//! The one driver every stage binary calls.
//!
//! [`stage_main`] answers `--describe`, parses the arguments (clap: `--help`, `--version`,
//! exit status 2 on a usage error), sets up signals, runs the stage, and turns the outcome
//! into an exit status and at most one line on stderr:
//!
//! * success, or a downstream that closed early (`| head -1`, a broken pipe): exit 0, quietly;
//! * a usage error found after parsing (say, frames to a terminal): `co-x: error: ...`, exit 2;
//! * anything else: `co-x: error: ...`, exit 1.
//!
//! Under the launcher, `COPIPE_STATS_FILE` names a file where the stage leaves, at exit, the
//! events and bytes that crossed each of its links (JSON).

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use clap::Parser;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::link::endpoint::{self, Endpoint};
use crate::link::frame::LinkCounters;
use crate::link::{FrameReader, FrameWriter, DEFAULT_MAX_FRAME};
use crate::signals;

/// What flows in or out of a stage, as `--describe` reports it to the launcher.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Port {
    /// Plain bytes (text, XML documents), not frames.
    Text,
    Lines,
    Xml,
    Records,
    /// Frames of any kind; on an output, the same kind as the input.
    Any,
    /// Nothing: a source's input or a sink's output.
    None,
}

impl From<EventKind> for Port {
    fn from(kind: EventKind) -> Self {
        match kind {
            EventKind::Lines => Port::Lines,
            EventKind::Xml => Port::Xml,
            EventKind::Records => Port::Records,
        }
    }
}

/// Who a stage is: its name (for messages) and its ports (for `--describe`).
#[derive(Clone, Copy, Debug, Serialize)]
pub struct StageInfo {
    pub name: &'static str,
    pub input: Port,
    pub output: Port,
    /// True for a stage with several inputs (`co-merge`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub many_inputs: bool,
    /// True for a stage with several outputs (`co-broadcast`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub many_outputs: bool,
}

impl StageInfo {
    pub const fn new(name: &'static str, input: Port, output: Port) -> Self {
        StageInfo {
            name,
            input,
            output,
            many_inputs: false,
            many_outputs: false,
        }
    }
}

/// The input options every frame-reading stage shares.
#[derive(Debug, Clone, clap::Args)]
pub struct InputArgs {
    /// Read frames from PATH (a named pipe or file) instead of standard input.
    #[arg(long, value_name = "PATH")]
    pub input: Option<PathBuf>,
    /// Largest frame accepted, in bytes; a larger one is refused before any allocation.
    #[arg(long, value_name = "BYTES", default_value_t = DEFAULT_MAX_FRAME)]
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
        register("input", &label, reader.counters());
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
    register("output", &label, writer.counters());
    writer
}

/// A frame reader on an opened endpoint, its counters registered for statistics.
pub fn frame_reader(file: File, label: String, max_frame: usize) -> Result<FrameReader<File>> {
    let reader = FrameReader::open(file, label.clone(), max_frame)?;
    register("input", &label, reader.counters());
    Ok(reader)
}

/// Sets SIGINT handling for a stage whose main input is `file` (see [`crate::signals`]).
pub fn set_signal_manners(file: &File) {
    if endpoint::is_pipe(file) {
        signals::ignore_interrupt();
    } else {
        signals::stop_on_signals();
    }
}

struct Registered {
    direction: &'static str,
    label: String,
    counters: Arc<LinkCounters>,
}

static LINKS: Mutex<Vec<Registered>> = Mutex::new(Vec::new());

/// Records a link's counters for the statistics written at exit.
pub fn register(direction: &'static str, label: &str, counters: Arc<LinkCounters>) {
    if let Ok(mut links) = LINKS.lock() {
        links.push(Registered {
            direction,
            label: label.to_owned(),
            counters,
        });
    }
}

#[derive(Serialize)]
struct LinkStats<'a> {
    direction: &'a str,
    label: &'a str,
    events: u64,
    bytes: u64,
}

/// Writes the registered links' counters to `$COPIPE_STATS_FILE`, if set.
fn write_stats() {
    let Some(path) = std::env::var_os("COPIPE_STATS_FILE") else {
        return;
    };
    let Ok(links) = LINKS.lock() else { return };
    let stats: Vec<LinkStats> = links
        .iter()
        .map(|l| {
            let (events, bytes) = l.counters.get();
            LinkStats {
                direction: l.direction,
                label: &l.label,
                events,
                bytes,
            }
        })
        .collect();
    if let Ok(json) = serde_json::to_vec(&stats) {
        let _ = std::fs::write(path, json);
    }
}

/// Runs a stage binary: see the module documentation.
pub fn stage_main<A: Parser>(info: &StageInfo, body: impl FnOnce(A) -> Result<()>) -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    if let (Some(first), None) = (args.next(), args.next()) {
        if first == "--describe" {
            let json = serde_json::to_string(info).expect("StageInfo serializes");
            let mut out = std::io::stdout().lock();
            return match writeln!(out, "{json}") {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::from(1),
            };
        }
    }
    let name = info.name;
    std::panic::set_hook(Box::new(move |p| {
        eprintln!("{name}: error: internal error (a bug in copipe): {p}");
    }));
    // Name the command after the stage (not the package), for --help, --version and errors.
    let matches = A::command().name(name).bin_name(name).get_matches();
    let args = A::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let outcome = body(args);
    write_stats();
    finish(name, outcome)
}

/// Maps a stage's outcome to an exit status and a one-line message.
pub fn finish(name: &str, outcome: Result<()>) -> ExitCode {
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "{name}: error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

/// The standard `Error::Usage` for a bad argument value found after parsing.
pub fn usage(message: impl Into<String>) -> Error {
    Error::Usage(message.into())
}
