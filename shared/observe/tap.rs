//! `copipe tap GRAPH LINK`: a live copy of the events on one link, shown as `co-dump` shows
//! them, while the graph runs.
//!
//! The tap listens on a socket in the writing stage's directory; the stage's live thread
//! connects to it and sends copies of whole frames ([`crate::link::tap`] has the rules that
//! keep the graph unaffected). Events the tap was too slow for are missed, never waited for,
//! and the tap says how many at the end.

use std::io::{self, Read};
use std::os::unix::net::UnixListener;
use std::path::PathBuf;

use super::rundir::{self, Found};
use crate::error::{Error, Result};
use crate::link::tap::{TAG_MISSED, TAG_STREAM};

/// Removes the tap's socket file however the tap ends.
struct SocketFile(PathBuf);

impl Drop for SocketFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// Reads the tap's messages as the plain stream bytes they carry, counting missed events.
pub struct TapReader<R: Read> {
    input: R,
    /// Bytes left in the current stream message.
    left: usize,
    /// Events the stage reported dropped.
    pub missed: u64,
}

impl<R: Read> TapReader<R> {
    pub fn new(input: R) -> Self {
        TapReader {
            input,
            left: 0,
            missed: 0,
        }
    }
}

impl<R: Read> Read for TapReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.left == 0 {
            let mut head = [0; 5];
            match self.input.read_exact(&mut head) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            let len = u32::from_le_bytes([head[1], head[2], head[3], head[4]]) as usize;
            match head[0] {
                TAG_STREAM => self.left = len,
                TAG_MISSED if len == 8 => {
                    let mut n = [0; 8];
                    self.input.read_exact(&mut n)?;
                    self.missed += u64::from_le_bytes(n);
                }
                _ => {
                    return Err(io::Error::other(
                        "the stage sent a tap message copipe does not know",
                    ))
                }
            }
        }
        let want = buf.len().min(self.left);
        let n = self.input.read(&mut buf[..want])?;
        if n == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        self.left -= n;
        Ok(n)
    }
}

/// Where a tap on `link` of `graph` listens: the link named `A->B` (or `A-B`), or by the
/// number of its reader when that reader has one input.
pub fn tap_socket(graph: &Found, link: &str) -> Result<PathBuf> {
    let wanted = link.replace("->", "-");
    let found = graph
        .info
        .links
        .iter()
        .find(|l| format!("{}-{}", l.from, l.to) == wanted || l.name == link);
    let Some(l) = found else {
        let names: Vec<&str> = graph.info.links.iter().map(|l| l.name.as_str()).collect();
        return Err(Error::Usage(format!(
            "graph {} has no link {link:?} (its links: {})",
            graph.info.id,
            names.join(", ")
        )));
    };
    Ok(rundir::tap_socket(
        &rundir::stage_dir(&graph.dir, l.from),
        &l.writer_label,
    ))
}

/// Passes at most `left` events on, then stops the stream.
struct Limit<S> {
    target: S,
    left: Option<u64>,
    reached: bool,
}

impl<S> Limit<S> {
    fn take_one(&mut self) -> Result<()> {
        match &mut self.left {
            Some(0) => {
                self.reached = true;
                Err(Error::Other("the tap's limit was reached".into()))
            }
            Some(n) => {
                *n -= 1;
                Ok(())
            }
            None => Ok(()),
        }
    }
}

impl<T: ?Sized, S: crate::sink::Sink<T>> crate::sink::Sink<T> for Limit<S> {
    fn send(&mut self, item: &T) -> Result<()> {
        self.take_one()?;
        self.target.send(item)
    }
    fn flush(&mut self) -> Result<()> {
        self.target.flush()
    }
    fn close(&mut self) -> Result<()> {
        self.target.close()
    }
}

/// How long a tap waits for the stage to attach before it checks the graph is still there.
const ATTACH_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// `copipe tap`: shows the events on `link` of `graph` (the only running graph if `None`) as
/// `co-dump` does (or as JSON lines), until the link ends or `limit` events were shown.
/// Returns how many events the tap missed because it was slower than the link.
pub fn run(graph: Option<&str>, link: &str, limit: Option<u64>, json: bool) -> Result<u64> {
    let found = rundir::find(graph)?;
    let socket = tap_socket(&found, link)?;
    let stream = attach(&found, &socket)?;
    let mut reader = TapReader::new(stream);
    let out = io::BufWriter::new(io::stdout().lock());
    let mut sink = Limit {
        target: crate::stages::dump::Dump::new(out, json),
        left: limit,
        reached: false,
    };
    let outcome = (|| {
        let mut frames = crate::link::FrameReader::open(
            &mut reader,
            format!("the tap on {link}"),
            crate::link::DEFAULT_MAX_FRAME,
        )?;
        let never = crate::signals::Shutdown::never();
        crate::link::recv_any(&mut frames, "copipe tap", &mut sink, &never)
    })();
    match outcome {
        Err(_) if sink.reached => crate::sink::Sink::<str>::close(&mut sink.target)?,
        other => other?,
    }
    Ok(reader.missed)
}

/// Waits for the writing stage to connect to `socket`, as long as the graph runs.
fn attach(found: &Found, socket: &std::path::Path) -> Result<std::os::unix::net::UnixStream> {
    let _ = std::fs::remove_file(socket);
    let listener = UnixListener::bind(socket)
        .map_err(|e| Error::io(format!("listening on {}", socket.display()), e))?;
    let _guard = SocketFile(socket.to_path_buf());
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::io("setting up the tap", e))?;
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                stream
                    .set_nonblocking(false)
                    .map_err(|e| Error::io("setting up the tap", e))?;
                return Ok(stream);
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(Error::io("waiting for the stage to attach the tap", e)),
        }
        if !found.dir.join("info.json").exists() {
            return Err(Error::Other(format!(
                "graph {} ended before the tap was attached",
                found.info.id
            )));
        }
        std::thread::sleep(ATTACH_POLL);
    }
}
