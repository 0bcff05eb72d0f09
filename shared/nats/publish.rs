//! `co-nats-pub SUBJECT`: a link's frames into a `JetStream` stream.
//!
//! A reader thread takes frames from the input (blocking I/O, as every stage) and batches
//! them into chunks ([`Batcher`]); the async side publishes one chunk at a time and waits for
//! the server's acknowledgement before the next, so the stored order is the input's order and
//! at most one chunk (plus a channel of four) is ever in memory. Each publish names the
//! sequence it expects the producer's subject to end at, so two publishers sharing a producer
//! name cannot interleave; after any failure the publisher asks the server what it stored
//! before publishing again, so a retry never doubles a chunk.

use std::time::{Duration, Instant};

use async_nats::jetstream::message::PublishMessage;
use async_nats::jetstream::stream::{LastRawMessageErrorKind, Stream};
use async_nats::jetstream::{self, message::StreamMessage};
use async_nats::HeaderMap;
use tokio::sync::mpsc;

use super::connect::{ensure_stream, NatsArgs};
use super::framing::{event_boundary, Batcher, Chunk};
use super::{
    check_subject, check_token, fail, runtime, END, EVENTS, FAILED, FRAME, KIND, OFFSET, PART,
    RESUME, START,
};
use crate::args::InputArgs;
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::link::FrameReader;
use crate::signals;

/// What `co-nats-pub` is asked to do.
#[derive(Debug, Clone)]
pub struct PubOptions {
    pub subject: String,
    pub producer: String,
    /// Bound on what the stream stores; publishing waits when it is full.
    pub max_bytes: i64,
    /// Largest message payload (capped by the server's maximum payload).
    pub message_bytes: usize,
    /// How long to keep retrying while the server is unreachable.
    pub retry_for: Duration,
    /// A broken input leaves no failure marker: a restart resumes the stream.
    pub resumable: bool,
}

/// Room left in a message for the headers.
const HEADER_ROOM: usize = 1024;

/// The producer's stream as the server holds it: where to go on from.
#[derive(Debug, Clone, Default)]
struct Stored {
    /// Its message id (`Nats-Msg-Id`).
    id: Option<String>,
    /// Stream sequence of the producer's last message (0: none).
    seq: u64,
    /// Where the last message's payload starts.
    offset: u64,
    /// Frame boundary and events to resume from.
    resume: u64,
    events: u64,
    ended: bool,
    failed: bool,
}

/// `co-nats-pub`: see the module documentation.
pub fn run_publish(
    stage: &str,
    nats: &NatsArgs,
    opts: &PubOptions,
    input: &InputArgs,
) -> Result<()> {
    check_subject(&opts.subject)?;
    check_token("producer name", &opts.producer)?;
    let rt = runtime()?;
    let _context = rt.enter();
    let client = rt.block_on(nats.connect(stage))?;
    let reader = input.open()?;
    let kind = reader.kind();
    let js = jetstream::new(client.clone());
    let url = nats.shown_url();
    let subject = format!("{}.{}", opts.subject, opts.producer);
    let (stream, start) = rt.block_on(async {
        let stream = ensure_stream(&js, &url, &opts.subject, Some(kind), opts.max_bytes).await?;
        let start = resume_point(&stream, &subject).await?;
        Ok::<_, Error>((stream, start))
    })?;
    let limit = opts
        .message_bytes
        .min(client.server_info().max_payload.saturating_sub(HEADER_ROOM))
        .max(4096);
    let (tx, rx) = mpsc::channel(4);
    let from = start.clone();
    let resumable = opts.resumable;
    let reading =
        std::thread::spawn(move || read_frames(reader, kind, from, limit, &tx, resumable));
    let mut publisher = Publisher {
        js,
        stream,
        subject,
        url,
        kind,
        state: start,
        retry_for: opts.retry_for,
        producer: opts.producer.clone(),
        run: fastrand::u64(..),
        frame: None,
    };
    let published = rt.block_on(publisher.publish_all(rx));
    let read = reading
        .join()
        .unwrap_or_else(|_| Err(fail("the reading thread panicked")));
    rt.block_on(async {
        let _ = tokio::time::timeout(Duration::from_secs(5), client.flush()).await;
    });
    // A publishing failure is the cause when both failed (the reader only saw the channel
    // close).
    published.and(read)
}

/// Where this producer's stream stands on the server. A failure marker left by an earlier
/// run is removed: this run is the retry it announced.
async fn resume_point(stream: &Stream, subject: &str) -> Result<Stored> {
    let last = last_stored(stream, subject).await?;
    if !last.failed {
        return Ok(last);
    }
    stream.delete_message(last.seq).await.map_err(|e| {
        fail(format!(
            "cannot remove the failure marker of {subject}: {e}"
        ))
    })?;
    last_stored(stream, subject).await
}

