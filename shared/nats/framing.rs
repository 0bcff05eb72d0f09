//! Cutting a link's frames into messages, and skipping the events a stream already holds.
//!
//! A message payload is whole frames (8-byte frame header and payload, as on a pipe), so the
//! consumer writes payloads as they are. A frame larger than one message is cut into parts
//! that the consumer joins before writing. A restarted publisher skips the events the stream
//! already holds; its upstream may batch them into other frames than the first run did, so
//! the skip can end inside a frame, which is then cut at an event boundary (the only place
//! events are decoded).

use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::link::frame::{checksum, frame_header, FRAME_HEADER_LEN};
use crate::link::{codec, Kind, Lines, Records, Xml};

/// Bytes after the first `n` events of a frame payload holding `events` events of `kind`.
pub fn event_boundary(kind: EventKind, payload: &[u8], n: u32, offset: u64) -> Result<usize> {
    match kind {
        EventKind::Lines => boundary::<Lines>(payload, n, offset),
        EventKind::Xml => boundary::<Xml>(payload, n, offset),
        EventKind::Records => boundary::<Records>(payload, n, offset),
    }
}

fn boundary<K: Kind>(payload: &[u8], n: u32, offset: u64) -> Result<usize> {
    let mut at = 0;
    for _ in 0..n {
        let (_, used) = codec::decode::<K::Decoded<'_>>(&payload[at..])
            .map_err(|message| Error::Decode { offset, message })?;
        at += used;
    }
    Ok(at)
}

/// What the reader thread hands the publishing task.
pub enum Chunk {
    /// Whole frames, or one part of a frame (`more`: parts of it follow).
    Data {
        bytes: Vec<u8>,
        /// Events in whole frames up to the end of this chunk (before the split frame, for
        /// a part).
        events_after: u64,
        more: bool,
    },
    /// The input ended with its end-of-stream marker.
    End,
    /// The input failed; the message says how.
    Failed(String),
}

/// Batches frames into chunks of at most `limit` bytes.
pub struct Batcher {
    buf: Vec<u8>,
    limit: usize,
    events: u64,
}

impl Batcher {
    /// `events` counts the events already in the stream (skipped on a restart).
    pub fn new(limit: usize, events: u64) -> Self {
        Batcher {
            buf: Vec::with_capacity(limit),
            limit: limit.max(FRAME_HEADER_LEN + 1),
            events,
        }
    }

    /// Adds one frame; `emit` receives every chunk that is complete.
    pub fn push(
        &mut self,
        events: u32,
        payload: &[u8],
        emit: &mut dyn FnMut(Chunk) -> Result<()>,
    ) -> Result<()> {
        let len = FRAME_HEADER_LEN + payload.len();
        if self.buf.len() + len > self.limit {
            self.flush(emit)?;
        }
        let header = frame_header(events, payload);
        if len <= self.limit {
            self.buf.extend_from_slice(&header);
            self.buf.extend_from_slice(payload);
            self.events += u64::from(events);
            return Ok(());
        }
        // A frame larger than a message: parts, each marked `more` but the last.
        let mut whole = Vec::with_capacity(len);
        whole.extend_from_slice(&header);
        whole.extend_from_slice(payload);
        let parts: Vec<&[u8]> = whole.chunks(self.limit).collect();
        let last = parts.len() - 1;
        for (i, part) in parts.into_iter().enumerate() {
            if i == last {
                self.events += u64::from(events);
            }
            emit(Chunk::Data {
                bytes: part.to_vec(),
                events_after: self.events,
                more: i < last,
            })?;
        }
        Ok(())
    }

    /// Emits the frames batched so far, if any.
    pub fn flush(&mut self, emit: &mut dyn FnMut(Chunk) -> Result<()>) -> Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let bytes = std::mem::replace(&mut self.buf, Vec::with_capacity(self.limit));
        emit(Chunk::Data {
            bytes,
            events_after: self.events,
            more: false,
        })
    }

    /// Events in the frames pushed so far.
    pub fn events(&self) -> u64 {
        self.events
    }
}

/// Checks that `bytes` are whole frames with good checksums, returning how many events they
/// hold: the consumer writes nothing it has not checked.
pub fn count_events(bytes: &[u8]) -> Option<u64> {
    let mut at = 0;
    let mut events = 0u64;
    while at < bytes.len() {
        let h = bytes.get(at..at + FRAME_HEADER_LEN)?;
        let word = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
        let (len, n, crc) = (word(0) as usize, word(4), word(8));
        let payload = bytes.get(at + FRAME_HEADER_LEN..at + FRAME_HEADER_LEN + len)?;
        if len == 0 || n == 0 || checksum(n, payload) != crc {
            return None;
        }
        at += FRAME_HEADER_LEN + len;
        events += u64::from(n);
    }
    (at == bytes.len()).then_some(events)
}
