//! Many byte streams and a control channel over one connection (the ssh session's stdin and
//! stdout), with a window of credit per stream: the [`super::wire`] protocol's engine,
//! the same on both sides.
//!
//! Sending: [`pump_out`] copies a pipe into a channel, never more than the receiver has
//! granted. Receiving: [`serve`] reads the connection; data goes to the channel's queue
//! (bounded by the window it granted) and a writer thread ([`pump_in`]) empties the queue
//! into its pipe, granting credit back as it goes. The reader of the connection therefore
//! never blocks on a pipe, and control messages are never stuck behind data.

use std::collections::HashMap;
use std::io::{self, BufReader, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use super::wire::{self, Control, CHUNK, CONTROL, HEADER, WINDOW};

/// Payload buffers kept for reuse: enough for every channel's window in flight.
const POOL_MAX: usize = 256;

/// A sending channel's state.
#[derive(Default)]
struct Window {
    credit: u64,
    shut: bool,
}

/// One side of a connection.
pub struct Conn {
    out: Mutex<Box<dyn Write + Send>>,
    windows: Mutex<HashMap<u32, Window>>,
    credit_given: Condvar,
    inbound: Mutex<HashMap<u32, Sender<Vec<u8>>>>,
    pool: Mutex<Vec<Vec<u8>>>,
    broken: AtomicBool,
}

impl Conn {
    /// A connection writing to `out` (unbuffered: each message is one write).
    pub fn new(out: Box<dyn Write + Send>) -> Arc<Conn> {
        Arc::new(Conn {
            out: Mutex::new(out),
            windows: Mutex::new(HashMap::new()),
            credit_given: Condvar::new(),
            inbound: Mutex::new(HashMap::new()),
            pool: Mutex::new(Vec::new()),
            broken: AtomicBool::new(false),
        })
    }

    /// Sends a control message.
    pub fn send(&self, msg: &Control) -> io::Result<()> {
        self.send_raw(CONTROL, &mut wire::control_bytes(msg))
    }

    fn send_raw(&self, channel: u32, buf: &mut [u8]) -> io::Result<()> {
        if self.broken.load(Ordering::Relaxed) {
            return Err(io::ErrorKind::BrokenPipe.into());
        }
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let written = wire::write_message(&mut *out, channel, buf).and_then(|()| out.flush());
        if written.is_err() {
            drop(out);
            self.fail();
        }
        written
    }

    /// Marks the connection broken: every pump stops.
    pub fn fail(&self) {
        self.broken.store(true, Ordering::Relaxed);
        let _guard = self.windows.lock();
        self.credit_given.notify_all();
    }

    /// Closes the writing side (the peer sees end of file) and stops every pump.
    pub fn close_output(&self) {
        self.fail();
        let mut out = self
            .out
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *out = Box::new(io::sink());
    }

    /// True once a write failed or the reading side ended.
    pub fn is_broken(&self) -> bool {
        self.broken.load(Ordering::Relaxed)
    }

    fn lock_windows(&self) -> std::sync::MutexGuard<'_, HashMap<u32, Window>> {
        self.windows
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Waits until `channel` may send; the bytes it may send now, or `None` if the
    /// receiver shut it or the connection broke.
    fn wait_credit(&self, channel: u32) -> Option<usize> {
        let mut windows = self.lock_windows();
        loop {
            if self.is_broken() {
                return None;
            }
            let window = windows.entry(channel).or_insert_with(|| Window {
                credit: u64::from(WINDOW),
                shut: false,
            });
            if window.shut {
                return None;
            }
            if window.credit > 0 {
                return Some(usize::try_from(window.credit).map_or(CHUNK, |c| c.min(CHUNK)));
            }
            windows = self
                .credit_given
                .wait(windows)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }

    fn spend(&self, channel: u32, bytes: usize) {
        if let Some(w) = self.lock_windows().get_mut(&channel) {
            w.credit = w.credit.saturating_sub(bytes as u64);
        }
    }

    fn grant(&self, channel: u32, bytes: u32) {
        let mut windows = self.lock_windows();
        let w = windows.entry(channel).or_insert_with(|| Window {
            credit: u64::from(WINDOW),
            shut: false,
        });
        w.credit += u64::from(bytes);
        self.credit_given.notify_all();
    }

    fn shut(&self, channel: u32) {
        self.lock_windows().entry(channel).or_default().shut = true;
        self.credit_given.notify_all();
    }

    fn buffer(&self) -> Vec<u8> {
        let pooled = self.pool.lock().ok().and_then(|mut p| p.pop());
        pooled.unwrap_or_else(|| Vec::with_capacity(CHUNK))
    }

    fn recycle(&self, mut buf: Vec<u8>) {
        buf.clear();
        if let Ok(mut pool) = self.pool.lock() {
            if pool.len() < POOL_MAX {
                pool.push(buf);
            }
        }
    }
}

/// Copies `from` into `channel` until its end of file (then sends the channel's end), the
/// receiver shuts the channel, or the connection breaks. Dropping `from` on the way out is
/// what tells a writer upstream that its reader is gone.
pub fn pump_out(
    conn: Arc<Conn>,
    channel: u32,
    mut from: impl Read + Send + 'static,
) -> JoinHandle<()> {
    let pump = move || {
        let mut buf = vec![0u8; HEADER + CHUNK];
        while let Some(may) = conn.wait_credit(channel) {
            let n = match from.read(&mut buf[HEADER..HEADER + may]) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => 0,
            };
            conn.spend(channel, n);
            if conn.send_raw(channel, &mut buf[..HEADER + n]).is_err() || n == 0 {
                return;
            }
        }
    };
    std::thread::Builder::new()
        .name(format!("channel-{channel}-out"))
        .spawn(pump)
        .expect("starting a thread")
}

/// Registers `channel` as one this side receives, written to `to` by a thread of its own.
/// Must be called before the first data of the channel can arrive. The thread ends at the
/// channel's end of file, dropping `to` (its reader sees end of file), or when `to` fails
/// (its reader is gone: the sender is told to stop, [`Control::Shut`]).
pub fn pump_in(
    conn: &Arc<Conn>,
    channel: u32,
    mut to: impl Write + Send + 'static,
) -> JoinHandle<()> {
    let (tx, rx) = mpsc::channel::<Vec<u8>>();
    if let Ok(mut inbound) = conn.inbound.lock() {
        inbound.insert(channel, tx);
    }
    let conn = Arc::clone(conn);
    let pump = move || {
        let mut open = true;
        for buf in rx {
            if buf.is_empty() {
                break;
            }
            if open {
                if to.write_all(&buf).is_ok() {
                    let bytes = u32::try_from(buf.len()).expect("payloads are bounded");
                    let _ = conn.send(&Control::Credit { channel, bytes });
                } else {
                    open = false;
                    let _ = conn.send(&Control::Shut { channel });
                }
            }
            conn.recycle(buf);
        }
    };
    std::thread::Builder::new()
        .name(format!("channel-{channel}-in"))
        .spawn(pump)
        .expect("starting a thread")
}

/// Reads the connection until it ends: data to the receiving channels, credit and shut
/// messages to the sending ones, every other control message to `handle`. Returns how it
/// ended: `Ok` at a clean end of file. Either way every sending pump is stopped and every
/// receiving one sees end of file.
pub fn serve(
    conn: &Arc<Conn>,
    input: impl Read,
    mut handle: impl FnMut(Control),
) -> io::Result<()> {
    let mut input = BufReader::with_capacity(256 << 10, input);
    let ended = loop {
        let (channel, len) = match wire::read_header(&mut input) {
            Ok(Some(h)) => h,
            Ok(None) => break Ok(()),
            Err(e) => break Err(e),
        };
        let mut buf = conn.buffer();
        buf.resize(len, 0);
        if let Err(e) = input.read_exact(&mut buf) {
            break Err(e);
        }
        if channel != CONTROL {
            deliver(conn, channel, buf);
            continue;
        }
        match wire::parse_control(&buf) {
            Ok(Control::Credit { channel, bytes }) => conn.grant(channel, bytes),
            Ok(Control::Shut { channel }) => conn.shut(channel),
            Ok(msg) => handle(msg),
            Err(e) => break Err(e),
        }
        conn.recycle(buf);
    };
    conn.fail();
    if let Ok(mut inbound) = conn.inbound.lock() {
        inbound.clear();
    }
    ended
}

/// Queues data for a receiving channel; its end of file also unregisters it. Data for a
/// channel nobody receives (its stage is gone) is dropped.
fn deliver(conn: &Conn, channel: u32, buf: Vec<u8>) {
    let Ok(mut inbound) = conn.inbound.lock() else {
        return;
    };
    let end = buf.is_empty();
    if let Some(tx) = inbound.get(&channel) {
        let _ = tx.send(buf);
    }
    if end {
        inbound.remove(&channel);
    }
}
