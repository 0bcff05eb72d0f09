//! One error type for the whole library.
//!
//! Every variant is written to be read on one line after `co-stage: error: `, and says where
//! the problem is (a byte offset in the stream, a line:column in a document, a stage or
//! field name) and, where there is one, what the user can do about it.

use std::borrow::Cow;
use std::io::{self, Write};
use std::process::ExitCode;

use crate::event::EventKind;

/// Result with the library's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a stage, a link or the launcher.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error with a short description of what was being done.
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },

    /// The input ended before any header arrived.
    #[error("input is empty: no copipe stream header (did the upstream stage fail to start?)")]
    EmptyInput,

    /// The first bytes are not a copipe header: usually text piped straight into a stage.
    #[error("input is not a copipe stream (it starts with {found}); convert text to line events with co-lines first")]
    NotCopipe { found: String },

    /// A header from a newer (or older) copipe.
    #[error("unsupported copipe stream version {found} (this build reads version {supported})")]
    Version { found: u8, supported: u8 },

    /// The header names an event kind this build does not know.
    #[error("unknown event kind {found} in the stream header at byte 6")]
    UnknownKind { found: u8 },

    /// The reserved header byte is not 0: a stream from a newer copipe, or not a stream.
    #[error(
        "reserved header byte at byte {offset} is {found}, not 0 (a stream from a newer copipe?)"
    )]
    Reserved { offset: u64, found: u8 },

    /// Bytes after an end-of-stream marker that do not start another stream of the same kind.
    #[error("unexpected bytes after the end-of-stream marker at byte {offset} (they start with {found}); only another stream of the same kind may follow")]
    AfterEnd { offset: u64, found: String },

    /// A stream of another kind appended after the end of the first (`cat a.bin b.bin`).
    #[error("a stream of {found} follows the end of the stream of {expected} at byte {offset}; concatenated streams must carry one kind")]
    AppendedKind {
        offset: u64,
        expected: EventKind,
        found: EventKind,
    },

    /// A frame whose payload does not match its checksum: the bytes were changed on the way.
    #[error("corrupt frame at byte {offset}: checksum {found:#010x} does not match {expected:#010x} in its header (the stream was damaged in storage or transit)")]
    Checksum {
        offset: u64,
        expected: u32,
        found: u32,
    },

    /// A stage got a stream of the wrong kind of events.
    #[error("{stage} expects {expected}, got {found}")]
    WrongKind {
        stage: String,
        expected: EventKind,
        found: EventKind,
    },

    /// Several inputs of one stage carry different kinds of events.
    #[error("input {path} carries {found}, but the first input carries {expected}; all inputs must carry one kind")]
    MixedKinds {
        path: String,
        expected: EventKind,
        found: EventKind,
    },

    /// The stream ended in the middle of a frame.
    #[error("truncated frame at byte {offset}: the input ended mid-frame (the upstream stage died while writing)")]
    Truncated { offset: u64 },

    /// A frame header claims more bytes than the limit allows.
    #[error("frame at byte {offset} claims {len} bytes, over the limit of {max} bytes (raise it with --max-frame if the stream is genuine)")]
    FrameTooLarge { offset: u64, len: u64, max: usize },

    /// An event that is too large to send in one frame.
    #[error("an event of {len} bytes is over the frame limit of {max} bytes")]
    EventTooLarge { len: usize, max: usize },

    /// A frame whose payload does not decode as events of the stream's kind.
    #[error("undecodable frame at byte {offset}: {message}")]
    Decode { offset: u64, message: String },

    /// End of file without the end-of-stream marker.
    #[error("input ended at byte {offset} without an end-of-stream marker: the upstream stage failed or was killed")]
    MissingEnd { offset: u64 },

    /// An event could not be encoded.
    #[error("cannot encode event: {0}")]
    Encode(String),

    /// Text input that is not UTF-8.
    #[error("line {line} (byte {offset}) is not valid UTF-8 (use --lossy to replace bad bytes)")]
    NotUtf8 { line: u64, offset: u64 },

    /// A line longer than the frame limit: refusing it bounds memory.
    #[error("line {line} (byte {offset}) is longer than the limit of {max} bytes (raise it with --max-line)")]
    LineTooLong { line: u64, offset: u64, max: usize },

    /// A bad line of a text source (JSON lines, CSV), 1-based.
    #[error("line {line}: {message}")]
    BadInput { line: u64, message: String },

    /// Malformed XML.
    #[error("malformed XML at {line}:{column} (byte {offset}): {message}")]
    Xml {
        line: u64,
        column: u64,
        offset: u64,
        message: String,
    },

    /// A record lacks a field that a stage needs.
    #[error("record {record} has no field {field:?}{hint}")]
    MissingField {
        field: String,
        record: String,
        hint: &'static str,
    },

    /// `send()` into a stage that is already running: the seed's "disturbing variation".
    #[error("send() into a stage that is already running (re-entrant send); the seed's 'disturbing variation' would crash here")]
    Reentrant,

    /// A stage running in a thread (`threaded`) failed or panicked.
    #[error("threaded stage failed: {0}")]
    Thread(String),

    /// A mistake in the text of a launcher spec (exit status 2); `spec` names it (a path,
    /// or `-e`).
    #[error("{spec}:{error}")]
    Spec {
        spec: String,
        error: Box<crate::launch::spec::SpecError>,
    },

    /// A mistake in the graph a launcher spec describes, found before anything runs (exit
    /// status 2).
    #[error("{spec}:{error}")]
    Graph {
        spec: String,
        error: Box<crate::launch::graph::GraphError>,
    },

    /// Wrong use of a command, found after argument parsing (exit status 2).
    #[error("{0}")]
    Usage(String),

    /// Anything else, already phrased for the user.
    #[error("{0}")]
    Other(String),
}

