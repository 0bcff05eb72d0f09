//! Links between processes: the seed's `sendto(f)` and `recvfrom(f, target)`, made safe.
//!
//! The seed pickles each item to a pipe and unpickles it on the other side. copipe does the
//! same with a typed, framed stream ([`frame`]): a header naming the kind of events, batched
//! length-prefixed frames of bincode-encoded events ([`codec`]), and an explicit end-of-stream
//! marker, so a reader can tell a finished upstream from a crashed one.

pub mod codec;
pub mod endpoint;
pub mod frame;
pub mod tap;

use std::io::{Read, Write};

use serde::{Deserialize, Serialize};

pub use frame::{Frame, FrameReader, FrameWriter, DEFAULT_MAX_FRAME};

use crate::error::{Error, Result};
use crate::event::{EventKind, Field, Record, XmlEvent};
use crate::signals::Shutdown;
use crate::sink::Sink;

/// A kind of event at the type level: ties an [`EventKind`] to the Rust type sinks receive
/// and the type decoded from the wire.
pub trait Kind {
    const KIND: EventKind;
    /// What sinks of this kind receive (`str`, `XmlEvent<'a>`, `Record<'a>`).
    type Event<'a>: ?Sized + Serialize;
    /// What is decoded from a frame, borrowing its text from the frame.
    type Decoded<'a>: Deserialize<'a>;
    /// The event inside a decoded value.
    fn event<'b, 'a: 'b>(decoded: &'b Self::Decoded<'a>) -> &'b Self::Event<'a>;
    /// What a reader keeps from one event to the next so that decoding does not allocate
    /// for each (a record's field vector); `()` for kinds whose decoding allocates nothing.
    type Scratch: Default;
    /// Decodes one event from the front of `bytes` (the codec's generic decoder unless the
    /// kind has a faster one that reads the same bytes); returns it and the bytes it used.
    /// It may take the memory kept in `scratch`.
    #[inline]
    fn decode<'a>(
        bytes: &'a [u8],
        _scratch: &mut Self::Scratch,
    ) -> std::result::Result<(Self::Decoded<'a>, usize), String> {
        codec::decode(bytes)
    }
    /// Gives the memory of an event delivered back to `scratch`, for the next [`decode`].
    ///
    /// [`decode`]: Kind::decode
    #[inline]
    fn recycle(_decoded: Self::Decoded<'_>, _scratch: &mut Self::Scratch) {}
    /// Appends the wire encoding of `event` to `out` (the codec's generic encoder unless the
    /// kind has a faster one that writes the same bytes).
    #[inline]
    fn encode(event: &Self::Event<'_>, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        codec::encode_into(event, out)
    }
}

/// Text lines: `Sink<str>`.
pub struct Lines;
/// SAX-style XML events: `Sink<XmlEvent<'a>>`.
pub struct Xml;
/// Records: `Sink<Record<'a>>`.
pub struct Records;

impl Kind for Lines {
    const KIND: EventKind = EventKind::Lines;
    type Event<'a> = str;
    type Decoded<'a> = &'a str;
    type Scratch = ();
    fn event<'b, 'a: 'b>(decoded: &'b &'a str) -> &'b str {
        decoded
    }
}

impl Kind for Xml {
    const KIND: EventKind = EventKind::Xml;
    type Event<'a> = XmlEvent<'a>;
    type Decoded<'a> = XmlEvent<'a>;
    type Scratch = ();
    fn event<'b, 'a: 'b>(decoded: &'b XmlEvent<'a>) -> &'b XmlEvent<'a> {
        decoded
    }
    #[inline]
    fn encode(event: &XmlEvent<'_>, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        codec::encode_xml_into(event, out);
        Ok(())
    }
}

