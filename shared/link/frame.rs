//! The framing of a link: header, length-prefixed frames, end-of-stream.
//!
//! ```text
//! header   "\xC0PIPE"  version:u8  kind:u8  reserved:u8 (0)          8 bytes
//! frame    length:u32le  events:u32le  crc32:u32le  payload[length]   one or more events
//! end      length = 0, events = 0, crc32 = 0                          written by close()
//! ```
//!
//! `crc32` is the CRC-32 (IEEE, as zlib computes it) of the event count and the payload: a pipe does not corrupt,
//! but streams are recorded to files and cross networks, and a flipped bit inside a string
//! still decodes. It costs little (crc32fast runs at many GB/s) and any language's zlib
//! checks it. Several streams of one kind written back to back (`cat a.bin b.bin`) read as
//! one stream, as gzip reads concatenated members; anything else after an end marker is an
//! error, never silently dropped.
//!
//! The magic starts with 0xC0, a byte that never begins UTF-8 text, so text piped into a
//! stage by mistake is recognised at once. A frame batches many small events (up to
//! [`BATCH_BYTES`] of payload) so that per-frame costs vanish; an event larger than that gets a
//! frame of its own. Frames are written whole and read whole, so a fan-in that copies frames
//! can never interleave two events. End of file without the end marker means the writer died,
//! and the reader says so instead of finishing quietly.

use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use serde::Serialize;

use super::codec;
use super::tap::TapSlot;
use crate::error::{Error, IoContext, Result};
use crate::event::EventKind;

/// The first five bytes of every copipe stream.
pub const MAGIC: [u8; 5] = *b"\xC0PIPE";
/// The format version this build writes and reads.
pub const VERSION: u8 = 2;
/// Bytes in the stream header.
pub const HEADER_LEN: usize = 8;
/// Bytes in a frame header (length, event count, checksum).
pub const FRAME_HEADER_LEN: usize = 12;
/// Default limit on one frame's payload: a reader never allocates more than this for a frame.
pub const DEFAULT_MAX_FRAME: usize = 16 << 20;
/// The largest `--max-frame` accepted: far above any real event, far below what a hostile
/// length field could make a reader reserve.
pub const MAX_MAX_FRAME: usize = 1 << 30;
/// A writer closes its current frame once the payload reaches this size.
pub const BATCH_BYTES: usize = 32 << 10;
/// A writer hands its buffer to the OS once it holds this much.
const WRITE_CHUNK: usize = 64 << 10;
/// A writer flushes once its oldest unsent event has waited this long (checked as events are
/// written), so a stage that is slow but never blocks on input still delivers promptly.
pub const FLUSH_AFTER_MS: u64 = 20;
/// The most events a writer lets pass between two reads of the clock. It reads the clock at
/// every event while events are sparse, and doubles the stride up to this while they come
/// faster than the clock ticks: a fast producer pays a clock read per 32 events, not per
/// event (the read was 4-7% of co-xml's time), and a producer that slows down after a burst
/// is checked again within 32 events, after which the stride is back to one.
const CLOCK_STRIDE_MAX: u32 = 32;
/// Initial capacity of a reader's buffer.
const READ_CHUNK: usize = 128 << 10;
/// A reader moves leftover bytes to the front rather than read into less space than this.
const MIN_READ: usize = 16 << 10;

/// Events and bytes that crossed one link, and the time its end spent in the OS waiting
/// (a writer blocked by a full pipe, a reader waiting for input), shared with whoever reports
/// statistics: `--stats` at exit, `copipe top` while the graph runs.
///
/// Counted per frame and per system call, never per event.
#[derive(Debug, Default)]
pub struct LinkCounters {
    pub events: AtomicU64,
    pub bytes: AtomicU64,
    pub blocked_ns: AtomicU64,
    /// When the wait under way began (nanoseconds since [`epoch`], plus one), 0 when none
    /// is: so a reader stuck for minutes in one `read` shows as waiting, live.
    blocked_since: AtomicU64,
    /// The stream header, on a writer's counters: what a tap attached mid-stream starts with.
    pub header: OnceLock<[u8; HEADER_LEN]>,
    /// A live copy of a writer's frames for `copipe tap`, when one is attached.
    pub tap: TapSlot,
}

impl LinkCounters {
    fn add(&self, events: u64, bytes: u64) {
        self.events.fetch_add(events, Ordering::Relaxed);
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
    }

