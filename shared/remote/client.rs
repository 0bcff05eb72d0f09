//! The launcher's side of a remote host: one ssh connection to one agent.
//!
//! [`Host::connect`] runs `RSH HOST 'copipe' agent` (the agent's command line quoted for the
//! remote shell), waits for the agent's hello, and from then on the connection carries the
//! `--describe` queries, the start of the host's stages, their links, stderr, exits and the
//! launcher's signals. The ssh client runs in a process group of its own (the terminal's
//! Ctrl-C is the launcher's to handle, not ssh's) with a parent-death signal: if the
//! launcher dies, so does the connection, and the agent then kills everything it started.

use std::collections::VecDeque;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use super::mux::{self, Conn};
use super::quote::shell_line;
use super::wire::{Control, Described, RemoteStage, VERSION};
use crate::error::{Error, Result};
use crate::launch::child;

/// How long ssh may take to connect, authenticate and start the agent.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the agent may take to answer `--describe` for all its programs.
const DESCRIBE_TIMEOUT: Duration = Duration::from_secs(15);
/// Lines of ssh's stderr kept to explain a failed connection.
const KEPT_LINES: usize = 4;

/// The options the launcher gives `ssh` when `--rsh` and `COPIPE_RSH` do not say otherwise,
/// chosen by measurement (`just bench-remote`, README "Stages on other hosts"): no
/// compression (on a LAN it costs more CPU than the bytes it saves, and halves the
/// throughput on loopback), and AES-GCM first among the ciphers (`^`: the rest of ssh's
/// defaults stay behind it, so a server without it still connects): with the AES
/// instructions of every current x86 CPU it costs less CPU than ssh's first choice,
/// chacha20-poly1305.
pub const SSH_OPTIONS: [&str; 4] = [
    "-o",
    "Compression=no",
    "-o",
    "Ciphers=^aes128-gcm@openssh.com,aes256-gcm@openssh.com",
];

/// How to reach other hosts: `--rsh` and `--remote-dir`.
#[derive(Clone, Debug)]
pub struct Transport {
    /// The remote shell command and its options (`ssh`, `ssh -F cfg -c aes128-gcm@openssh.com`).
    pub rsh: Vec<String>,
    /// The directory holding `copipe` (and the stages) on the remote hosts; `None`: `PATH`.
    pub remote_dir: Option<String>,
}

impl Transport {
    /// From `--rsh` (else `$COPIPE_RSH`, else `ssh` with [`SSH_OPTIONS`]), split at
    /// spaces, and `--remote-dir`.
    pub fn new(rsh: Option<&str>, remote_dir: Option<String>) -> Result<Self> {
        let env = std::env::var("COPIPE_RSH").ok();
        Transport::chosen(rsh.or(env.as_deref()), remote_dir)
    }

    /// From the remote shell command given (`--rsh` or `COPIPE_RSH`), taken word for word,
    /// or else `ssh` with [`SSH_OPTIONS`].
    fn chosen(given: Option<&str>, remote_dir: Option<String>) -> Result<Self> {
        let rsh: Vec<String> = match given {
            Some(line) => line.split_whitespace().map(str::to_owned).collect(),
            None => std::iter::once("ssh")
                .chain(SSH_OPTIONS)
                .map(str::to_owned)
                .collect(),
        };
        if rsh.is_empty() {
            return Err(Error::Usage(
                "--rsh (or COPIPE_RSH) is empty: give a command such as `ssh -p 2222`".into(),
            ));
        }
        Ok(Transport { rsh, remote_dir })
    }

    /// The agent's command line for the remote shell.
    pub fn agent_command(&self) -> String {
        let copipe = match &self.remote_dir {
            Some(dir) => format!("{}/copipe", dir.trim_end_matches('/')),
            None => "copipe".to_owned(),
        };
        shell_line(&[copipe.as_str(), "agent"])
    }
}

/// What a host's connection reports.
#[derive(Debug)]
pub enum HostEvent {
    Control(Control),
    /// The connection ended: why, for the user.
    Lost(String),
}

/// A connected agent.
pub struct Host {
    pub name: String,
    /// The host name the agent reported.
    pub reported: String,
    pub conn: Arc<Conn>,
    pub events: Receiver<HostEvent>,
    ssh: Child,
    ssh_said: Arc<Mutex<VecDeque<String>>>,
    quiet: Arc<Mutex<bool>>,
}

impl Host {
    /// Connects to `name` and waits for its agent's hello.
    pub fn connect(transport: &Transport, name: &str) -> Result<Host> {
        let mut host = Host::spawn(transport, name)?;
        host.hello(transport)?;
        Ok(host)
    }

