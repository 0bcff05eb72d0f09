//! `co-nats-sub SUBJECT`: a durable `JetStream` consumer that writes the link's frames out.
//!
//! Messages arrive in stream order; for each producer the consumer knows the byte offset it
//! has written, skips what lies below it (a redelivery), holds the parts of a split frame
//! until the last one, and hands whole frames to a writer thread (blocking I/O off the async
//! runtime). A message is acknowledged only once the writer has written its bytes, so at most
//! `--max-ack-pending` messages (each at most the server's maximum payload) are ever
//! unacknowledged. Anything out of order (a gap after a server restart, a redelivery racing a
//! newer message) makes the consumer rewind to its acknowledgement floor and read on from
//! there: offsets make the rewind harmless.

use std::collections::{HashMap, VecDeque};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::jetstream::consumer::pull::{self, Stream as Messages};
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer};
use async_nats::jetstream::{self, stream::Stream, Message};
use futures_util::StreamExt;
use tokio::sync::mpsc;

use super::connect::{ensure_stream, NatsArgs};
use super::framing::count_events;
use super::journal::{Journal, Out, PipeOut};
use super::{
    check_subject, check_token, fail, parse_kind, runtime, END, EVENTS, FAILED, FRAME, KIND,
    META_KIND, OFFSET, PART, RESUME, START,
};
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::link::endpoint;
use crate::link::frame::LinkCounters;
use crate::signals;
use crate::stats::register;

/// What `co-nats-sub` is asked to do.
#[derive(Debug, Clone)]
pub struct SubOptions {
    pub subject: String,
    pub durable: String,
    /// Producers whose end markers end the output.
    pub producers: usize,
    pub kind: Option<EventKind>,
    pub output: Option<PathBuf>,
    pub max_ack_pending: i64,
    pub retry_for: Duration,
    pub max_bytes: i64,
    /// Remove from the stream what every consumer of it has acknowledged.
    pub trim: bool,
    /// Start from the beginning of the subject, whatever the durable consumer acknowledged.
    pub replay: bool,
}

/// What the writer thread is asked to do; each job is reported done once.
enum Job {
    Begin(EventKind),
    Write {
        producer: String,
        resume: u64,
        events: u64,
        bytes: Vec<bytes::Bytes>,
    },
    End(String),
    Close,
    Stop,
}

/// `co-nats-sub`: see the module documentation.
pub fn run_subscribe(stage: &str, nats: &NatsArgs, opts: &SubOptions) -> Result<()> {
    check_subject(&opts.subject)?;
    check_token("durable consumer name", &opts.durable)?;
    let rt = runtime()?;
    let _context = rt.enter();
    let client = rt.block_on(nats.connect(stage))?;
    let js = jetstream::new(client.clone());
    let url = nats.shown_url();
    let (stream, consumer, kind, fresh) = rt.block_on(setup(&js, &url, opts))?;
    let counters = Arc::new(LinkCounters::default());
    let mut known = HashMap::new();
    let mut strict = fresh;
    let out: Box<dyn Out> = match open_output(opts, &counters)? {
        Opened::File(j) if j.state.closed => return Ok(()),
        Opened::File(j) => {
            strict = true;
            for (p, o) in &j.state.offsets {
                known.insert(p.clone(), Producer::at(*o, j.state.ended.contains(p)));
            }
            Box::new(j)
        }
        Opened::Pipe(p) => Box::new(p),
    };
    register(
        crate::protocol::Direction::Output,
        &opts
            .output
            .as_ref()
            .map_or("standard output".into(), |p| p.display().to_string()),
        counters,
    );
    signals::stop_on_signals();
    let (jobs, jobs_rx) = mpsc::channel::<Job>(opts.max_ack_pending.max(1) as usize);
    let (done_tx, done) = mpsc::unbounded_channel::<()>();
    let writer = std::thread::spawn(move || write_jobs(out, jobs_rx, &done_tx));
    let mut c = Consume {
        stream,
        consumer,
        durable: opts.durable.clone(),
        producers: known,
        expected_producers: opts.producers,
        strict,
        kind,
        began: false,
        inflight: VecDeque::new(),
        jobs,
        done,
        url,
        retry_for: opts.retry_for,
        finished: false,
        subject: opts.subject.clone(),
        trim: opts.trim,
        acked_since_trim: 0,
        acked_seq: 0,
        own_floor: 0,
    };
    let consumed = rt.block_on(c.run());
    let Consume { jobs, inflight, .. } = c;
    drop(jobs);
    let written = writer
        .join()
        .unwrap_or_else(|_| Err(fail("the writing thread panicked")));
    rt.block_on(async {
        for group in inflight {
            for m in group {
                let _ = m.ack().await;
            }
        }
        // Acknowledgements reach the server unless it is gone; then a restart redelivers.
        let _ = tokio::time::timeout(Duration::from_secs(5), client.flush()).await;
    });
    written.and(consumed)
}

