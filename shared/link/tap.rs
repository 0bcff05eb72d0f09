//! The writer's side of `copipe tap`: a live copy of the frames a link carries.
//!
//! A tap is attached to a running stage from outside (see [`crate::observe::live`]): the
//! stage connects to a Unix socket that `copipe tap` listens on and hands it to the link's
//! [`TapSlot`]. From then on every batch of whole frames the writer sends downstream is also
//! offered to the tap, under three rules that keep the graph unaffected:
//!
//! * **no cost without a tap**: the writer checks one relaxed atomic per batch;
//! * **never blocking**: the socket is non-blocking and copies wait in a bounded buffer
//!   ([`TAP_BUFFER`]); a batch that does not fit is dropped whole and its events counted as
//!   missed, so a slow or stopped (Ctrl-Z) tap only misses events;
//! * **never failing**: a tap that goes away (killed) is detached silently.
//!
//! The tap's byte stream is a sequence of messages `tag:u8 length:u32le bytes[length]`:
//! tag [`TAG_STREAM`] carries stream bytes (first the link's 8-byte header, then whole frames,
//! the end-of-stream marker last), tag [`TAG_MISSED`] a little-endian `u64` count of events
//! dropped since the previous message.

use std::io::{self, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use super::frame::FRAME_HEADER_LEN;

/// Message tag: stream bytes.
pub const TAG_STREAM: u8 = b'S';
/// Message tag: a count of events the tap missed.
pub const TAG_MISSED: u8 = b'M';
/// Bytes of copies a tap may have waiting before batches are dropped.
pub const TAP_BUFFER: usize = 4 << 20;

/// Where a link's writer finds its tap, if one is attached.
#[derive(Debug, Default)]
pub struct TapSlot {
    active: AtomicBool,
    tap: Mutex<Option<Tap>>,
}

#[derive(Debug)]
struct Tap {
    socket: UnixStream,
    /// Messages not yet taken by the socket.
    queued: Vec<u8>,
    /// Events dropped and not yet reported.
    missed: u64,
}

impl TapSlot {
    /// True while a tap is attached (one relaxed load: the writer's only cost without a tap).
    #[inline]
    pub fn is_active(&self) -> bool {
        self.active.load(Ordering::Relaxed)
    }

    /// Attaches `socket` as this link's tap, starting with the stream `header`. A tap already
    /// attached is kept (one tap per link at a time); returns whether `socket` was taken.
    pub fn attach(&self, socket: UnixStream, header: &[u8]) -> bool {
        let Ok(mut slot) = self.tap.lock() else {
            return false;
        };
        if slot.is_some() || socket.set_nonblocking(true).is_err() {
            return false;
        }
        let mut tap = Tap {
            socket,
            queued: Vec::new(),
            missed: 0,
        };
        push_message(&mut tap.queued, TAG_STREAM, header);
        *slot = Some(tap);
        self.active.store(true, Ordering::Relaxed);
        true
    }

    /// Offers a copy of `frames` (whole frames, as just written downstream) to the tap.
    pub fn offer(&self, frames: &[u8]) {
        let Ok(mut slot) = self.tap.lock() else {
            return;
        };
        let Some(tap) = slot.as_mut() else { return };
        if tap.queued.len() + frames.len() + 2 * MESSAGE_HEADER > TAP_BUFFER {
            // The tap is not keeping up: drop the batch, and leave retrying the socket to
            // the live thread's pump, so a stalled tap costs no system call per batch.
            tap.missed += count_events(frames);
            return;
        }
        if tap.missed > 0 {
            let missed = std::mem::take(&mut tap.missed);
            push_message(&mut tap.queued, TAG_MISSED, &missed.to_le_bytes());
        }
        push_message(&mut tap.queued, TAG_STREAM, frames);
        if !tap.send_queued() {
            *slot = None;
            self.active.store(false, Ordering::Relaxed);
        }
    }

    /// Tries once more to hand queued copies to the socket (called from the live thread, so
    /// a tap still receives the tail of a stream that went quiet).
    pub fn pump(&self) {
        if !self.is_active() {
            return;
        }
        if let Ok(mut slot) = self.tap.lock() {
            if let Some(tap) = slot.as_mut() {
                if !tap.send_queued() {
                    *slot = None;
                    self.active.store(false, Ordering::Relaxed);
                }
            }
        }
    }

    /// Hands the queued copies to the tap before the stage exits, waiting at most a moment
    /// for a tap that is reading (a stopped tap is abandoned: the graph never waits on it).
    pub fn finish(&self) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_millis(200);
        while self.is_active() && std::time::Instant::now() < deadline {
            self.pump();
            let empty = self
                .tap
                .lock()
                .map_or(true, |t| t.as_ref().is_none_or(|t| t.queued.is_empty()));
            if empty {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }
}

const MESSAGE_HEADER: usize = 5;

fn push_message(out: &mut Vec<u8>, tag: u8, bytes: &[u8]) {
    out.push(tag);
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// The events in a run of whole frames (walking the frame headers only).
fn count_events(mut frames: &[u8]) -> u64 {
    let mut events = 0;
    while frames.len() >= FRAME_HEADER_LEN {
        let len = u32::from_le_bytes([frames[0], frames[1], frames[2], frames[3]]) as usize;
        events += u64::from(u32::from_le_bytes([
            frames[4], frames[5], frames[6], frames[7],
        ]));
        frames = frames.get(FRAME_HEADER_LEN + len..).unwrap_or_default();
    }
    events
}

impl Tap {
    /// Writes what the socket takes without blocking; false once the tap is gone.
    fn send_queued(&mut self) -> bool {
        while !self.queued.is_empty() {
            match self.socket.write(&self.queued) {
                Ok(0) => return false,
                Ok(n) => {
                    self.queued.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return false,
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(events: u32, payload: &[u8]) -> Vec<u8> {
        let mut f = super::super::frame::frame_header(events, payload).to_vec();
        f.extend_from_slice(payload);
        f
    }

    #[test]
    fn counts_the_events_of_whole_frames() {
        let mut frames = frame(3, b"abcdef");
        frames.extend(frame(2, b"xy"));
        frames.extend([0; FRAME_HEADER_LEN]);
        assert_eq!(count_events(&frames), 5);
    }

    #[test]
    fn a_tap_receives_the_header_then_the_frames_and_detaches_when_gone() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let slot = TapSlot::default();
        assert!(!slot.is_active());
        assert!(slot.attach(ours, b"HEADER!!"));
        slot.offer(&frame(1, b"z"));
        let framed = frame(1, b"z");
        let mut got = vec![0; 5 + 8 + 5 + framed.len()];
        io::Read::read_exact(&mut &theirs, &mut got).unwrap();
        assert_eq!(got[0], TAG_STREAM);
        assert_eq!(&got[5..13], b"HEADER!!");
        assert_eq!(got[13], TAG_STREAM);
        assert_eq!(&got[18..], &framed[..]);
        drop(theirs);
        slot.offer(&frame(1, b"z"));
        slot.offer(&frame(1, b"z"));
        assert!(!slot.is_active());
    }

    #[test]
    fn a_tap_that_does_not_read_misses_whole_batches_and_is_told_how_many() {
        let (ours, theirs) = UnixStream::pair().unwrap();
        let slot = TapSlot::default();
        slot.attach(ours, b"HEADER!!");
        let big = frame(10, &vec![7; 1 << 20]);
        for _ in 0..12 {
            slot.offer(&big);
        }
        let queued = slot.tap.lock().unwrap().as_ref().unwrap().missed;
        assert!(queued >= 10, "some batches were dropped whole: {queued}");
        assert_eq!(queued % 10, 0);
        drop(theirs);
    }
}