impl Kind for Records {
    const KIND: EventKind = EventKind::Records;
    type Event<'a> = Record<'a>;
    type Decoded<'a> = Record<'a>;
    /// The field vector of the last record, empty: every record of a stream is decoded
    /// into the same memory.
    type Scratch = Vec<Field<'static>>;
    fn event<'b, 'a: 'b>(decoded: &'b Record<'a>) -> &'b Record<'a> {
        decoded
    }
    #[inline]
    fn decode<'a>(
        bytes: &'a [u8],
        scratch: &mut Self::Scratch,
    ) -> std::result::Result<(Record<'a>, usize), String> {
        codec::decode_record_into(bytes, codec::emptied(std::mem::take(scratch)))
    }
    #[inline]
    fn recycle(decoded: Record<'_>, scratch: &mut Self::Scratch) {
        *scratch = codec::emptied(decoded.fields);
    }
    #[inline]
    fn encode(record: &Record<'_>, out: &mut Vec<u8>) -> std::result::Result<(), String> {
        codec::encode_record_into(record, out);
        Ok(())
    }
}

/// The seed's `sendto(f)`: a sink that serializes every item onto a link.
///
/// `close` writes the end-of-stream marker; `flush` pushes the batched frames out.
///
/// ```
/// use copipe::link::{Lines, SendTo};
/// use copipe::Sink;
///
/// let mut wire = Vec::new(); // a pipe to another process, in real use
/// let mut sendto = SendTo::<Lines, _>::new(&mut wire, "example");
/// sendto.send("python generators rock!")?;
/// sendto.close()?; // the end-of-stream marker: the reader's target is closed cleanly
/// drop(sendto);
/// assert_eq!(&wire[..5], b"\xC0PIPE"); // the stream header, then the frames
/// # Ok::<(), copipe::Error>(())
/// ```
pub struct SendTo<K, W: Write> {
    writer: FrameWriter<W>,
    _kind: std::marker::PhantomData<K>,
}

impl<K: Kind, W: Write> SendTo<K, W> {
    /// Starts a stream of `K` events on `out`; `label` names it in error messages.
    pub fn new(out: W, label: impl Into<String>) -> Self {
        Self::from_writer(FrameWriter::new(out, K::KIND, label))
    }

    /// Wraps a writer already set up (limits, counters).
    pub fn from_writer(writer: FrameWriter<W>) -> Self {
        SendTo {
            writer,
            _kind: std::marker::PhantomData,
        }
    }

    pub fn writer(&self) -> &FrameWriter<W> {
        &self.writer
    }

    pub fn into_writer(self) -> FrameWriter<W> {
        self.writer
    }
}

impl<'a, K: Kind, W: Write> Sink<K::Event<'a>> for SendTo<K, W> {
    #[inline]
    fn send(&mut self, item: &K::Event<'a>) -> Result<()> {
        self.writer.write_encoded(|out| K::encode(item, out))
    }
    fn flush(&mut self) -> Result<()> {
        self.writer.flush()
    }
    fn close(&mut self) -> Result<()> {
        self.writer.close()
    }
}

/// The seed's `recvfrom(f, target)`: reads every event of a stream, sends each to `target`,
/// and closes `target` at the end-of-stream marker.
///
/// `stage` names the reading stage in a wrong-kind error. `target` is flushed whenever the
/// next read may block, so events never wait in a buffer while the input is idle. Once
/// `shutdown` is asked for, reading ends early between two events and `target` is closed
/// normally.
///
/// ```
/// use copipe::link::{recv_from, FrameReader, Lines, SendTo, DEFAULT_MAX_FRAME};
/// use copipe::signals::Shutdown;
/// use copipe::sink::collect;
/// use copipe::stages::grep::Grep;
/// use copipe::Sink;
///
/// // One side: the seed's sendto(f).
/// let mut wire = Vec::new();
/// let mut sendto = SendTo::<Lines, _>::new(&mut wire, "writer");
/// for line in ["Yeah, but no", "python generators rock!"] {
///     sendto.send(line)?;
/// }
/// sendto.close()?;
/// drop(sendto);
///
/// // The other side: recvfrom(f, grep("python", ...)).
/// let mut found = Vec::new();
/// let mut input = FrameReader::open(&wire[..], "the wire", DEFAULT_MAX_FRAME)?;
/// let mut grep = Grep::new("python", collect(&mut found));
/// recv_from::<Lines, _, _>(&mut input, "reader", &mut grep, &Shutdown::never())?;
/// assert_eq!(found, ["python generators rock!"]);
/// # Ok::<(), copipe::Error>(())
/// ```
pub fn recv_from<K, R, S>(
    input: &mut FrameReader<R>,
    stage: &str,
    target: &mut S,
    shutdown: &Shutdown,
) -> Result<()>
where
    K: Kind,
    R: Read,
    S: for<'a> Sink<K::Event<'a>> + ?Sized,
{
    input.expect_kind(stage, K::KIND)?;
    let outcome = recv_events::<K, R, S>(input, target, shutdown);
    crate::sink::deliver_then_close(outcome, target)
}