    /// A system call that may wait begins.
    fn wait_begins(&self) -> Instant {
        let now = Instant::now();
        self.blocked_since
            .store(nanos_since_epoch(now) + 1, Ordering::Relaxed);
        now
    }

    /// The system call begun at `since` has returned.
    fn wait_ends(&self, since: Instant) {
        let ns = u64::try_from(since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.blocked_ns.fetch_add(ns, Ordering::Relaxed);
        self.blocked_since.store(0, Ordering::Relaxed);
    }

    /// Nanoseconds spent waiting in the OS so far, the wait under way included.
    pub fn blocked_ns(&self) -> u64 {
        let done = self.blocked_ns.load(Ordering::Relaxed);
        match self.blocked_since.load(Ordering::Relaxed) {
            0 => done,
            since => done + nanos_since_epoch(Instant::now()).saturating_sub(since - 1),
        }
    }

    /// (events, bytes) so far.
    pub fn get(&self) -> (u64, u64) {
        (
            self.events.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed),
        )
    }
}

/// The checksum a frame header carries: the CRC-32 of the event count (4 bytes, little-endian)
/// followed by the payload. The count is covered too, so a frame copied without decoding
/// (fan-out, fan-in) cannot pass on a damaged count.
#[inline]
pub fn checksum(events: u32, payload: &[u8]) -> u32 {
    let mut crc = crc32fast::Hasher::new();
    crc.update(&events.to_le_bytes());
    crc.update(payload);
    crc.finalize()
}

/// The 12-byte header of a frame holding `events` events in `payload`.
pub fn frame_header(events: u32, payload: &[u8]) -> [u8; FRAME_HEADER_LEN] {
    let mut h = [0; FRAME_HEADER_LEN];
    h[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    h[4..8].copy_from_slice(&events.to_le_bytes());
    h[8..].copy_from_slice(&checksum(events, payload).to_le_bytes());
    h
}

/// Milliseconds on the coarse monotonic clock: read from the vDSO, no system call, a few
/// nanoseconds, so a writer can afford it per event. Its resolution (a few ms) is plenty for
/// [`FLUSH_AFTER_MS`].
#[inline]
fn coarse_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid out-pointer; CLOCK_MONOTONIC_COARSE exists on every Linux since 2.6.32.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC_COARSE, &raw mut ts) };
    (ts.tv_sec as u64) * 1000 + (ts.tv_nsec as u64) / 1_000_000
}

/// A fixed instant of this process, so that a time can live in an atomic as a number.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn nanos_since_epoch(t: Instant) -> u64 {
    u64::try_from(t.saturating_duration_since(epoch()).as_nanos()).unwrap_or(u64::MAX)
}

/// The stream header of a link of `kind` (also written by `co-nats-sub`, which copies frames).
pub fn stream_header(kind: EventKind) -> [u8; HEADER_LEN] {
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
    /// False until the stream header (the start of `pending`) has been written.
    header_written: bool,
    closed: bool,
    /// When (coarse ms) the oldest event not yet handed to the OS was written.
    oldest: Option<u64>,
    /// Events still to write before the clock is read again, and the stride that count
    /// was set from (see [`CLOCK_STRIDE_MAX`]).
    until_clock: u32,
    clock_stride: u32,
    /// The clock's reading at the last check.
    last_clock: u64,
}

impl<W: Write> FrameWriter<W> {
    /// A writer of `kind` events to `out`; `label` names the output in error messages.
    pub fn new(out: W, kind: EventKind, label: impl Into<String>) -> Self {
        let mut pending = Vec::with_capacity(WRITE_CHUNK + BATCH_BYTES);
        pending.extend_from_slice(&stream_header(kind));
        let counters = LinkCounters::default();
        let _ = counters.header.set(stream_header(kind));
        FrameWriter {
            out,
            label: label.into(),
            pending,
            frame_start: 0,
            frame_events: 0,
            max_frame: DEFAULT_MAX_FRAME,
            counters: Arc::new(counters),
            header_written: false,
            closed: false,
            oldest: None,
            until_clock: 0,
            clock_stride: 1,
            last_clock: 0,
        }
    }

    /// Sets the largest frame this writer will produce.
    pub fn with_max_frame(mut self, max_frame: usize) -> Self {
        self.max_frame = max_frame.clamp(1, MAX_MAX_FRAME);
        self
    }

    /// The events and bytes written so far (counted per finished frame).
    pub fn counters(&self) -> Arc<LinkCounters> {
        Arc::clone(&self.counters)
    }

