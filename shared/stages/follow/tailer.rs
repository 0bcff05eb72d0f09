//! One followed file: what has been read of it, the line being assembled, and how to notice
//! that the name now stands for another file (rotation) or that the file shrank (truncation).
//!
//! A file is known by its identity (device and inode), not its name: after `mv log log.1`
//! the open descriptor still reads the old file, which is what `tail -F` needs: finish the
//! old file to its end, then switch to the new one from its start. The descriptor also keeps
//! the old inode alive, so a re-created file can never reuse its number while we hold it.
//!
//! A truncation is seen as the file being shorter than what was read. A file truncated and
//! refilled past that point between two looks (which `tail -F` reads as an append, cutting a
//! line in two) is caught by the last bytes read: [`TAIL_CHECK`] bytes before the read
//! position are kept and compared with what the file holds there now; if they differ, the
//! file was rewritten and is read again from its start. Limits: a rewrite that puts back the
//! very same bytes at that spot reads as an append; and once the switch to a new file is made,
//! whatever a writer still appends to the old one is not read.

use std::borrow::Cow;
use std::fs::{self, File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::stages::lines::LineOptions;

/// Bytes read from the file per system call.
const READ_CHUNK: usize = 64 << 10;

/// How many of the last bytes read are kept to recognise a rewritten file.
const TAIL_CHECK: usize = 64;

/// What [`Tailer::check`] found at the end of the file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// Nothing: the same file, no shorter than what was read.
    None,
    /// The file shrank below what was read: reading restarts at its new start.
    Truncated,
    /// The name now stands for another file: the old one was read to its end, the new one
    /// is read from its start.
    Replaced,
    /// The file was truncated and refilled past what was read between two looks (its bytes
    /// before the read position changed): reading restarts at its start.
    Rewritten,
}

/// A followed file.
pub struct Tailer {
    path: PathBuf,
    label: String,
    file: File,
    identity: (u64, u64),
    /// Bytes read so far: the offset of the next read.
    pos: u64,
    buf: Vec<u8>,
    lines: LineSplitter,
    /// The last bytes read (up to [`TAIL_CHECK`]), which end at `pos`.
    tail: Vec<u8>,
    /// True after a read found the end of the file: the next read first makes sure the file
    /// was not rewritten meanwhile.
    idle: bool,
    /// A rewrite noticed by a read, reported by the next [`Tailer::check`].
    noticed: Option<Change>,
}

fn identity(meta: &Metadata) -> (u64, u64) {
    (meta.dev(), meta.ino())
}

/// Opens `path` for following; refuses anything but a regular file (a FIFO or a directory
/// cannot be followed by offset).
fn open_regular(path: &Path) -> io::Result<(File, Metadata)> {
    let file = File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        let what = if meta.is_dir() {
            "a directory"
        } else {
            "not a regular file"
        };
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("is {what}"),
        ));
    }
    Ok((file, meta))
}

impl Tailer {
    /// Opens `path`, positioned at its end (`from_start` false, the seed's `seek(0, 2)`) or
    /// at its start.
    pub fn open(path: &Path, from_start: bool, options: LineOptions) -> io::Result<Self> {
        let (mut file, meta) = open_regular(path)?;
        let pos = if from_start {
            0
        } else {
            file.seek(SeekFrom::End(0))?
        };
        // What lies just before the start position, to recognise a rewrite from the start.
        let mut tail = vec![0; usize::try_from(pos).map_or(TAIL_CHECK, |p| p.min(TAIL_CHECK))];
        let tail_start = pos - tail.len() as u64;
        std::os::unix::fs::FileExt::read_exact_at(&file, &mut tail, tail_start)?;
        Ok(Tailer {
            path: path.to_owned(),
            label: path.display().to_string(),
            file,
            identity: identity(&meta),
            pos,
            buf: vec![0; READ_CHUNK],
            lines: LineSplitter::new(options, pos),
            tail,
            idle: true,
            noticed: None,
        })
    }

    /// The file's name, for messages.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Reads one chunk and sends each complete line in it to `emit`; returns how many bytes
    /// were read (0: at the end of the file for now).
    pub fn read_chunk(&mut self, emit: &mut impl FnMut(&str) -> Result<()>) -> Result<usize> {
        if std::mem::take(&mut self.idle) && self.rewritten()? {
            self.restart(emit)?;
            self.noticed = Some(Change::Rewritten);
        }
        let n = self.read_some()?;
        self.idle = n == 0;
        let chunk = &self.buf[..n];
        self.lines.feed(&self.label, chunk, emit)?;
        self.advance(n);
        Ok(n)
    }

