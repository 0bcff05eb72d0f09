//! `co-merge`: fan-in, made safe.
//!
//! The seed's "disturbing variation" lets three `grep`s send into one `printer`: fine for
//! coroutines in one thread, a crash once threads are involved. Across processes the danger
//! is two writers interleaving bytes in one pipe. `co-merge` gives every upstream its own
//! link and interleaves *whole frames* into one output: a reader thread per input hands
//! complete frames to the writer, so events are never split, whatever their size. It ends
//! when every input has ended; an input that fails (ends without its end-of-stream marker)
//! fails the merge.

use std::fs::File;
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, SyncSender, TryRecvError};

use crate::args::OutputArgs;
use crate::error::{Error, Result};
use crate::event::EventKind;
use crate::link::endpoint;
use crate::protocol::{Port, StageInfo};
use crate::{args, run};

enum Message {
    Header(usize, EventKind),
    Frame(u32, Vec<u8>),
    End,
    Failed(usize, Error),
}

/// Frames waiting between the readers and the writer: enough to keep both busy, few enough
/// to keep memory small (each holds at most one frame).
const QUEUE: usize = 16;

/// `co-merge`'s `--describe`: the launcher inserts it for fan-in, and takes its ports from
/// here.
pub const INFO: StageInfo = StageInfo::new("co-merge", Port::Any, Port::Any).with_many_inputs();

/// `co-merge IN...`: several inputs of one kind, one output.
pub fn run_merge(inputs: &[PathBuf], max_frame: usize, output: &OutputArgs) -> Result<()> {
    if inputs.is_empty() {
        return Err(run::usage("co-merge needs at least one input"));
    }
    let endpoints = endpoint::open_inputs(inputs)?;
    if let Some(first) = endpoints.first() {
        args::set_signal_manners(&first.file);
    }
    let (tx, rx) = mpsc::sync_channel(QUEUE);
    let (recycle_tx, recycle_rx) = mpsc::channel::<Vec<u8>>();
    let recycle_rx = std::sync::Arc::new(std::sync::Mutex::new(recycle_rx));
    let mut labels = Vec::new();
    for (i, e) in endpoints.into_iter().enumerate() {
        labels.push(e.label.clone());
        let tx = tx.clone();
        let recycle = std::sync::Arc::clone(&recycle_rx);
        std::thread::Builder::new()
            .name(format!("merge-input-{i}"))
            .spawn(move || read_input(i, e.file, e.label, max_frame, tx, recycle))
            .map_err(|e| Error::io("starting a reader thread", e))?;
    }
    drop(tx);
    write_merged(rx, recycle_tx, &labels, output)
}

/// One input's reader: header, then each frame as an owned buffer, then `End`.
fn read_input(
    index: usize,
    file: File,
    label: String,
    max_frame: usize,
    out: SyncSender<Message>,
    recycle: std::sync::Arc<std::sync::Mutex<Receiver<Vec<u8>>>>,
) {
    let result = (|| -> Result<()> {
        let mut reader = args::frame_reader(file, label, max_frame)?;
        if out.send(Message::Header(index, reader.kind())).is_err() {
            return Ok(());
        }
        while let Some(frame) = reader.next_frame()? {
            let mut buf = recycle
                .lock()
                .ok()
                .and_then(|r| r.try_recv().ok())
                .unwrap_or_default();
            buf.clear();
            buf.extend_from_slice(frame.payload);
            if out.send(Message::Frame(frame.events, buf)).is_err() {
                return Ok(());
            }
        }
        let _ = out.send(Message::End);
        Ok(())
    })();
    if let Err(e) = result {
        let _ = out.send(Message::Failed(index, e));
    }
}

fn write_merged(
    rx: Receiver<Message>,
    recycle: mpsc::Sender<Vec<u8>>,
    labels: &[String],
    output: &OutputArgs,
) -> Result<()> {
    let mut writer = None;
    let mut kind: Option<EventKind> = None;
    let mut open = labels.len();
    while open > 0 {
        let message = match rx.try_recv() {
            Ok(m) => m,
            Err(TryRecvError::Empty) => {
                // About to wait for input: push out what we have.
                if let Some(w) = writer.as_mut() {
                    crate::link::FrameWriter::flush(w)?;
                }
                let Some(waiting) = crate::signals::Waiting::enter() else {
                    break;
                };
                let received = rx.recv();
                drop(waiting);
                match received {
                    Ok(m) => m,
                    Err(_) => break,
                }
            }
            Err(TryRecvError::Disconnected) => break,
        };
        match message {
            Message::Header(i, k) => match kind {
                None => {
                    kind = Some(k);
                    writer = Some(output.open(k)?);
                }
                Some(first) if first != k => {
                    return Err(Error::MixedKinds {
                        path: labels[i].clone(),
                        expected: first,
                        found: k,
                    })
                }
                Some(_) => {}
            },
            Message::Frame(events, buf) => {
                let w = writer.as_mut().expect("a header precedes every frame");
                w.write_frame(events, &buf)?;
                let _ = recycle.send(buf);
            }
            Message::End => open -= 1,
            Message::Failed(i, e) => {
                // Deliver every frame already merged before reporting the broken input.
                if let Some(w) = writer.as_mut() {
                    let _ = crate::link::FrameWriter::flush(w);
                }
                return Err(Error::Other(format!("input {}: {e}", labels[i])));
            }
        }
    }
    match writer.as_mut() {
        Some(w) => w.close(),
        None => Ok(()),
    }
}
