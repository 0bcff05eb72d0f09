//! The remote agent, `copipe agent`: what the launcher runs on another host, over ssh.
//!
//! ssh carries bytes, an exit status, nothing else a launcher needs: it forwards no signals
//! without a terminal (and a terminal would corrupt the binary streams), and a process it
//! started survives the connection if it ignores its pipes. So the launcher talks to an
//! agent, one per host, over the session's stdin and stdout ([`wire`](super::wire)):
//!
//! * it answers `--describe` for the programs the spec places on its host;
//! * it starts the stages it is given, joins same-host neighbours with pipes of its own, and
//!   carries the other links and each stage's stderr as channels of the connection;
//! * it reports each stage's end (status or signal, CPU, memory, link counters) and passes
//!   the launcher's signals on (the drain, SIGTERM, SIGKILL);
//! * when the connection ends, cleanly or not, it kills whatever it started and removes its
//!   temporary directory: the launcher's death or a dropped connection leaves nothing behind.
//!   Its stages also get a parent-death signal, should the agent itself be killed.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod start;

use crate::launch::find::Finder;
use crate::remote::mux::{self, Conn};
use crate::remote::wire::{Control, Described, VERSION};

/// How long a program may take to answer `--describe` (as the launcher allows locally).
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the agent waits for killed stages to be reaped before it leaves.
const REAP_WAIT: Duration = Duration::from_secs(3);

/// A stage the agent started.
pub(super) struct Running {
    pid: libc::pid_t,
    /// False once reaped: its process id may belong to someone else now.
    alive: bool,
}

pub(super) struct Agent {
    conn: Arc<Conn>,
    dir: tempfile::TempDir,
    finder: Finder,
    stages: Mutex<HashMap<usize, Running>>,
    stats: Mutex<bool>,
}

/// `copipe agent`: serves one launcher on stdin/stdout until the connection ends.
pub fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!(
                "copipe agent: error: {}",
                crate::error::one_line(&e.to_string())
            );
            ExitCode::from(1)
        }
    }
}

fn run() -> io::Result<()> {
    let (input, output) = take_connection()?;
    let dir = tempfile::Builder::new()
        .prefix("copipe-agent-")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o700))
        .tempdir()?;
    let agent = Arc::new(Agent {
        conn: Conn::new(Box::new(output)),
        dir,
        finder: Finder::from_env(),
        stages: Mutex::new(HashMap::new()),
        stats: Mutex::new(false),
    });
    // SIGTERM, SIGHUP or SIGINT to the agent: the same as losing the connection.
    let on_signal = Arc::clone(&agent);
    let _ = ctrlc::set_handler(move || on_signal.leave(1));
    let host = hostname();
    agent.conn.send(&Control::Hello {
        version: VERSION,
        host,
    })?;
    let ended = mux::serve(&agent.conn, input, |msg| agent.handle(msg));
    agent.leave(i32::from(ended.is_err()));
    Ok(())
}

/// The connection's two ends, moved off descriptors 0 and 1 (close-on-exec, so no stage
/// inherits them and keeps the session open), with `/dev/null` left in their place so
/// nothing printed by mistake can corrupt the stream.
fn take_connection() -> io::Result<(File, File)> {
    let moved = |fd: RawFd| -> io::Result<File> {
        // SAFETY: fcntl on a descriptor this process holds; the copy is ours alone.
        let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
        if new < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `new` is a fresh descriptor owned by nobody else.
        Ok(File::from(unsafe { OwnedFd::from_raw_fd(new) }))
    };
    let input = moved(0)?;
    let output = moved(1)?;
    let null = File::options().read(true).write(true).open("/dev/null")?;
    for fd in [0, 1] {
        // SAFETY: dup2 onto a standard descriptor of this process.
        if unsafe { libc::dup2(std::os::fd::AsRawFd::as_raw_fd(&null), fd) } < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok((input, output))
}

fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname writes at most buf.len() bytes into buf.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    if rc == 0 {
        String::from_utf8_lossy(&buf[..end]).into_owned()
    } else {
        String::new()
    }
}

