//! The launcher's control channel: a Unix socket in the graph's private directory, serving
//! [`Request`]s as JSON lines, and the client side that `copipe top` uses.
//!
//! The server's threads only read: `/proc` and the stages' stats files. It never touches the
//! stages' pipes, so a slow or stopped client costs the graph nothing.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use super::rundir::{self, GraphDir};
use super::{proc, GraphInfo, LinkSample, Request, Sample, StageSample};
use crate::error::{Error, Result};
use crate::protocol::{Direction, LinkStats};

/// What the server's threads share.
struct State {
    info: GraphInfo,
    dir: PathBuf,
    started: Instant,
    /// Set once every stage has exited.
    done: Mutex<bool>,
    wake: Condvar,
    /// CPU time last seen per stage, kept once its process is gone.
    last_cpu: Mutex<HashMap<usize, u64>>,
}

/// A running control channel; [`finish`](Self::finish) ends it.
pub struct ControlServer {
    state: Arc<State>,
    watchers: Arc<Mutex<Vec<std::thread::JoinHandle<()>>>>,
}

impl ControlServer {
    /// Listens on the graph directory's control socket and serves requests in the background.
    pub fn start(dir: &GraphDir, info: GraphInfo, started: Instant) -> Result<ControlServer> {
        let path = dir.control_socket();
        let listener = UnixListener::bind(&path)
            .map_err(|e| Error::io(format!("listening on {}", path.display()), e))?;
        let state = Arc::new(State {
            info,
            dir: dir.path().to_path_buf(),
            started,
            done: Mutex::new(false),
            wake: Condvar::new(),
            last_cpu: Mutex::new(HashMap::new()),
        });
        let watchers = Arc::new(Mutex::new(Vec::new()));
        let (s, w) = (Arc::clone(&state), Arc::clone(&watchers));
        std::thread::Builder::new()
            .name("copipe-control".into())
            .spawn(move || accept_loop(&listener, &s, &w))
            .map_err(|e| Error::io("starting the control channel", e))?;
        Ok(ControlServer { state, watchers })
    }