    /// Starts ssh to `name`, without waiting. Must run on the launcher's main thread: the
    /// parent-death signal follows the thread that spawned the child.
    pub fn spawn(transport: &Transport, name: &str) -> Result<Host> {
        if name.starts_with('-') || name.is_empty() {
            return Err(Error::Usage(format!("{name:?} is not a host name")));
        }
        let mut cmd = Command::new(&transport.rsh[0]);
        cmd.args(&transport.rsh[1..])
            .arg(name)
            .arg(transport.agent_command())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        child::prepare(&mut cmd, &[], None)
            .map_err(|e| Error::Other(format!("cannot reach host {name}: preparing ssh: {e}")))?;
        let mut ssh = cmd.spawn().map_err(|e| {
            Error::Other(format!(
                "cannot reach host {name}: starting {}: {e}",
                transport.rsh[0]
            ))
        })?;
        let conn = Conn::new(Box::new(ssh.stdin.take().expect("piped")));
        let stdout = ssh.stdout.take().expect("piped");
        let (tx, events) = mpsc::channel();
        let reader_conn = Arc::clone(&conn);
        let host = name.to_owned();
        std::thread::Builder::new()
            .name(format!("{host}-conn"))
            .spawn(move || {
                let ended = mux::serve(&reader_conn, stdout, |msg| {
                    let _ = tx.send(HostEvent::Control(msg));
                });
                let why = match ended {
                    Ok(()) => format!("the connection to {host} closed"),
                    Err(e) => format!("the connection to {host} failed: {e}"),
                };
                let _ = tx.send(HostEvent::Lost(why));
            })
            .expect("starting a thread");
        let ssh_said = Arc::new(Mutex::new(VecDeque::new()));
        let quiet = Arc::new(Mutex::new(true));
        relay_ssh_stderr(name, ssh.stderr.take().expect("piped"), &ssh_said, &quiet);
        Ok(Host {
            name: name.to_owned(),
            reported: String::new(),
            conn,
            events,
            ssh,
            ssh_said,
            quiet,
        })
    }

    /// Waits for the agent's hello; a failure says why in one line, naming the host.
    pub fn hello(&mut self, transport: &Transport) -> Result<()> {
        match self.events.recv_timeout(CONNECT_TIMEOUT) {
            Ok(HostEvent::Control(Control::Hello { version, host })) if version == VERSION => {
                self.reported = host;
                *self.quiet.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = false;
                Ok(())
            }
            Ok(HostEvent::Control(Control::Hello { version, .. })) => Err(Error::Other(format!(
                "host {}: its copipe speaks agent protocol {version}, this one {VERSION}: install the same copipe version there",
                self.name
            ))),
            Ok(_) | Err(RecvTimeoutError::Disconnected) => Err(self.failed_to_start(transport)),
            Err(RecvTimeoutError::Timeout) => Err(Error::Other(format!(
                "cannot reach host {}: no answer from `{} {} {}` within {} s",
                self.name,
                transport.rsh.join(" "),
                self.name,
                transport.agent_command(),
                CONNECT_TIMEOUT.as_secs()
            ))),
        }
    }

    /// Why the agent did not start, from ssh's exit status and last words.
    fn failed_to_start(&mut self, transport: &Transport) -> Error {
        let status = wait_deadline(&mut self.ssh, Duration::from_secs(2));
        // Let the stderr relay catch up with the exit.
        std::thread::sleep(Duration::from_millis(20));
        let said = self.last_words();
        let said = if said.is_empty() {
            "no message".into()
        } else {
            said
        };
        let name = &self.name;
        match status {
            Some(127) => Error::Other(format!(
                "host {name}: cannot start the agent `{}`: {said} (install copipe on the remote PATH, or give --remote-dir)",
                transport.agent_command()
            )),
            Some(255) | None => Error::Other(format!("cannot reach host {name}: {said}")),
            Some(code) => Error::Other(format!(
                "host {name}: the agent `{}` exited with status {code}: {said}",
                transport.agent_command()
            )),
        }
    }

    /// ssh's last lines on stderr, joined.
    pub fn last_words(&self) -> String {
        let said = self
            .ssh_said
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        said.iter()
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Asks the agent `--describe` for each program; an answer per program, in order.
    pub fn describe(&self, programs: &[String]) -> Result<Vec<Described>> {
        let lost = |why: String| {
            Error::Other(format!("host {}: {why} while asking --describe", self.name))
        };
        self.conn
            .send(&Control::Describe {
                programs: programs.to_vec(),
            })
            .map_err(|e| lost(e.to_string()))?;
        let deadline = Instant::now() + DESCRIBE_TIMEOUT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.events.recv_timeout(left) {
                Ok(HostEvent::Control(Control::Described { answers }))
                    if answers.len() == programs.len() =>
                {
                    return Ok(answers)
                }
                Ok(HostEvent::Control(_)) => {}
                Ok(HostEvent::Lost(why)) => return Err(lost(why)),
                Err(_) => return Err(lost("no answer".into())),
            }
        }
    }