impl Error {
    /// Wraps an I/O error with what was being done when it happened.
    pub fn io(context: impl Into<String>, source: io::Error) -> Self {
        Error::Io {
            context: context.into(),
            source,
        }
    }

    /// A failed write of a stage's text output: what printers and dumps map their writes'
    /// errors to.
    pub fn writing_output(source: io::Error) -> Self {
        Error::io("writing output", source)
    }

    /// True when the error is a write to a closed pipe: the downstream exited early (as
    /// `| head -1` does), which is a quiet stop, not a failure.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == io::ErrorKind::BrokenPipe)
    }

    /// The process exit status this error calls for: 2 for usage errors, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) | Error::Spec { .. } | Error::Graph { .. } => 2,
            _ => 1,
        }
    }
}

/// The one mapping from a program's outcome to its exit status, for every binary and
/// example: `Ok(code)` exits with `code`; a write to a closed pipe (the reader went away, as
/// `| head -1` does) exits 0 quietly; any other error is one line on stderr,
/// `program: error: ...`, and exits 2 for a usage error, 1 otherwise.
pub fn exit_status(program: &str, outcome: Result<u8>) -> ExitCode {
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) if e.is_broken_pipe() => ExitCode::SUCCESS,
        Err(e) => {
            let message = e.to_string();
            let _ = writeln!(
                io::stderr().lock(),
                "{program}: error: {}",
                one_line(&message)
            );
            ExitCode::from(e.exit_code())
        }
    }
}

/// `message` on one line whatever it quotes: a line break or other control character taken
/// from the input (an XML name cut across lines, an encoding label) is shown escaped (`\n`),
/// so the error stays the one line tools and the launcher read.
pub fn one_line(message: &str) -> Cow<'_, str> {
    if !message.contains(char::is_control) {
        return Cow::Borrowed(message);
    }
    let mut out = String::with_capacity(message.len() + 8);
    for c in message.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Adds context to `io::Result`s: `file.read(buf).context_io("reading input")?`.
pub trait IoContext<T> {
    fn context_io(self, context: impl FnOnce() -> String) -> Result<T>;
}

impl<T> IoContext<T> for io::Result<T> {
    fn context_io(self, context: impl FnOnce() -> String) -> Result<T> {
        self.map_err(|e| Error::io(context(), e))
    }
}

#[cfg(test)]
mod tests {
    use super::one_line;

    #[test]
    fn control_characters_in_a_message_are_escaped() {
        assert_eq!(one_line("plain: text é"), "plain: text é");
        assert_eq!(
            one_line("expected `</b>`, but `</\n  <c>\r\t\u{1}` was found"),
            "expected `</b>`, but `</\\n  <c>\\r\\t\\u{1}` was found"
        );
    }
}