async fn setup(
    js: &jetstream::Context,
    url: &str,
    opts: &SubOptions,
) -> Result<(Stream, PullConsumer, Option<EventKind>, bool)> {
    let mut stream = ensure_stream(js, url, &opts.subject, opts.kind, opts.max_bytes).await?;
    let info = stream
        .info()
        .await
        .map_err(|e| fail(format!("cannot read the stream of {}: {e}", opts.subject)))?;
    let kind = opts.kind.or_else(|| {
        info.config
            .metadata
            .get(META_KIND)
            .and_then(|k| parse_kind(k))
    });
    if opts.replay {
        // A replay starts from the subject's first message: an earlier run's consumer goes
        // (there may be none).
        let _ = stream.delete_consumer(&opts.durable).await;
    }
    let consumer: PullConsumer = stream
        .get_or_create_consumer(
            &opts.durable,
            pull::Config {
                durable_name: Some(opts.durable.clone()),
                filter_subject: format!("{}.*", opts.subject),
                ack_policy: AckPolicy::Explicit,
                deliver_policy: DeliverPolicy::All,
                ack_wait: Duration::from_mins(1),
                max_ack_pending: opts.max_ack_pending,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| {
            fail(format!(
                "cannot create durable consumer {} on {}: {e}",
                opts.durable, opts.subject
            ))
        })?;
    let mut consumer = consumer;
    let cinfo = consumer.info().await.map_err(|e| {
        fail(format!(
            "cannot read durable consumer {}: {e}",
            opts.durable
        ))
    })?;
    let fresh = cinfo.ack_floor.stream_sequence == 0 && cinfo.delivered.stream_sequence == 0;
    if !fresh {
        // Messages delivered to an earlier run but never acknowledged come back now, in
        // order, rather than after their acknowledgement wait.
        rewind(&stream, &opts.durable).await?;
    }
    Ok((stream, consumer, kind, fresh))
}

async fn rewind(stream: &Stream, durable: &str) -> Result<()> {
    stream
        .reset_consumer(durable, None)
        .await
        .map(|_| ())
        .map_err(|e| {
            fail(format!(
                "cannot rewind durable consumer {durable} to its last acknowledgement: {e}"
            ))
        })
}

enum Opened {
    Pipe(PipeOut),
    File(Journal),
}

/// Opens the output: a regular file goes through a journal, anything else is a pipe.
fn open_output(opts: &SubOptions, counters: &Arc<LinkCounters>) -> Result<Opened> {
    let owner = format!("{} {}", opts.subject, opts.durable);
    if let Some(path) = opts
        .output
        .as_deref()
        .filter(|p| !endpoint::is_std(Some(p)))
    {
        if std::fs::metadata(path).map_or(true, |m| m.is_file()) {
            return Ok(Opened::File(Journal::open(
                path,
                &owner,
                Arc::clone(counters),
            )?));
        }
    }
    let e = endpoint::open_output(opts.output.as_deref(), true)?;
    Ok(Opened::Pipe(PipeOut {
        file: e.file,
        label: e.label,
        counters: Arc::clone(counters),
    }))
}

/// The writer thread: runs jobs in order, reporting each one done.
fn write_jobs(
    mut out: Box<dyn Out>,
    mut jobs: mpsc::Receiver<Job>,
    done: &mpsc::UnboundedSender<()>,
) -> Result<()> {
    while let Some(job) = jobs.blocking_recv() {
        match job {
            Job::Begin(kind) => out.begin(kind)?,
            Job::Write {
                producer,
                resume,
                events,
                bytes,
            } => {
                let slices: Vec<&[u8]> = bytes.iter().map(AsRef::as_ref).collect();
                out.write(&producer, resume, events, &slices)?;
            }
            Job::End(producer) => out.end(&producer)?,
            Job::Close => out.close()?,
            Job::Stop => out.stop()?,
        }
        let _ = done.send(());
    }
    Ok(())
}

/// One producer's progress in the output.
#[derive(Default)]
struct Producer {
    /// Byte offset written (a frame boundary), once known.
    written: Option<u64>,
    /// Events written.
    events: u64,
    /// Parts of a split frame, and their messages.
    held: Vec<bytes::Bytes>,
    held_len: u64,
    held_msgs: Vec<Message>,
    ended: bool,
    /// Stream sequence of the last message seen, and below which the stream is trimmed.
    last_seq: u64,
    trimmed: u64,
}

impl Producer {
    fn at(offset: u64, ended: bool) -> Self {
        Producer {
            written: Some(offset),
            ended,
            ..Default::default()
        }
    }
}

#[allow(clippy::struct_excessive_bools)] // independent states of one consumer
struct Consume {
    stream: Stream,
    consumer: PullConsumer,
    durable: String,
    producers: HashMap<String, Producer>,
    expected_producers: usize,
    /// Offsets must start at 0 for producers not seen yet (a fresh consumer, or a journal).
    strict: bool,
    kind: Option<EventKind>,
    began: bool,
    /// Messages to acknowledge once the writer has done each job, in job order.
    inflight: VecDeque<Vec<Message>>,
    jobs: mpsc::Sender<Job>,
    done: mpsc::UnboundedReceiver<()>,
    url: String,
    retry_for: Duration,
    finished: bool,
    subject: String,
    trim: bool,
    acked_since_trim: usize,
    /// The highest stream sequence this consumer acknowledged, and its ack floor as the
    /// server last reported it: acknowledgements are not waited for, so a trim may run
    /// before the server has counted them, and must run again until it has.
    acked_seq: u64,
    own_floor: u64,
}

/// What to do after a message.
enum Next {
    Go,
    Rewind(String),
}

fn header<'a>(m: &'a Message, name: &str) -> Option<&'a str> {
    m.headers
        .as_ref()?
        .get(name)
        .map(async_nats::HeaderValue::as_str)
}