async fn last_stored(stream: &Stream, subject: &str) -> Result<Stored> {
    match stream.get_last_raw_message_by_subject(subject).await {
        Ok(m) => Ok(parse_stored(&m)),
        Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(Stored::default()),
        Err(e) => Err(fail(format!(
            "cannot read the last message of {subject}: {e}"
        ))),
    }
}

fn header_u64(headers: &HeaderMap, name: &str) -> u64 {
    headers
        .get(name)
        .and_then(|v| v.as_str().parse().ok())
        .unwrap_or(0)
}

fn parse_stored(m: &StreamMessage) -> Stored {
    let h = &m.headers;
    Stored {
        id: h
            .get(async_nats::header::NATS_MESSAGE_ID)
            .map(|v| v.as_str().to_owned()),
        seq: m.sequence,
        offset: header_u64(h, OFFSET),
        resume: header_u64(h, RESUME),
        events: header_u64(h, EVENTS),
        ended: h.get(END).is_some(),
        failed: h.get(FAILED).is_some(),
    }
}

/// The reader thread: frames in, chunks out, skipping the events the stream already holds.
fn read_frames(
    mut reader: FrameReader<std::fs::File>,
    kind: EventKind,
    start: Stored,
    limit: usize,
    tx: &mpsc::Sender<Chunk>,
    resumable: bool,
) -> Result<()> {
    let mut emit = |chunk: Chunk| {
        tx.blocking_send(chunk)
            .map_err(|_| fail("publishing stopped"))
    };
    let mut batcher = Batcher::new(limit, start.events);
    let mut skip = start.events;
    loop {
        if reader.would_block() {
            batcher.flush(&mut emit)?;
        }
        if signals::stop_requested() {
            break;
        }
        let frame = match reader.next_frame() {
            Ok(Some(frame)) => frame,
            Ok(None) => break,
            Err(e) => {
                batcher.flush(&mut emit)?;
                if !resumable {
                    emit(Chunk::Failed(e.to_string()))?;
                }
                return Err(e);
            }
        };
        let (mut events, mut payload) = (frame.events, frame.payload);
        if skip > 0 {
            if u64::from(events) <= skip {
                skip -= u64::from(events);
                continue;
            }
            let n = u32::try_from(skip).expect("skip < events, a u32");
            payload = &payload[event_boundary(kind, payload, n, frame.offset)?..];
            events -= n;
            skip = 0;
        }
        if start.ended {
            return Err(fail(format!(
                "the subject already holds a finished stream of {} events from this producer, and the input has more; use another subject or --producer",
                start.events
            )));
        }
        batcher.push(events, payload, &mut emit)?;
    }
    batcher.flush(&mut emit)?;
    if skip > 0 {
        return Err(fail(format!(
            "the input has {} events, fewer than the {} this producer already stored; a restarted producer must replay the same input",
            start.events - skip,
            start.events
        )));
    }
    if !start.ended {
        emit(Chunk::End)?;
    }
    Ok(())
}

struct Publisher {
    js: jetstream::Context,
    stream: Stream,
    subject: String,
    url: String,
    kind: EventKind,
    state: Stored,
    retry_for: Duration,
    producer: String,
    /// This run's nonce, in every message id.
    run: u64,
    /// Inside a split frame: the parts published so far carry this frame start.
    frame: Option<u64>,
}

/// One message to publish: its payload and what its headers say.
struct Outgoing {
    payload: Vec<u8>,
    more: bool,
    events: u64,
    marker: Option<(&'static str, String)>,
}

impl Outgoing {
    fn of(chunk: Chunk, events_before: u64) -> Self {
        match chunk {
            Chunk::Data {
                bytes,
                events_after,
                more,
            } => Outgoing {
                payload: bytes,
                more,
                events: events_after,
                marker: None,
            },
            Chunk::End => Outgoing::marker(END, String::new(), events_before),
            Chunk::Failed(why) => Outgoing::marker(FAILED, why, events_before),
        }
    }