    /// Starts `stages` on this host. `incoming` are the channels this side receives (a
    /// remote stage's output or stderr) and where each goes; `outgoing` the channels it sends
    /// (a remote stage's input) and where each comes from. The agent answers
    /// [`Control::Started`] on [`Host::events`]; the pump threads are returned so the caller
    /// can wait for everything in flight to land.
    pub fn start(
        &self,
        stages: Vec<RemoteStage>,
        stats: bool,
        incoming: Vec<(u32, Box<dyn Write + Send>)>,
        outgoing: Vec<(u32, Box<dyn Read + Send>)>,
    ) -> Result<Vec<JoinHandle<()>>> {
        let mut pumps: Vec<JoinHandle<()>> = incoming
            .into_iter()
            .map(|(channel, to)| mux::pump_in(&self.conn, channel, to))
            .collect();
        self.conn
            .send(&Control::Start { stages, stats })
            .map_err(|e| Error::Other(format!("host {}: starting stages: {e}", self.name)))?;
        pumps.extend(
            outgoing
                .into_iter()
                .map(|(channel, from)| mux::pump_out(Arc::clone(&self.conn), channel, from)),
        );
        Ok(pumps)
    }

    /// Asks the agent to send `signal` to the stage at graph position `stage`. A lost
    /// connection needs no signal: the agent kills everything when it goes.
    pub fn signal(&self, stage: usize, signal: i32) {
        let _ = self.conn.send(&Control::Signal { stage, signal });
    }

    /// Ends the connection: the agent sees end of file and leaves (killing whatever still
    /// runs). Waits a moment for ssh to exit, then kills it.
    pub fn close(mut self) {
        self.conn.close_output();
        if wait_deadline(&mut self.ssh, Duration::from_secs(5)).is_none() {
            let _ = self.ssh.kill();
            let _ = self.ssh.wait();
        }
    }

    /// Takes the connection's events, for a thread of the caller's to forward.
    pub fn take_events(&mut self) -> Receiver<HostEvent> {
        std::mem::replace(&mut self.events, mpsc::channel().1)
    }

    /// The ssh client's process id.
    pub fn ssh_pid(&self) -> u32 {
        self.ssh.id()
    }
}

/// Waits up to `limit` for `child`; its exit code (`None` if still running or killed).
fn wait_deadline(child: &mut Child, limit: Duration) -> Option<i32> {
    let deadline = Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return status.code(),
            // Reaped elsewhere (the launcher's exit watcher): gone all the same.
            Err(_) => return Some(-1),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(5)),
            Ok(None) => return None,
        }
    }
}

/// Keeps ssh's last lines (to explain a failed connection) and, once connected, passes them
/// on as `[host] line`.
fn relay_ssh_stderr(
    name: &str,
    stderr: ChildStderr,
    said: &Arc<Mutex<VecDeque<String>>>,
    quiet: &Arc<Mutex<bool>>,
) {
    let (said, quiet, prefix) = (Arc::clone(said), Arc::clone(quiet), format!("[{name}] "));
    let relay = move || {
        let mut reader = BufReader::new(stderr);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.by_ref().take(8 << 10).read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
            let text = String::from_utf8_lossy(&line).trim_end().to_owned();
            if !*quiet
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
            {
                let _ = writeln!(io::stderr().lock(), "{prefix}{text}");
            }
            let mut kept = said
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            if kept.len() == KEPT_LINES {
                kept.pop_front();
            }
            kept.push_back(text);
        }
    };
    std::thread::Builder::new()
        .name("ssh-stderr".into())
        .spawn(relay)
        .expect("starting a thread");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_given_remote_shell_is_run_as_given_and_ssh_gets_the_measured_options() {
        let given = Transport::chosen(Some("ssh  -p 2222 -J jump"), None).unwrap();
        assert_eq!(given.rsh, ["ssh", "-p", "2222", "-J", "jump"]);
        let default = Transport::chosen(None, None).unwrap();
        assert_eq!(default.rsh[0], "ssh");
        let options = default.rsh[1..].join(" ");
        assert!(options.contains("-o Compression=no"), "{options}");
        assert!(
            options.contains("-o Ciphers=^aes128-gcm@openssh.com"),
            "{options}"
        );
        assert!(Transport::chosen(Some("  "), None).is_err());
    }
}
