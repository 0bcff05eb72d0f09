//! Durable links through NATS `JetStream`: `co-nats-pub` and `co-nats-sub`.
//!
//! A pipe lives and dies with its two processes. A `JetStream` stream outlives them: the
//! publisher stores the link's frames in a stream on a NATS server, and a durable consumer
//! reads them back, on any machine that reaches the server, now or later. The stream keeps
//! the link's meaning:
//!
//! * every message carries the event kind (`Copipe-Kind`), and the stream remembers it in its
//!   metadata, so a consumer (and the publisher of another kind) is refused before anything
//!   flows;
//! * the publisher ends its stream with an end marker (`Copipe-End`), or a failure marker
//!   (`Copipe-Failed`) when its own upstream failed, so a consumer still tells a finished
//!   producer from one that died (which it waits for: a restarted producer resumes);
//! * message payloads are the link's frames, byte for byte, cut at frame boundaries into
//!   messages of at most the server's maximum payload; a larger frame is split into parts
//!   (`Copipe-Part`) that the consumer rejoins before writing anything.
//!
//! Exactly-once effect rests on byte offsets in each producer's stream (`Copipe-Offset`,
//! where a message starts; `Copipe-Resume` and `Copipe-Events`, the frame boundary reached
//! after it and the events before that boundary). A restarted publisher asks the server for
//! its last stored message and skips that many events of its input (which must replay the
//! same events: a file, or a durable link); its message ids (`producer:offset`) let the
//! server drop a frame published twice. The consumer acknowledges a message once its bytes
//! are written downstream, and skips anything below the offset it has written, so a
//! redelivered message is never written twice; into a file it also keeps a small journal
//! beside it, so even a `kill -9` between a write and its acknowledgement doubles nothing.
//!
//! Every producer publishes on `SUBJECT.PRODUCER` (`--producer`, `main` by default); one
//! stream per subject (`SUBJECT.*`) holds them all, so several producers fan in and several
//! durable consumers (`--durable`) fan out through the server.
//!
//! tokio and async-nats live only here: the other stage binaries never reference this
//! module, so the linker leaves the whole async runtime out of them (a test checks it).

pub mod connect;
pub mod framing;
pub mod journal;
pub mod publish;
pub mod subscribe;

use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::protocol::{Port, StageInfo};

/// What `co-nats-pub` says to `--describe` (the launcher inserts it for `nats:` links).
pub const PUB_INFO: StageInfo = StageInfo::new("co-nats-pub", Port::Any, Port::None);
/// What `co-nats-sub` says to `--describe`.
pub const SUB_INFO: StageInfo = StageInfo::new("co-nats-sub", Port::None, Port::Any);

/// Header: the kind of events (`lines`, `xml`, `records`).
pub const KIND: &str = "Copipe-Kind";
/// Header: byte offset in the producer's stream where the payload starts.
pub const OFFSET: &str = "Copipe-Offset";
/// Header: the frame boundary (byte offset) a restarted publisher resumes from after this
/// message.
pub const RESUME: &str = "Copipe-Resume";
/// Header: events before the resume boundary.
pub const EVENTS: &str = "Copipe-Events";
/// Header, on every part of a split frame but the last.
pub const PART: &str = "Copipe-Part";
/// Header, on every part of a split frame (the last one too): the offset where the frame
/// starts. A consumer that starts without knowing its position (no journal) skips the parts
/// of a frame it joined in the middle: that frame was written before any part was
/// acknowledged.
pub const FRAME: &str = "Copipe-Frame";
/// Header: a publisher (re)started here. Its empty message advances the producer's subject
/// sequence, so a message a killed earlier run left in flight can no longer be stored after
/// it (each message names the sequence it expects to follow).
pub const START: &str = "Copipe-Start";
/// Header: the producer's stream ended cleanly.
pub const END: &str = "Copipe-End";
/// Header: the producer's upstream failed; the value says how.
pub const FAILED: &str = "Copipe-Failed";
/// Stream metadata key holding the kind of events.
pub const META_KIND: &str = "copipe.kind";

/// The stream that holds `subject`: `JetStream` names may not contain dots.
pub fn stream_name(subject: &str) -> String {
    format!("COPIPE_{}", subject.replace('.', "_"))
}

/// Checks a subject given on the command line: dot-separated tokens, no wildcards or
/// spaces (each producer adds its own token).
pub fn check_subject(subject: &str) -> Result<()> {
    let bad = subject.is_empty()
        || subject
            .split('.')
            .any(|t| t.is_empty() || t.contains(['*', '>', ' ', '\t', '\r', '\n', '/', '\\']));
    if bad {
        return Err(Error::Usage(format!(
            "invalid subject {subject:?}: use dot-separated words without spaces or wildcards, like logs.web"
        )));
    }
    Ok(())
}

/// Checks a producer or consumer name: one subject token, usable as a durable name.
pub fn check_token(what: &str, name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(Error::Usage(format!(
            "invalid {what} {name:?}: use letters, digits, '-' and '_'"
        )))
    }
}

/// The kind named by a header or metadata value.
pub fn parse_kind(name: &str) -> Option<EventKind> {
    [EventKind::Lines, EventKind::Xml, EventKind::Records]
        .into_iter()
        .find(|k| k.name() == name)
}

/// The runtime of a NATS stage: one worker thread, so the client answers the server's pings
/// while the stage's own thread blocks on a pipe.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Error::io("starting the NATS client's runtime", e))
}

/// A NATS failure as a one-line copipe error.
pub fn fail(message: impl Into<String>) -> Error {
    Error::Other(message.into())
}