fn header_u64(m: &Message, name: &str) -> u64 {
    header(m, name).and_then(|v| v.parse().ok()).unwrap_or(0)
}

impl Consume {
    async fn run(&mut self) -> Result<()> {
        let mut messages = self.messages().await?;
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut trouble: Option<Instant> = None;
        let mut pause = Duration::from_millis(50);
        loop {
            if self.finished && self.inflight.is_empty() {
                return Ok(());
            }
            tokio::select! {
                done = self.done.recv() => match done {
                    Some(()) => self.acknowledge().await,
                    // The writer stopped: its error (or a closed downstream) is reported by
                    // the caller.
                    None => return Ok(()),
                },
                next = messages.next(), if !self.finished => {
                    let why = match next {
                        Some(Ok(m)) => match self.take(m).await? {
                            Next::Go => {
                                trouble = None;
                                pause = Duration::from_millis(50);
                                continue;
                            }
                            Next::Rewind(why) => why,
                        },
                        Some(Err(e)) => e.to_string(),
                        None => "the server ended the message stream".into(),
                    };
                    let since = *trouble.get_or_insert_with(Instant::now);
                    if since.elapsed() > self.retry_for {
                        return Err(self.gave_up(&why));
                    }
                    tokio::time::sleep(pause).await;
                    pause = (pause * 2).min(Duration::from_secs(1));
                    if let Ok(m) = self.rewind().await {
                        // The server answers: only its absence counts against --retry-for.
                        messages = m;
                        trouble = None;
                    }
                }
                _ = tick.tick() => {
                    if trouble.is_some_and(|t| t.elapsed() > self.retry_for) {
                        return Err(self.gave_up("no answer from the server"));
                    }
                    if self.trim && (self.acked_since_trim > 0 || self.own_floor < self.acked_seq) {
                        // A stream smaller than a batch of acknowledgements must not wait, nor
                        // one trimmed before the server had counted the last of them (then a
                        // publisher waiting on the full stream would wait for ever).
                        self.acked_since_trim = 0;
                        let _ = self.trim_stream().await;
                    }
                    if signals::stop_requested() && !self.finished {
                        self.send(Job::Stop, Vec::new()).await?;
                        self.finished = true;
                    }
                }
            }
        }
    }

