//! The framing of a link: header, length-prefixed frames, end-of-stream.
//!
//! ```text
//! header   "\xC0PIPE"  version:u8  kind:u8  reserved:u8 (0)          8 bytes
//! frame    length:u32le  events:u32le  payload[length]                one or more events
//! end      length = 0, events = 0                                     written by close()
//! ```
//!
//! The magic starts with 0xC0, a byte that never begins UTF-8 text, so text piped into a
//! stage by mistake is recognised at once. A frame batches many small events (up to
//! [`BATCH_BYTES`] of payload) so that per-frame costs vanish; an event larger than that gets a
//! frame of its own. Frames are written whole and read whole, so a fan-in that copies frames
//! can never interleave two events. End of file without the end marker means the writer died,
//! and the reader says so instead of finishing quietly.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;

use super::codec;
use crate::error::{Error, IoContext, Result};
use crate::event::EventKind;

/// The first five bytes of every copipe stream.
pub const MAGIC: [u8; 5] = *b"\xC0PIPE";
/// The format version this build writes and reads.
pub const VERSION: u8 = 1;
/// Bytes in the stream header.
pub const HEADER_LEN: usize = 8;
/// Bytes in a frame header (length and event count).
pub const FRAME_HEADER_LEN: usize = 8;
/// Default limit on one frame's payload: a reader never allocates more than this for a frame.
pub const DEFAULT_MAX_FRAME: usize = 16 << 20;
/// A writer closes its current frame once the payload reaches this size.
pub const BATCH_BYTES: usize = 32 << 10;
/// A writer hands its buffer to the OS once it holds this much.
const WRITE_CHUNK: usize = 64 << 10;
/// Initial capacity of a reader's buffer.
const READ_CHUNK: usize = 128 << 10;
/// A reader moves leftover bytes to the front rather than read into less space than this.
const MIN_READ: usize = 16 << 10;

/// Events and bytes that crossed one link, shared with whoever reports statistics.
#[derive(Debug, Default)]
pub struct LinkCounters {
    pub events: AtomicU64,
    pub bytes: AtomicU64,
}

