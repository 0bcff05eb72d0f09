//! Where `co-nats-sub` writes: a pipe (or standard output), or a file with a journal that
//! makes its writes exactly-once across a `kill -9`.
//!
//! Into a pipe, a message is acknowledged once its bytes are written; a consumer killed
//! between the write and the acknowledgement gets that message again after its restart, and
//! only its in-memory offsets (lost with it) could tell it is a repeat. Into a regular file
//! the consumer can do better: before each write it records in `FILE.copipe-journal` where
//! the write starts and what it brings each producer to. After a restart the file's length
//! says whether the last write happened; a torn write is cut off. So the offsets reached are
//! known exactly, and a redelivered message is recognised as already written.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::fail;
use crate::error::{IoContext, Result};
use crate::event::EventKind;
use crate::link::frame::{stream_header, LinkCounters, FRAME_HEADER_LEN};

/// Where the consumer's stream goes.
pub trait Out: Send {
    /// Starts the stream (its header), unless a resumed file already has one.
    fn begin(&mut self, kind: EventKind) -> Result<()>;
    /// Writes whole frames that bring `producer`'s stream to byte `resume`.
    fn write(&mut self, producer: &str, resume: u64, events: u64, bytes: &[&[u8]]) -> Result<()>;
    /// Records that `producer` finished.
    fn end(&mut self, producer: &str) -> Result<()>;
    /// Ends the stream with the end-of-stream marker.
    fn close(&mut self) -> Result<()>;
    /// Stops without ending the stream (a resumable file stays open-ended).
    fn stop(&mut self) -> Result<()>;
}

/// A pipe, FIFO or standard output.
pub struct PipeOut {
    pub file: File,
    pub label: String,
    pub counters: Arc<LinkCounters>,
}

impl PipeOut {
    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let label = &self.label;
        self.file
            .write_all(bytes)
            .context_io(|| format!("writing to {label}"))
    }
}

impl Out for PipeOut {
    fn begin(&mut self, kind: EventKind) -> Result<()> {
        self.put(&stream_header(kind))
    }
    fn write(&mut self, _: &str, _: u64, events: u64, bytes: &[&[u8]]) -> Result<()> {
        for b in bytes {
            self.put(b)?;
        }
        count(&self.counters, events, bytes);
        Ok(())
    }
    fn end(&mut self, _: &str) -> Result<()> {
        Ok(())
    }
    fn close(&mut self) -> Result<()> {
        self.put(&[0; FRAME_HEADER_LEN])
    }
    fn stop(&mut self) -> Result<()> {
        self.close()
    }
}

fn count(counters: &LinkCounters, events: u64, bytes: &[&[u8]]) {
    use std::sync::atomic::Ordering::Relaxed;
    counters.events.fetch_add(events, Relaxed);
    let n: usize = bytes.iter().map(|b| b.len()).sum();
    counters.bytes.fetch_add(n as u64, Relaxed);
}

/// What the journal holds: one JSON object, padded to one page and rewritten in place with a
/// single write (a process dies before or after it, never in the middle).
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct State {
    /// Who writes this file: the durable consumer and its subject.
    pub owner: String,
    /// Length of the file after the last completed write.
    pub pos: u64,
    /// Each producer's offset reached in the file.
    pub offsets: BTreeMap<String, u64>,
    pub ended: BTreeSet<String>,
    /// The end-of-stream marker is written: everything was delivered.
    pub closed: bool,
    /// The write in progress: (producer, offset it reaches, length).
    pub pending: Option<(String, u64, u64)>,
}

const JOURNAL_BYTES: usize = 4096;

/// A regular file written through a journal.
pub struct Journal {
    file: File,
    log: File,
    label: String,
    pub state: State,
    counters: Arc<LinkCounters>,
}

impl Journal {
    /// Opens `path` for `owner`, resuming it if its journal belongs to the same consumer,
    /// else starting it afresh.
    pub fn open(path: &Path, owner: &str, counters: Arc<LinkCounters>) -> Result<Journal> {
        let label = path.display().to_string();
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .context_io(|| format!("opening output {label}"))?;
        let jpath = journal_path(path);
        let journal = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&jpath)
            .context_io(|| format!("opening journal {}", jpath.display()))?;
        let mut state = read_state(&journal)
            .filter(|s| s.owner == owner)
            .unwrap_or_default();
        owner.clone_into(&mut state.owner);
        let len = file
            .metadata()
            .context_io(|| format!("reading the size of {label}"))?
            .len();
        if let Some((producer, reach, n)) = state.pending.take() {
            if len >= state.pos + n {
                state.pos += n;
                state.offsets.insert(producer, reach);
            }
        }
        let j = Journal {
            file,
            log: journal,
            label,
            state,
            counters,
        };
        j.file
            .set_len(j.state.pos)
            .context_io(|| format!("cutting {} back to its last whole write", j.label))?;
        Ok(j)
    }

    fn save(&mut self) -> Result<()> {
        let mut text = serde_json::to_vec(&self.state).map_err(|e| fail(e.to_string()))?;
        if text.len() >= JOURNAL_BYTES {
            return Err(fail("too many producers for the output journal"));
        }
        text.resize(JOURNAL_BYTES, b' ');
        self.log
            .write_all_at(&text, 0)
            .context_io(|| format!("writing the journal of {}", self.label))
    }

    fn put(&mut self, bytes: &[u8]) -> Result<()> {
        let label = &self.label;
        self.file
            .write_all_at(bytes, self.state.pos)
            .context_io(|| format!("writing to {label}"))?;
        self.state.pos += bytes.len() as u64;
        Ok(())
    }
}

/// `FILE.copipe-journal`, beside the output.
pub fn journal_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".copipe-journal");
    PathBuf::from(name)
}

fn read_state(journal: &File) -> Option<State> {
    let mut buf = vec![0; JOURNAL_BYTES];
    let n = journal.read_at(&mut buf, 0).ok()?;
    serde_json::from_slice(buf[..n].trim_ascii_end()).ok()
}

impl Out for Journal {
    fn begin(&mut self, kind: EventKind) -> Result<()> {
        if self.state.pos == 0 {
            self.put(&stream_header(kind))?;
            self.save()?;
        }
        Ok(())
    }
    fn write(&mut self, producer: &str, resume: u64, events: u64, bytes: &[&[u8]]) -> Result<()> {
        let n: usize = bytes.iter().map(|b| b.len()).sum();
        self.state.pending = Some((producer.to_owned(), resume, n as u64));
        self.save()?;
        self.state.pending = None;
        for b in bytes {
            self.put(b)?;
        }
        self.state.offsets.insert(producer.to_owned(), resume);
        count(&self.counters, events, bytes);
        Ok(())
    }
    fn end(&mut self, producer: &str) -> Result<()> {
        self.state.ended.insert(producer.to_owned());
        self.save()
    }
    fn close(&mut self) -> Result<()> {
        self.put(&[0; FRAME_HEADER_LEN])?;
        self.state.closed = true;
        self.save()
    }
    fn stop(&mut self) -> Result<()> {
        self.save()
    }
}