impl Agent {
    fn handle(self: &Arc<Self>, msg: Control) {
        match msg {
            Control::Describe { programs } => {
                let agent = Arc::clone(self);
                std::thread::spawn(move || {
                    let answers = agent.describe(&programs);
                    let _ = agent.conn.send(&Control::Described { answers });
                });
            }
            Control::Start { stages, stats } => {
                *self
                    .stats
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = stats;
                let reply = match self.start(&stages, stats) {
                    Ok(pids) => Control::Started { pids, error: None },
                    Err(e) => {
                        self.kill_all();
                        Control::Started {
                            pids: Vec::new(),
                            error: Some(e),
                        }
                    }
                };
                let _ = self.conn.send(&reply);
            }
            Control::Signal { stage, signal } => self.signal(stage, signal),
            // Messages only an agent sends, or handled by the connection: ignore.
            _ => {}
        }
    }

    /// The connection is over (or the agent was told to stop): kill what is still running,
    /// wait for it to be reaped, remove the temporary directory, and exit.
    fn leave(&self, code: i32) {
        self.conn.fail();
        self.kill_all();
        let deadline = Instant::now() + REAP_WAIT;
        while Instant::now() < deadline && self.any_alive() {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = std::fs::remove_dir_all(self.dir.path());
        std::process::exit(code);
    }

    fn any_alive(&self) -> bool {
        self.lock_stages().values().any(|r| r.alive)
    }

    fn lock_stages(&self) -> std::sync::MutexGuard<'_, HashMap<usize, Running>> {
        self.stages
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn kill_all(&self) {
        for running in self.lock_stages().values().filter(|r| r.alive) {
            // SAFETY: kill(2) on a child not yet reaped (reaping happens under this lock).
            unsafe { libc::kill(running.pid, libc::SIGKILL) };
        }
    }

    fn signal(&self, stage: usize, signal: i32) {
        if let Some(running) = self.lock_stages().get(&stage).filter(|r| r.alive) {
            // SAFETY: as in kill_all.
            unsafe { libc::kill(running.pid, signal) };
        }
    }

    /// Each program's `--describe`, asked all at once.
    fn describe(&self, programs: &[String]) -> Vec<Described> {
        let deadline = Instant::now() + DESCRIBE_TIMEOUT;
        let asked: Vec<_> = programs
            .iter()
            .map(|name| match self.finder.find(name) {
                Some(path) => Ok(std::thread::spawn(move || {
                    describe_one(path.as_path(), deadline)
                })),
                None => Err(self.places()),
            })
            .collect();
        asked
            .into_iter()
            .map(|a| match a {
                Ok(thread) => thread.join().unwrap_or(Described::Silent),
                Err(places) => Described::Missing { places },
            })
            .collect()
    }

    fn places(&self) -> String {
        match &self.finder.beside {
            Some(dir) => format!("beside copipe in {} or on PATH", dir.display()),
            None => "on PATH".into(),
        }
    }

    fn stats_file(&self, position: usize) -> PathBuf {
        self.dir.path().join(format!("stage-{position}.json"))
    }
}

/// `program --describe`, killed at `deadline`.
fn describe_one(program: &Path, deadline: Instant) -> Described {
    let spawned = Command::new(program)
        .arg("--describe")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = spawned else {
        return Described::Silent;
    };
    let mut out = String::new();
    let stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        if let Some(s) = stdout {
            let _ = s.take(4096).read_to_string(&mut out);
        }
        out
    });
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                let out = reader.join().unwrap_or_default();
                return if status.success() && !out.trim().is_empty() {
                    Described::Answer(out.trim().to_owned())
                } else {
                    Described::Silent
                };
            }
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Described::Silent;
            }
        }
    }
}
