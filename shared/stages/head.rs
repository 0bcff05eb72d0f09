//! `co-head N`: passes the first N events of any stream, then ends it, as `head -n N` does.
//!
//! Whole frames are copied as they are (never decoded) while they fit in the count; only the
//! frame that holds the N-th event is decoded, to find where that event ends. Once N events
//! are out, the stage writes the end-of-stream marker and exits without reading further:
//! its upstream's next write finds the pipe closed and it stops quietly (exit 0), as a
//! producer piped into `head` does.

use std::io::Read;

use crate::args::{InputArgs, OutputArgs};
use crate::error::{Error, Result};
use crate::event::{EventKind, Record, XmlEvent};
use crate::link::{codec, FrameReader, FrameWriter};

/// The byte length of the first `count` events of `payload`, a frame of `kind` events.
fn events_len(kind: EventKind, payload: &[u8], count: u32, offset: u64) -> Result<usize> {
    let mut used = 0;
    for _ in 0..count {
        let rest = &payload[used..];
        let one = match kind {
            EventKind::Lines => codec::decode::<&str>(rest).map(|(_, n)| n),
            EventKind::Xml => codec::decode::<XmlEvent<'_>>(rest).map(|(_, n)| n),
            EventKind::Records => codec::decode::<Record<'_>>(rest).map(|(_, n)| n),
        };
        used += one.map_err(|message| Error::Decode { offset, message })?;
    }
    Ok(used)
}

/// Copies the first `count` events from `input` to `output`, then closes `output`. Flushes
/// whenever the input would block, so a live stream's first events are not held back.
pub fn head<R: Read, W: std::io::Write>(
    input: &mut FrameReader<R>,
    output: &mut FrameWriter<W>,
    count: u64,
) -> Result<()> {
    let kind = input.kind();
    let mut left = count;
    while left > 0 {
        if input.would_block() {
            output.flush()?;
        }
        let Some(frame) = input.next_frame()? else {
            break;
        };
        if u64::from(frame.events) <= left {
            output.write_frame(frame.events, frame.payload)?;
            left -= u64::from(frame.events);
        } else {
            let take = u32::try_from(left).expect("less than a frame's u32 count");
            let len = events_len(kind, frame.payload, take, frame.offset)?;
            output.write_frame(take, &frame.payload[..len])?;
            left = 0;
        }
    }
    output.close()
}

/// `co-head N`: any stream in, its first N events out.
pub fn run_head(count: u64, input: &InputArgs, output: &OutputArgs) -> Result<()> {
    let mut reader = input.open()?;
    let mut writer = output.open(reader.kind())?;
    let outcome = head(&mut reader, &mut writer, count);
    if outcome.is_err() {
        let _ = writer.flush();
    }
    outcome
}