    /// Moves the read position past the first `n` bytes of `buf`, keeping the tail.
    fn advance(&mut self, n: usize) {
        let chunk = &self.buf[..n];
        let keep = chunk.len().min(TAIL_CHECK);
        self.tail.extend_from_slice(&chunk[chunk.len() - keep..]);
        if self.tail.len() > TAIL_CHECK {
            self.tail.drain(..self.tail.len() - TAIL_CHECK);
        }
        self.pos += n as u64;
    }

    /// True when the bytes before the read position are no longer the ones read there.
    fn rewritten(&self) -> Result<bool> {
        use std::os::unix::fs::FileExt;
        if self.tail.is_empty() {
            return Ok(false);
        }
        let mut now = [0; TAIL_CHECK];
        let now = &mut now[..self.tail.len()];
        match self
            .file
            .read_exact_at(now, self.pos - self.tail.len() as u64)
        {
            Ok(()) => Ok(now != self.tail.as_slice()),
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(true),
            Err(e) => Err(Error::io(format!("checking {}", self.label), e)),
        }
    }

    fn read_some(&mut self) -> Result<usize> {
        loop {
            match self.file.read(&mut self.buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Error::io(format!("reading {}", self.label), e)),
            }
        }
    }

    /// At the end of the file: checks whether it shrank or its name now stands for another
    /// file, and if so moves to the new start (sending whatever was held for the old one).
    pub fn check(&mut self, emit: &mut impl FnMut(&str) -> Result<()>) -> Result<Change> {
        if let Some(change) = self.noticed.take() {
            return Ok(change);
        }
        let len = self
            .file
            .metadata()
            .map_err(|e| Error::io(format!("checking {}", self.label), e))?
            .len();
        let change = if len < self.pos {
            Change::Truncated
        } else if self.rewritten()? {
            Change::Rewritten
        } else {
            Change::None
        };
        if change != Change::None {
            self.restart(emit)?;
            return Ok(change);
        }
        let named = match fs::metadata(&self.path) {
            Ok(meta) => meta,
            // Renamed or removed, not re-created yet: keep reading the old file, whose
            // writer may still be writing to it.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Change::None),
            Err(e) => return Err(Error::io(format!("checking {}", self.label), e)),
        };
        if identity(&named) == self.identity {
            return Ok(Change::None);
        }
        let (new_file, new_meta) = match open_regular(&self.path) {
            Ok(opened) => opened,
            // Gone again between the two looks: the next check will see what is there.
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Change::None),
            Err(e) => return Err(Error::io(format!("opening the new {}", self.label), e)),
        };
        // Finish the old file: what its writer wrote up to now, then the unterminated rest.
        let old_len = self.file.metadata().map_or(self.pos, |m| m.len());
        while self.pos < old_len && self.read_chunk(emit)? > 0 {}
        self.lines.finish(&self.label, emit)?;
        self.file = new_file;
        self.identity = identity(&new_meta);
        self.restart_at(0);
        Ok(Change::Replaced)
    }

    /// Reads the file again from its start, after a truncation or a rewrite.
    fn restart(&mut self, emit: &mut impl FnMut(&str) -> Result<()>) -> Result<()> {
        // The line being assembled was written: send it rather than lose it.
        self.lines.finish(&self.label, emit)?;
        self.file
            .seek(SeekFrom::Start(0))
            .map_err(|e| Error::io(format!("rewinding {}", self.label), e))?;
        self.restart_at(0);
        Ok(())
    }

    fn restart_at(&mut self, pos: u64) {
        self.pos = pos;
        self.tail.clear();
        self.lines = LineSplitter::new(self.lines.options, pos);
    }

    /// Stops following: completes the line being assembled from what the file holds (up to
    /// its newline, or the end of the file) and sends it, so nothing read is lost and no line
    /// is cut short by the stop.
    pub fn finish(&mut self, emit: &mut impl FnMut(&str) -> Result<()>) -> Result<()> {
        while self.lines.is_partial() {
            let n = self.read_some()?;
            if n == 0 {
                break;
            }
            let upto = memchr::memchr(b'\n', &self.buf[..n]).map_or(n, |i| i + 1);
            self.lines.feed(&self.label, &self.buf[..upto], emit)?;
            self.advance(upto);
        }
        self.lines.finish(&self.label, emit)
    }
}