    /// The graph has ended (every stage exited, its stats final): watchers get a last sample,
    /// marked done, and are given a moment to take it.
    pub fn finish(self) {
        if let Ok(mut done) = self.state.done.lock() {
            *done = true;
        }
        self.state.wake.notify_all();
        let handles = self
            .watchers
            .lock()
            .map(|mut w| std::mem::take(&mut *w))
            .unwrap_or_default();
        let deadline = Instant::now() + Duration::from_secs(2);
        for h in handles {
            while !h.is_finished() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
}

fn accept_loop(
    listener: &UnixListener,
    state: &Arc<State>,
    watchers: &Arc<Mutex<Vec<std::thread::JoinHandle<()>>>>,
) {
    for stream in listener.incoming().flatten() {
        let s = Arc::clone(state);
        if let Ok(h) = std::thread::Builder::new()
            .name("copipe-control-client".into())
            .spawn(move || serve(stream, &s))
        {
            if let Ok(mut w) = watchers.lock() {
                w.retain(|h| !h.is_finished());
                w.push(h);
            }
        }
    }
}

fn serve(stream: UnixStream, state: &State) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut out = stream;
    for line in BufReader::new(read_half).lines() {
        let Ok(line) = line else { return };
        let sent = match serde_json::from_str::<Request>(&line) {
            Ok(Request::Info) => send(&mut out, &state.info),
            Ok(Request::Sample) => send(&mut out, &take_sample(state, false)),
            Ok(Request::Watch { interval_ms }) => {
                watch(
                    &mut out,
                    state,
                    Duration::from_millis(interval_ms.clamp(10, 60_000)),
                );
                return;
            }
            Err(e) => send(&mut out, &serde_json::json!({ "error": e.to_string() })),
        };
        if !sent {
            return;
        }
    }
}

fn watch(out: &mut UnixStream, state: &State, interval: Duration) {
    loop {
        let done = {
            let Ok(done) = state.done.lock() else { return };
            let (done, _) = state
                .wake
                .wait_timeout_while(done, interval, |d| !*d)
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *done
        };
        if !send(out, &take_sample(state, done)) || done {
            return;
        }
    }
}

fn send(out: &mut UnixStream, value: &impl serde::Serialize) -> bool {
    let Ok(mut line) = serde_json::to_vec(value) else {
        return false;
    };
    line.push(b'\n');
    out.write_all(&line).is_ok()
}

/// One look at the graph: each stage's process and each link's counters.
fn take_sample(state: &State, done: bool) -> Sample {
    let mut last_cpu = state
        .last_cpu
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let stages = state
        .info
        .stages
        .iter()
        .map(|s| {
            let seen = s
                .pid
                .and_then(proc::stat)
                .filter(|(st, _, _)| st != "exited");
            let (state_name, cpu, rss) = match seen {
                Some((st, cpu, rss)) => {
                    last_cpu.insert(s.position, cpu);
                    (st, cpu, rss)
                }
                None => (
                    "exited".to_owned(),
                    last_cpu.get(&s.position).copied().unwrap_or(0),
                    0,
                ),
            };
            StageSample {
                position: s.position,
                state: state_name,
                cpu_ns: cpu,
                rss_bytes: rss,
            }
        })
        .collect();
    let files: HashMap<usize, Vec<LinkStats>> = state
        .info
        .stages
        .iter()
        .map(|s| {
            (
                s.position,
                read_stats(&rundir::stage_dir(&state.dir, s.position)),
            )
        })
        .collect();
    let links = state
        .info
        .links
        .iter()
        .map(|l| link_sample(l, &files))
        .collect();
    Sample {
        elapsed_ms: u64::try_from(state.started.elapsed().as_millis()).unwrap_or(u64::MAX),
        stages,
        links,
        done,
    }
}

fn link_sample(l: &super::LinkEntry, files: &HashMap<usize, Vec<LinkStats>>) -> LinkSample {
    let find = |stage: usize, direction: Direction, label: &str| {
        files.get(&stage).and_then(|f| {
            f.iter()
                .find(|s| s.direction == direction && s.label == label)
        })
    };
    let writer = find(l.from, Direction::Output, &l.writer_label);
    let reader = find(l.to, Direction::Input, &l.reader_label);
    // Counted by the writer, or by the reader when the writer keeps no counters (a source
    // writing text, say), as `--stats` counts.
    let counted = writer.or(reader);
    LinkSample {
        name: l.name.clone(),
        events: counted.map_or(0, |c| c.events),
        bytes: counted.map_or(0, |c| c.bytes),
        writer_blocked_ns: writer.map_or(0, |c| c.blocked_ns),
        reader_waiting_ns: reader.map_or(0, |c| c.blocked_ns),
    }
}

fn read_stats(stage_dir: &Path) -> Vec<LinkStats> {
    LinkStats::read_file(&rundir::stats_file(stage_dir)).unwrap_or_default()
}

/// A connection to a running graph's control channel.
pub struct Client {
    lines: std::io::Lines<BufReader<UnixStream>>,
    out: UnixStream,
}

impl Client {
    /// Connects to the graph in `dir`.
    pub fn connect(dir: &Path) -> Result<Client> {
        let path = dir.join("control.sock");
        let out = UnixStream::connect(&path)
            .map_err(|e| Error::io(format!("connecting to {}", path.display()), e))?;
        let read_half = out
            .try_clone()
            .map_err(|e| Error::io("cloning the control socket", e))?;
        Ok(Client {
            lines: BufReader::new(read_half).lines(),
            out,
        })
    }

    /// Sends a request.
    pub fn send(&mut self, request: &Request) -> Result<()> {
        let mut line = serde_json::to_vec(request).map_err(|e| Error::Encode(e.to_string()))?;
        line.push(b'\n');
        self.out
            .write_all(&line)
            .map_err(|e| Error::io("writing to the control channel", e))
    }

    /// The next answer, or `None` once the launcher closed the channel (the graph ended).
    pub fn receive<T: serde::de::DeserializeOwned>(&mut self) -> Result<Option<T>> {
        match self.lines.next() {
            None => Ok(None),
            Some(Err(e)) => Err(Error::io("reading the control channel", e)),
            Some(Ok(line)) => serde_json::from_str(&line)
                .map(Some)
                .map_err(|e| Error::Encode(format!("unexpected answer from the launcher: {e}"))),
        }
    }
}