impl LinkCounters {
    fn add(&self, events: u64, bytes: u64) {
        self.events.fetch_add(events, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// (events, bytes) so far.
    pub fn get(&self) -> (u64, u64) {
        (
            self.events.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

fn header(kind: EventKind) -> [u8; HEADER_LEN] {
    let m = MAGIC;
    [m[0], m[1], m[2], m[3], m[4], VERSION, kind.tag(), 0]
}

/// Writes a stream: header, batched frames, end marker.
///
/// Nothing reaches the OS until a batch fills, [`flush`](Self::flush) is called (the driver
/// does so when it is about to block on input) or the stream is closed.
pub struct FrameWriter<W: Write> {
    out: W,
    label: String,
    /// Bytes not yet written to `out`: finished frames, then the frame being filled.
    pending: Vec<u8>,
    /// Where the frame being filled starts in `pending` (its 8-byte header).
    frame_start: usize,
    frame_events: u32,
    max_frame: usize,
    counters: Arc<LinkCounters>,
    closed: bool,
}

impl<W: Write> FrameWriter<W> {
    /// A writer of `kind` events to `out`; `label` names the output in error messages.
    pub fn new(out: W, kind: EventKind, label: impl Into<String>) -> Self {
        let mut pending = Vec::with_capacity(WRITE_CHUNK + BATCH_BYTES);
        pending.extend_from_slice(&header(kind));
        FrameWriter {
            out,
            label: label.into(),
            pending,
            frame_start: 0,
            frame_events: 0,
            max_frame: DEFAULT_MAX_FRAME,
            counters: Arc::default(),
            closed: false,
        }
    }

    /// Sets the largest frame this writer will produce.
    pub fn with_max_frame(mut self, max_frame: usize) -> Self {
        self.max_frame = max_frame.max(1);
        self
    }

    /// The events and bytes written so far (counted per finished frame).
    pub fn counters(&self) -> Arc<LinkCounters> {
        Arc::clone(&self.counters)
    }

    /// Appends one event to the current frame.
    #[inline]
    pub fn write_event<T: Serialize + ?Sized>(&mut self, event: &T) -> Result<()> {
        if self.frame_events == 0 {
            self.frame_start = self.pending.len();
            self.pending.extend_from_slice(&[0; FRAME_HEADER_LEN]);
        }
        let before = self.pending.len();
        codec::encode_into(event, &mut self.pending).map_err(Error::Encode)?;
        let payload = self.pending.len() - self.frame_start - FRAME_HEADER_LEN;
        if payload > self.max_frame {
            self.split_oversized(before)?;
        }
        self.frame_events += 1;
        if payload >= BATCH_BYTES {
            self.finish_frame();
            if self.pending.len() >= WRITE_CHUNK {
                self.write_pending()?;
            }
        }
        Ok(())
    }

    /// The frame grew past the limit with the event that starts at `event_start`: refuse an
    /// event that is too large on its own, or else move it into a frame of its own.
    #[cold]
    fn split_oversized(&mut self, event_start: usize) -> Result<()> {
        let len = self.pending.len() - event_start;
        if len > self.max_frame || self.frame_events == 0 {
            self.pending.truncate(event_start);
            if self.frame_events == 0 {
                self.pending.truncate(self.frame_start);
            }
            return Err(Error::EventTooLarge {
                len,
                max: self.max_frame,
            });
        }
        let event = self.pending.split_off(event_start);
        self.finish_frame();
        self.frame_start = self.pending.len();
        self.pending.extend_from_slice(&[0; FRAME_HEADER_LEN]);
        self.pending.extend_from_slice(&event);
        Ok(())
    }

    /// Copies a frame read from another link as it is (broadcast and merge do this: events
    /// stay whole and are never decoded).
    pub fn write_frame(&mut self, events: u32, payload: &[u8]) -> Result<()> {
        self.finish_frame();
        self.pending
            .extend_from_slice(&(payload.len() as u32).to_le_bytes());
        self.pending.extend_from_slice(&events.to_le_bytes());
        self.pending.extend_from_slice(payload);
        self.counters
            .add(u64::from(events), (payload.len() + FRAME_HEADER_LEN) as u64);
        if self.pending.len() >= WRITE_CHUNK {
            self.write_pending()?;
        }
        Ok(())
    }

    /// Fills in the header of the frame being built, if it has events.
    fn finish_frame(&mut self) {
        if self.frame_events == 0 {
            return;
        }
        let len = self.pending.len() - self.frame_start - FRAME_HEADER_LEN;
        let h = &mut self.pending[self.frame_start..self.frame_start + FRAME_HEADER_LEN];
        h[..4].copy_from_slice(&(len as u32).to_le_bytes());
        h[4..].copy_from_slice(&self.frame_events.to_le_bytes());
        self.counters.add(
            u64::from(self.frame_events),
            (len + FRAME_HEADER_LEN) as u64,
        );
        self.frame_events = 0;
    }

    fn write_pending(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let label = &self.label;
            self.out
                .write_all(&self.pending)
                .context_io(|| format!("writing to {label}"))?;
            self.pending.clear();
        }
        Ok(())
    }

    /// Sends everything written so far on its way.
    pub fn flush(&mut self) -> Result<()> {
        self.finish_frame();
        self.write_pending()?;
        let label = &self.label;
        self.out
            .flush()
            .context_io(|| format!("writing to {label}"))
    }

    /// Ends the stream with the end-of-stream marker and flushes. Idempotent.
    pub fn close(&mut self) -> Result<()> {
        if self.closed {
            return Ok(());
        }
        self.finish_frame();
        self.pending.extend_from_slice(&[0; FRAME_HEADER_LEN]);
        self.closed = true;
        self.flush()
    }

    /// The output, for callers that need it back (tests).
    pub fn into_inner(self) -> W {
        self.out
    }
}

/// One frame as read: its event count, payload, and where it started in the stream.
pub struct Frame<'a> {
    pub events: u32,
    pub payload: &'a [u8],
    pub offset: u64,
}

/// Reads a stream: checks the header, then hands out whole frames without copying them.
///
/// The reader keeps its own buffer (not a `BufReader`) so that a frame that straddles a
/// refill is moved to the front and completed in place: every frame is one contiguous slice
/// of the buffer, which events are decoded from without allocation.
pub struct FrameReader<R: Read> {
    input: R,
    label: String,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Stream offset of `buf[start]`.
    offset: u64,
    eof: bool,
    kind: EventKind,
    max_frame: usize,
    counters: Arc<LinkCounters>,
    ended: bool,
}

impl<R: Read> FrameReader<R> {
    /// Reads and checks the stream header. `label` names the input in error messages.
    pub fn open(input: R, label: impl Into<String>, max_frame: usize) -> Result<Self> {
        let mut reader = FrameReader {
            input,
            label: label.into(),
            buf: vec![0; READ_CHUNK],
            start: 0,
            end: 0,
            offset: 0,
            eof: false,
            kind: EventKind::Lines,
            max_frame: max_frame.max(1),
            counters: Arc::default(),
            ended: false,
        };
        let have = reader.fill(HEADER_LEN)?;
        let head = &reader.buf[reader.start..reader.start + have];
        if have == 0 {
            return Err(Error::EmptyInput);
        }
        let magic_len = have.min(MAGIC.len());
        if head[..magic_len] != MAGIC[..magic_len] {
            return Err(Error::NotCopipe {
                found: format!("\"{}\"", head.escape_ascii()),
            });
        }
        if have < HEADER_LEN {
            return Err(Error::Truncated { offset: 0 });
        }
        if head[5] != VERSION {
            return Err(Error::Version {
                found: head[5],
                supported: VERSION,
            });
        }
        reader.kind = EventKind::from_tag(head[6]).ok_or(Error::UnknownKind { found: head[6] })?;
        reader.consume(HEADER_LEN);
        Ok(reader)
    }

    /// The kind of events the stream carries, from its header.
    pub fn kind(&self) -> EventKind {
        self.kind
    }

    /// Fails unless the stream carries `expected` events; `stage` names the reader.
    pub fn expect_kind(&self, stage: &str, expected: EventKind) -> Result<()> {
        if self.kind == expected {
            Ok(())
        } else {
            Err(Error::WrongKind {
                stage: stage.to_owned(),
                expected,
                found: self.kind,
            })
        }
    }

    /// The events and bytes read so far.
    pub fn counters(&self) -> Arc<LinkCounters> {
        Arc::clone(&self.counters)
    }

    /// True when no input is buffered: the next frame needs a read that may block. The
    /// moment to flush downstream.
    pub fn would_block(&self) -> bool {
        self.start == self.end && !self.eof
    }

    /// True once the end-of-stream marker has been read.
    pub fn ended(&self) -> bool {
        self.ended
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.offset += n as u64;
    }

    /// Makes at least `want` bytes available from `start` unless the input ends first;
    /// returns how many are available (capped at what was read).
    fn fill(&mut self, want: usize) -> Result<usize> {
        while self.end - self.start < want && !self.eof {
            if self.start == self.end {
                self.start = 0;
                self.end = 0;
            } else if self.buf.len() - self.start < want || self.buf.len() - self.end < MIN_READ {
                // Move the partial frame to the front so it completes in one slice.
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            if self.buf.len() < want {
                // Only for a frame larger than the buffer; bounded by max_frame, which the
                // caller checked before asking for it.
                self.buf.resize(want, 0);
            }
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let label = &self.label;
                    return Err(Error::io(format!("reading {label}"), e));
                }
            }
        }
        Ok((self.end - self.start).min(want))
    }

    /// The next frame, or `None` after the end-of-stream marker.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>> {
        if self.ended {
            return Ok(None);
        }
        let offset = self.offset;
        match self.fill(FRAME_HEADER_LEN)? {
            0 => return Err(Error::MissingEnd { offset }),
            n if n < FRAME_HEADER_LEN => return Err(Error::Truncated { offset }),
            _ => {}
        }
        let h = &self.buf[self.start..self.start + FRAME_HEADER_LEN];
        let len = u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize;
        let events = u32::from_le_bytes([h[4], h[5], h[6], h[7]]);
        if len == 0 {
            self.consume(FRAME_HEADER_LEN);
            if events != 0 {
                return Err(Error::Decode {
                    offset,
                    message: format!("empty frame claims {events} events"),
                });
            }
            self.ended = true;
            return Ok(None);
        }
        if len > self.max_frame {
            return Err(Error::FrameTooLarge {
                offset,
                len: len as u64,
                max: self.max_frame,
            });
        }
        if events == 0 || events as usize > len {
            return Err(Error::Decode {
                offset,
                message: format!("frame of {len} bytes claims {events} events"),
            });
        }
        let total = FRAME_HEADER_LEN + len;
        if self.fill(total)? < total {
            return Err(Error::Truncated { offset });
        }
        let at = self.start + FRAME_HEADER_LEN;
        self.consume(total);
        self.counters.add(u64::from(events), total as u64);
        Ok(Some(Frame {
            events,
            payload: &self.buf[at..at + len],
            offset,
        }))
    }
}