    /// Appends one event to the current frame.
    #[inline]
    pub fn write_event<T: Serialize + ?Sized>(&mut self, event: &T) -> Result<()> {
        self.write_encoded(|out| codec::encode_into(event, out))
    }

    /// Appends one event to the current frame, encoded by `encode` (which appends it to the
    /// buffer it is given): for kinds with an encoder of their own (see `link::Kind`).
    #[inline]
    pub fn write_encoded(
        &mut self,
        encode: impl FnOnce(&mut Vec<u8>) -> std::result::Result<(), String>,
    ) -> Result<()> {
        if self.frame_events == 0 {
            self.frame_start = self.pending.len();
            self.pending.extend_from_slice(&[0; FRAME_HEADER_LEN]);
        }
        let before = self.pending.len();
        encode(&mut self.pending).map_err(Error::Encode)?;
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
        self.flush_if_stale()
    }

    /// Flushes when the oldest unsent event has waited [`FLUSH_AFTER_MS`]; reads the clock
    /// only every few events while they come fast (see [`CLOCK_STRIDE_MAX`]).
    #[inline]
    fn flush_if_stale(&mut self) -> Result<()> {
        if self.until_clock > 1 {
            self.until_clock -= 1;
            return Ok(());
        }
        self.check_clock()
    }

    /// Reads the clock, adapts the stride to how fast events come, and flushes if the oldest
    /// unsent event has waited too long.
    fn check_clock(&mut self) -> Result<()> {
        let now = coarse_ms();
        self.clock_stride = if now == self.last_clock {
            (self.clock_stride * 2).min(CLOCK_STRIDE_MAX)
        } else {
            1
        };
        self.last_clock = now;
        self.until_clock = self.clock_stride;
        match self.oldest {
            None => {
                self.oldest = Some(now);
                Ok(())
            }
            Some(t) if now.saturating_sub(t) >= FLUSH_AFTER_MS => self.flush(),
            Some(_) => Ok(()),
        }
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
            .extend_from_slice(&frame_header(events, payload));
        self.pending.extend_from_slice(payload);
        self.counters
            .add(u64::from(events), (payload.len() + FRAME_HEADER_LEN) as u64);
        if self.pending.len() >= WRITE_CHUNK {
            self.write_pending()?;
        }
        self.flush_if_stale()
    }

    /// Fills in the header of the frame being built, if it has events.
    fn finish_frame(&mut self) {
        if self.frame_events == 0 {
            return;
        }
        let len = self.pending.len() - self.frame_start - FRAME_HEADER_LEN;
        let (head, payload) = self.pending[self.frame_start..].split_at_mut(FRAME_HEADER_LEN);
        head.copy_from_slice(&frame_header(self.frame_events, payload));
        self.counters.add(
            u64::from(self.frame_events),
            (len + FRAME_HEADER_LEN) as u64,
        );
        self.frame_events = 0;
    }