/// Cuts a byte stream into lines at `\n`, across reads.
///
/// A line that lies within one chunk is sent straight from it (no copy); one that straddles
/// chunks is assembled in `partial`, which never grows past the line limit.
struct LineSplitter {
    options: LineOptions,
    partial: Vec<u8>,
    /// File offset of the first byte of the line being assembled (for messages).
    line_start: u64,
}

impl LineSplitter {
    fn new(options: LineOptions, pos: u64) -> Self {
        LineSplitter {
            options,
            partial: Vec::new(),
            line_start: pos,
        }
    }

    fn is_partial(&self) -> bool {
        !self.partial.is_empty()
    }

    fn feed(
        &mut self,
        label: &str,
        chunk: &[u8],
        emit: &mut impl FnMut(&str) -> Result<()>,
    ) -> Result<()> {
        let mut rest = chunk;
        while let Some(i) = memchr::memchr(b'\n', rest) {
            let line: &[u8] = if self.partial.is_empty() {
                &rest[..i]
            } else {
                self.check_len(label, self.partial.len() + i)?;
                self.partial.extend_from_slice(&rest[..i]);
                &self.partial
            };
            self.check_len(label, line.len())?;
            emit(&decode(line, self.options.lossy, label, self.line_start)?)?;
            self.partial.clear();
            self.line_start += i as u64 + 1;
            rest = &rest[i + 1..];
        }
        self.check_len(label, self.partial.len() + rest.len())?;
        self.partial.extend_from_slice(rest);
        Ok(())
    }

    /// Sends the unterminated line being assembled, if any.
    fn finish(&mut self, label: &str, emit: &mut impl FnMut(&str) -> Result<()>) -> Result<()> {
        if self.partial.is_empty() {
            return Ok(());
        }
        let start = self.line_start;
        self.line_start += self.partial.len() as u64;
        emit(&decode(&self.partial, self.options.lossy, label, start)?)?;
        self.partial.clear();
        Ok(())
    }

    fn check_len(&self, label: &str, len: usize) -> Result<()> {
        if len > self.options.max_line {
            return Err(Error::Other(format!(
                "{label}: the line at byte {} is longer than {} bytes (raise --max-line)",
                self.line_start, self.options.max_line
            )));
        }
        Ok(())
    }
}

fn decode<'a>(bytes: &'a [u8], lossy: bool, label: &str, offset: u64) -> Result<Cow<'a, str>> {
    match std::str::from_utf8(bytes) {
        Ok(line) => Ok(Cow::Borrowed(line)),
        Err(_) if lossy => Ok(String::from_utf8_lossy(bytes)),
        Err(e) => Err(Error::Other(format!(
            "{label}: the line at byte {offset} is not valid UTF-8 (bad byte at {}; use --lossy to replace bad bytes)",
            offset + e.valid_up_to() as u64
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(chunks: &[&[u8]], options: LineOptions) -> (Vec<String>, Result<()>) {
        let mut lines = Vec::new();
        let mut splitter = LineSplitter::new(options, 100);
        let mut keep = |l: &str| {
            lines.push(l.to_owned());
            Ok(())
        };
        let outcome = chunks
            .iter()
            .try_for_each(|c| splitter.feed("log", c, &mut keep))
            .and_then(|()| splitter.finish("log", &mut keep));
        (lines, outcome)
    }

    #[test]
    fn lines_across_chunks_come_out_whole_and_once() {
        let (lines, outcome) = split(
            &[b"one\ntw", b"o", b"\nthree\n\nfo", b"ur"],
            LineOptions::default(),
        );
        outcome.unwrap();
        assert_eq!(lines, ["one", "two", "three", "", "four"]);
    }

    #[test]
    fn a_long_line_is_refused_with_its_offset() {
        let options = LineOptions {
            max_line: 4,
            lossy: false,
        };
        let (lines, outcome) = split(&[b"abcd\nabc", b"de\n"], options);
        assert_eq!(lines, ["abcd"]);
        let message = outcome.unwrap_err().to_string();
        assert!(message.contains("log: the line at byte 105"), "{message}");
    }

    #[test]
    fn bad_utf8_is_refused_or_replaced() {
        let (_, outcome) = split(&[b"ok\nb\xffd\n"], LineOptions::default());
        let message = outcome.unwrap_err().to_string();
        assert!(
            message.contains("byte 103") && message.contains("bad byte at 104"),
            "{message}"
        );
        let lossy = LineOptions {
            lossy: true,
            ..LineOptions::default()
        };
        let (lines, outcome) = split(&[b"ok\nb\xffd\n"], lossy);
        outcome.unwrap();
        assert_eq!(lines, ["ok", "b\u{FFFD}d"]);
    }
}