    fn marker(name: &'static str, value: String, events: u64) -> Self {
        let value = if value.is_empty() { "1".into() } else { value };
        Outgoing {
            payload: Vec::new(),
            more: false,
            events,
            marker: Some((name, value)),
        }
    }
}

impl Publisher {
    async fn publish_all(&mut self, mut rx: mpsc::Receiver<Chunk>) -> Result<()> {
        // A new run starts at the resume boundary, superseding a split frame's dangling parts,
        // and says so first: its start message fences off whatever an earlier run of this
        // producer still had in flight.
        self.state.offset = self.state.resume;
        if !self.state.ended {
            let start = Outgoing::marker(START, String::new(), self.state.events);
            self.publish(start).await?;
        }
        while let Some(chunk) = rx.recv().await {
            let out = Outgoing::of(chunk, self.state.events);
            let failed = out.marker.as_ref().is_some_and(|(name, _)| *name == FAILED);
            self.publish(out).await?;
            if failed {
                break;
            }
        }
        Ok(())
    }

    /// Publishes one message at the current offset and moves the offset past it.
    async fn publish(&mut self, out: Outgoing) -> Result<()> {
        let offset = self.state.offset;
        let end = offset + out.payload.len() as u64;
        let resume = if out.more { self.state.resume } else { end };
        let mut headers = HeaderMap::new();
        headers.insert(KIND, self.kind.name());
        headers.insert(OFFSET, offset.to_string().as_str());
        headers.insert(RESUME, resume.to_string().as_str());
        headers.insert(EVENTS, out.events.to_string().as_str());
        if out.more {
            headers.insert(PART, "more");
            self.frame.get_or_insert(self.state.resume);
        }
        if let Some(frame) = self.frame {
            headers.insert(FRAME, frame.to_string().as_str());
        }
        if !out.more {
            self.frame = None;
        }
        if let Some((name, value)) = out.marker {
            headers.insert(name, value.as_str());
        }
        // Unique per message of this run: a retry of it is dropped by the server, and it
        // tells the retry check whether the message stored last is this one.
        // (The sequence it follows: an empty start message and the data after it share
        // their offset.)
        let id = format!("{}:{:016x}:{}", self.producer, self.run, self.state.seq);
        self.publish_one(headers, out.payload.into(), &id).await?;
        self.state.offset = end;
        self.state.resume = resume;
        self.state.events = out.events;
        Ok(())
    }

    /// Publishes one message, retrying (and first checking what the server stored) until it
    /// is stored once, or the server stays away longer than `retry_for`.
    async fn publish_one(
        &mut self,
        headers: HeaderMap,
        payload: bytes::Bytes,
        id: &str,
    ) -> Result<()> {
        let mut deadline = Instant::now() + self.retry_for;
        let mut pause = Duration::from_millis(50);
        let mut told_full = false;
        loop {
            let publish = PublishMessage::build()
                .payload(payload.clone())
                .headers(headers.clone())
                .message_id(id)
                .expected_last_subject_sequence(self.state.seq);
            let why = match self.js.send_publish(self.subject.clone(), publish).await {
                Ok(ack) => match ack.await {
                    Ok(ack) => {
                        self.state.seq = ack.sequence;
                        return Ok(());
                    }
                    Err(e) => e.to_string(),
                },
                Err(e) => e.to_string(),
            };
            if is_full(&why) {
                // Back-pressure: the stream holds its limit of unconsumed data.
                if !told_full {
                    eprintln!("co-nats-pub: waiting: stream for {} is full (--max-bytes); consumers must catch up", self.subject);
                    told_full = true;
                }
                deadline = Instant::now() + self.retry_for;
            } else if Instant::now() > deadline {
                return Err(self.gave_up(&why));
            }
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_secs(1));
            if self.stored_already(id).await? {
                return Ok(());
            }
        }
    }

    /// After a failed attempt: true if the server stored it after all (the answer was lost).
    /// The producer's last message is then this one, by its id; anything else after the
    /// sequence this run expects is another publisher's.
    async fn stored_already(&mut self, id: &str) -> Result<bool> {
        let Ok(last) = last_stored(&self.stream, &self.subject).await else {
            return Ok(false); // the server is away: retry
        };
        if last.seq == self.state.seq {
            return Ok(false);
        }
        if last.id.as_deref() == Some(id) {
            self.state.seq = last.seq;
            return Ok(true);
        }
        Err(fail(format!(
            "another publisher writes to {} (stream sequence {} where {} was expected); give each producer its own --producer",
            self.subject, last.seq, self.state.seq
        )))
    }

    fn gave_up(&self, why: &str) -> Error {
        fail(format!(
            "gave up publishing to {} on {} after {}s without the server ({why}); the stream holds this producer's first {} events, and a rerun resumes there",
            self.subject,
            self.url,
            self.retry_for.as_secs(),
            self.state.events
        ))
    }
}

/// True when the server refused a message because the stream is at its limits.
fn is_full(why: &str) -> bool {
    let why = why.to_ascii_lowercase();
    why.contains("maximum bytes")
        || why.contains("resource limits")
        || why.contains("maximum messages")
}