/// The loop of [`recv_from`], without the close: on an error (a broken upstream, a bad
/// frame, a failing target) it returns at once, and [`recv_from`] delivers what came before.
fn recv_events<K, R, S>(
    input: &mut FrameReader<R>,
    target: &mut S,
    shutdown: &Shutdown,
) -> Result<()>
where
    K: Kind,
    R: Read,
    S: for<'a> Sink<K::Event<'a>> + ?Sized,
{
    let mut scratch = K::Scratch::default();
    loop {
        // About to block on input: push what was produced downstream first, and let a stop
        // signal end the wait (see `signals::Waiting`).
        let waiting = if input.would_block() {
            target.flush()?;
            match shutdown.enter_wait() {
                Some(w) => Some(w),
                None => return Ok(()),
            }
        } else {
            None
        };
        if shutdown.is_shutdown() {
            return Ok(());
        }
        let frame = input.next_frame();
        drop(waiting);
        let Some(frame) = frame? else {
            return Ok(());
        };
        let offset = frame.offset;
        let mut rest = frame.payload;
        for _ in 0..frame.events {
            // A stop (SIGTERM) is honoured between events: a slow stage must not take a
            // whole frame's worth of time to deliver what it has.
            if shutdown.is_shutdown() {
                return Ok(());
            }
            let (decoded, used) = K::decode(rest, &mut scratch)
                .map_err(|message| Error::Decode { offset, message })?;
            target.send(K::event(&decoded))?;
            K::recycle(decoded, &mut scratch);
            rest = &rest[used..];
        }
        if !rest.is_empty() {
            return Err(Error::Decode {
                offset,
                message: format!("{} bytes left over after the frame's events", rest.len()),
            });
        }
    }
}

/// Reads a stream of whatever kind its header names into a sink that takes every kind
/// (printers and dumps). `shutdown` as for [`recv_from`].
pub fn recv_any<R, S>(
    input: &mut FrameReader<R>,
    stage: &str,
    target: &mut S,
    shutdown: &Shutdown,
) -> Result<()>
where
    R: Read,
    S: Sink<str> + for<'a> Sink<XmlEvent<'a>> + for<'a> Sink<Record<'a>>,
{
    match input.kind() {
        EventKind::Lines => recv_from::<Lines, _, _>(input, stage, target, shutdown),
        EventKind::Xml => recv_from::<Xml, _, _>(input, stage, target, shutdown),
        EventKind::Records => recv_from::<Records, _, _>(input, stage, target, shutdown),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sink::collect;

    fn stream(lines: &[&str]) -> Vec<u8> {
        let mut out = SendTo::<Lines, _>::new(Vec::new(), "test");
        for line in lines {
            out.send(*line).unwrap();
        }
        out.close().unwrap();
        out.into_writer().into_inner()
    }

    fn receive(bytes: &[u8], shutdown: &Shutdown) -> Vec<String> {
        let mut got: Vec<String> = Vec::new();
        let mut input = FrameReader::open(bytes, "test", DEFAULT_MAX_FRAME).unwrap();
        recv_from::<Lines, _, _>(&mut input, "test", &mut collect(&mut got), shutdown).unwrap();
        got
    }

    #[test]
    fn recv_from_stops_at_the_shutdown_it_is_given_not_at_the_process_flag() {
        let bytes = stream(&["a", "b", "c"]);
        assert_eq!(receive(&bytes, &Shutdown::never()), ["a", "b", "c"]);
        let own = Shutdown::new();
        assert_eq!(receive(&bytes, &own), ["a", "b", "c"]);
        own.trigger();
        // Stopped before the first frame, and closed normally (no error, nothing half-sent).
        assert!(receive(&bytes, &own).is_empty());
        assert_eq!(receive(&bytes, &Shutdown::never()), ["a", "b", "c"]);
    }
}