    fn write_pending(&mut self) -> Result<()> {
        if !self.pending.is_empty() {
            let label = &self.label;
            let started = self.counters.wait_begins();
            let written = self.out.write_all(&self.pending);
            self.counters.wait_ends(started);
            written.context_io(|| format!("writing to {label}"))?;
            if self.counters.tap.is_active() {
                let skip = if self.header_written { 0 } else { HEADER_LEN };
                self.counters.tap.offer(&self.pending[skip..]);
            }
            self.header_written = true;
            self.pending.clear();
        }
        self.oldest = None;
        // The next event starts a new wait: note its time exactly.
        self.until_clock = 0;
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

/// Checks a stream header (`head` holds what arrived of it, at stream offset `offset`) and
/// returns the kind of events it announces.
fn check_header(head: &[u8], offset: u64) -> Result<EventKind> {
    let magic_len = head.len().min(MAGIC.len());
    if head[..magic_len] != MAGIC[..magic_len] {
        return Err(Error::NotCopipe {
            found: format!("\"{}\"", head.escape_ascii()),
        });
    }
    if head.len() < HEADER_LEN {
        return Err(Error::Truncated { offset });
    }
    if head[5] != VERSION {
        return Err(Error::Version {
            found: head[5],
            supported: VERSION,
        });
    }
    let kind = EventKind::from_tag(head[6]).ok_or(Error::UnknownKind { found: head[6] })?;
    if head[7] != 0 {
        return Err(Error::Reserved {
            offset: offset + 7,
            found: head[7],
        });
    }
    Ok(kind)
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
            max_frame: max_frame.clamp(1, MAX_MAX_FRAME),
            counters: Arc::default(),
            ended: false,
        };
        let have = reader.fill(HEADER_LEN)?;
        if have == 0 {
            return Err(Error::EmptyInput);
        }
        let head = &reader.buf[reader.start..reader.start + have];
        reader.kind = check_header(head, 0)?;
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
            if self.buf.len() - self.start < want && self.end == self.buf.len() {
                // A frame larger than the buffer, which is full of it: grow geometrically as
                // its bytes arrive, never to the size its header claims before they have.
                // Memory stays within twice what arrived (and within max_frame).
                let grown = (self.buf.len() * 2).min(self.start + want);
                self.buf.resize(grown, 0);
            }
            let started = self.counters.wait_begins();
            let read = self.input.read(&mut self.buf[self.end..]);
            self.counters.wait_ends(started);
            match read {
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
    ///
    /// A stream header of the same kind right after an end marker continues the stream (two
    /// streams concatenated by `cat`); any other bytes there are an error.
    pub fn next_frame(&mut self) -> Result<Option<Frame<'_>>> {
        loop {
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
            let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
            let (len, events, crc) = (word(0) as usize, word(4), word(8));
            if len == 0 {
                self.end_marker(offset, events, crc)?;
                continue;
            }
            self.check_frame_header(offset, len, events)?;
            let total = FRAME_HEADER_LEN + len;
            if self.fill(total)? < total {
                return Err(Error::Truncated { offset });
            }
            let at = self.start + FRAME_HEADER_LEN;
            let found = checksum(events, &self.buf[at..at + len]);
            if found != crc {
                return Err(Error::Checksum {
                    offset,
                    expected: crc,
                    found,
                });
            }
            self.consume(total);
            self.counters.add(u64::from(events), total as u64);
            return Ok(Some(Frame {
                events,
                payload: &self.buf[at..at + len],
                offset,
            }));
        }
    }

    /// Refuses a frame header whose length is over the limit or whose event count cannot be.
    fn check_frame_header(&self, offset: u64, len: usize, events: u32) -> Result<()> {
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
        Ok(())
    }

    /// Consumes an end marker at `offset`, then looks past it: end of input ends the stream,
    /// a header of the same kind continues it, anything else is an error.
    fn end_marker(&mut self, offset: u64, events: u32, crc: u32) -> Result<()> {
        if events != 0 {
            return Err(Error::Decode {
                offset,
                message: format!("empty frame claims {events} events"),
            });
        }
        if crc != 0 {
            return Err(Error::Decode {
                offset,
                message: format!("end marker carries checksum {crc:#010x}, not 0"),
            });
        }
        self.consume(FRAME_HEADER_LEN);
        let after = self.offset;
        let have = self.fill(HEADER_LEN)?;
        if have == 0 {
            self.ended = true;
            return Ok(());
        }
        let head = &self.buf[self.start..self.start + have];
        if head[0] != MAGIC[0] {
            return Err(Error::AfterEnd {
                offset: after,
                found: format!("\"{}\"", head.escape_ascii()),
            });
        }
        let kind = check_header(head, after)?;
        if kind != self.kind {
            return Err(Error::AppendedKind {
                offset: after,
                expected: self.kind,
                found: kind,
            });
        }
        self.consume(HEADER_LEN);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// After a burst has stretched the clock stride to its longest, an event that has waited
    /// past [`FLUSH_AFTER_MS`] still goes out within one stride of events.
    #[test]
    fn a_writer_that_slows_down_after_a_burst_still_flushes_within_one_stride() {
        let mut w = FrameWriter::new(Vec::new(), EventKind::Lines, "test");
        for _ in 0..1000 {
            w.write_event("burst").unwrap();
        }
        w.flush().unwrap();
        for _ in 0..1000 {
            w.write_event("burst").unwrap();
        }
        let flushed = w.out.len();
        // The oldest unsent event is now well past the flush deadline (the coarse clock
        // ticks every few ms).
        std::thread::sleep(std::time::Duration::from_millis(FLUSH_AFTER_MS * 2 + 10));
        for _ in 0..CLOCK_STRIDE_MAX {
            w.write_event("late").unwrap();
        }
        assert!(w.out.len() > flushed, "the stale batch was not flushed");
    }
}