    async fn messages(&self) -> Result<Messages> {
        let batch = usize::try_from(self.consumer.cached_info().config.max_ack_pending)
            .unwrap_or(16)
            .clamp(1, 64);
        self.consumer
            .stream()
            .max_messages_per_batch(batch)
            .heartbeat(Duration::from_secs(2))
            .expires(Duration::from_secs(10))
            .messages()
            .await
            .map_err(|e| {
                fail(format!(
                    "cannot consume {} on {}: {e}",
                    self.durable, self.url
                ))
            })
    }

    /// Forgets held parts and reads on from the last acknowledgement.
    async fn rewind(&mut self) -> Result<Messages> {
        for p in self.producers.values_mut() {
            p.held.clear();
            p.held_msgs.clear();
            p.held_len = 0;
        }
        rewind(&self.stream, &self.durable).await?;
        self.messages().await
    }

    async fn send(&mut self, job: Job, acks: Vec<Message>) -> Result<()> {
        self.inflight.push_back(acks);
        self.jobs
            .send(job)
            .await
            .map_err(|_| fail("the output stopped"))
    }

    /// The writer finished the oldest job: its messages are safe downstream.
    async fn acknowledge(&mut self) {
        if let Some(group) = self.inflight.pop_front() {
            self.acked_since_trim += group.len();
            for m in group {
                if let Ok(info) = m.info() {
                    self.acked_seq = self.acked_seq.max(info.stream_sequence);
                }
                // A lost acknowledgement only means a redelivery, which offsets skip.
                let _ = m.ack().await;
            }
        }
        if self.trim && (self.acked_since_trim >= 8 || (self.finished && self.inflight.is_empty()))
        {
            self.acked_since_trim = 0;
            // Trimming is housekeeping: a failure now is retried at the next batch.
            let _ = self.trim_stream().await;
        }
    }

    /// Removes from the stream what every consumer has acknowledged, keeping each
    /// producer's latest message (a restarted producer resumes from it). This is what lets a
    /// publisher blocked on a full stream go on: the bound is on unconsumed data.
    async fn trim_stream(&mut self) -> Result<()> {
        let mut floor = u64::MAX;
        let mut own = self.acked_seq; // (if this consumer is not listed: nothing to wait for)
        let mut consumers = self.stream.consumers();
        while let Some(info) = consumers.next().await {
            let info = info.map_err(|e| fail(e.to_string()))?;
            floor = floor.min(info.ack_floor.stream_sequence);
            if info.name == self.durable {
                own = info.ack_floor.stream_sequence;
            }
        }
        for (name, p) in &mut self.producers {
            let upto = floor.saturating_add(1).min(p.last_seq);
            if upto > p.trimmed + 1 {
                self.stream
                    .purge()
                    .filter(format!("{}.{name}", self.subject))
                    .sequence(upto)
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                p.trimmed = upto - 1;
            }
        }
        // Only now: a trim that failed half-way is tried again at the next tick.
        self.own_floor = own;
        Ok(())
    }

    fn delivered(&self) -> u64 {
        self.producers.values().map(|p| p.events).sum()
    }

    fn gave_up(&self, why: &str) -> Error {
        fail(format!(
            "gave up on {} at {} after {}s ({why}); delivered {} events, a restart resumes after them",
            self.durable,
            self.url,
            self.retry_for.as_secs(),
            self.delivered()
        ))
    }

    /// Checks the message's kind against the link's, starting the output at the first one.
    async fn check_kind(&mut self, m: &Message, subject: &str) -> Result<()> {
        let Some(kind) = header(m, KIND).and_then(parse_kind) else {
            return Err(fail(format!(
                "a message on {subject} has no {KIND} header: only co-nats-pub may publish to a copipe subject"
            )));
        };
        match self.kind {
            Some(k) if k != kind => {
                return Err(fail(format!(
                    "{subject} carries {kind}, but this consumer expects {k}"
                )))
            }
            _ => self.kind = Some(kind),
        }
        if !self.began {
            self.began = true;
            self.send(Job::Begin(kind), Vec::new()).await?;
        }
        Ok(())
    }

    /// Where the message at `offset` falls in its producer's output: `None` if it comes
    /// next; else what to do (a repeat is acknowledged and skipped, a gap rewinds).
    async fn place(
        &mut self,
        m: &Message,
        producer: &str,
        subject: &str,
        offset: u64,
    ) -> Option<Next> {
        let len = m.payload.len() as u64;
        let strict = self.strict;
        let p = self.producers.entry(producer.to_owned()).or_default();
        if let Ok(info) = m.info() {
            p.last_seq = p.last_seq.max(info.stream_sequence);
        }
        let frame = header(m, FRAME).and_then(|v| v.parse::<u64>().ok());
        // Joined in the middle of a split frame (no journal said where this consumer was):
        // that frame was written whole before any of its parts was acknowledged.
        let mid_frame = p.written.is_none() && !strict && frame.is_some_and(|f| f != offset);
        if p.ended || mid_frame {
            let _ = m.ack().await;
            return Some(Next::Go);
        }
        let written = match p.written {
            Some(w) => w,
            None if strict && offset != 0 => {
                return Some(Next::Rewind(format!(
                    "producer {producer} starts at byte {offset}, not 0"
                )))
            }
            None => *p.written.insert(offset),
        };
        if offset < written {
            if offset + len <= written {
                let _ = m.ack().await;
                return Some(Next::Go);
            }
            return Some(Next::Rewind(format!(
                "{subject}: a message at byte {offset} overlaps byte {written} already written"
            )));
        }
        if offset == written && !p.held.is_empty() {
            // A restarted producer superseded the parts of a frame it did not finish.
            p.held.clear();
            p.held_len = 0;
            for old in p.held_msgs.drain(..) {
                let _ = old.ack().await;
            }
        }
        if offset != written + p.held_len {
            return Some(Next::Rewind(format!(
                "{subject}: expected byte {}, got a message at byte {offset}",
                written + p.held_len
            )));
        }
        None
    }

    /// Takes one message: skips a repeat, holds a part, writes whole frames.
    async fn take(&mut self, m: Message) -> Result<Next> {
        let subject = m.subject.to_string();
        let producer = subject.rsplit('.').next().unwrap_or_default().to_owned();
        self.check_kind(&m, &subject).await?;
        let (offset, resume, events) = (
            header_u64(&m, OFFSET),
            header_u64(&m, RESUME),
            header_u64(&m, EVENTS),
        );
        if let Some(next) = self.place(&m, &producer, &subject, offset).await {
            return Ok(next);
        }
        let len = m.payload.len() as u64;
        let p = self.producers.entry(producer.clone()).or_default();
        if header(&m, START).is_some() {
            // A publisher (re)started at the boundary written so far: nothing to write.
            let _ = m.ack().await;
            return Ok(Next::Go);
        }
        if let Some(why) = header(&m, FAILED) {
            return Err(fail(format!(
                "producer {producer} on {} failed after {events} events ({why}); delivered {} events",
                self.stream.cached_info().config.name,
                self.delivered()
            )));
        }
        if header(&m, END).is_some() {
            p.ended = true;
            self.send(Job::End(producer), vec![m]).await?;
            let ended = self.producers.values().filter(|p| p.ended).count();
            if ended >= self.expected_producers {
                self.send(Job::Close, Vec::new()).await?;
                self.finished = true;
            }
            return Ok(Next::Go);
        }
        p.held.push(m.payload.clone());
        p.held_len += len;
        if header(&m, PART).is_some() {
            p.held_msgs.push(m);
            return Ok(Next::Go);
        }
        let mut bytes = std::mem::take(&mut p.held);
        let mut acks = std::mem::take(&mut p.held_msgs);
        p.held_len = 0;
        if bytes.len() > 1 {
            bytes = vec![bytes.concat().into()];
        }
        let Some(count) = count_events(&bytes[0]) else {
            return Err(fail(format!(
                "{subject}: the message at byte {offset} does not hold whole frames; the stream is damaged"
            )));
        };
        p.written = Some(resume);
        p.events = events;
        acks.push(m);
        self.send(
            Job::Write {
                producer,
                resume,
                events: count,
                bytes,
            },
            acks,
        )
        .await?;
        Ok(Next::Go)
    }
}
