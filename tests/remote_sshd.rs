//! A real OpenSSH server for the remote-stage tests: `sshd` on 127.0.0.1 on a free port, as
//! the test user, with a generated host key and authorized key in a temporary directory,
//! reached through two host aliases (`hostb`, `hostc`) in a temporary ssh config, so one
//! graph spans "three machines". Stopped (and its directory removed) on drop, even when the
//! test fails.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// OpenSSH's server, where Debian's `openssh-server` puts it.
const SSHD: &str = "/usr/sbin/sshd";
/// How long sshd may take to listen.
const START_DEADLINE: Duration = Duration::from_secs(20);

/// A running sshd and the ssh config that reaches it.
pub struct Sshd {
    pub dir: tempfile::TempDir,
    child: Child,
}

impl Sshd {
    /// Starts sshd; retries on another port if the chosen one was taken meanwhile.
    pub fn start() -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (.ci/run does)"
        );
        let dir = tempfile::Builder::new()
            .prefix("copipe-sshd-")
            .tempdir()
            .unwrap();
        fs::create_dir(dir.path().join("remote-tmp")).unwrap();
        keygen(&dir.path().join("host_key"));
        keygen(&dir.path().join("user_key"));
        fs::copy(
            dir.path().join("user_key.pub"),
            dir.path().join("authorized_keys"),
        )
        .unwrap();
        // sshd run as root wants its privilege separation directory.
        if is_root() {
            fs::create_dir_all("/run/sshd").unwrap();
        }
        let mut last_log = String::new();
        for _ in 0..5 {
            let port = free_port();
            write_configs(dir.path(), port);
            let log = dir.path().join("sshd.log");
            let mut child = Command::new(SSHD)
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(dir.path().join("sshd_config"))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(&log).unwrap())
                .spawn()
                .expect("starting sshd");
            if wait_listening(&mut child, &log) {
                return Sshd { dir, child };
            }
            last_log = fs::read_to_string(&log).unwrap_or_default();
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("sshd did not start: {last_log}");
    }

    /// The ssh config naming `hostb` and `hostc`.
    pub fn config(&self) -> PathBuf {
        self.dir.path().join("ssh_config")
    }

    /// The "remote" temporary directory: the agents' `TMPDIR` (set through ssh's `SetEnv`).
    pub fn remote_tmp(&self) -> PathBuf {
        self.dir.path().join("remote-tmp")
    }

    /// `--rsh` for the launcher.
    pub fn rsh(&self) -> String {
        format!("ssh -F {}", self.config().display())
    }

    /// sshd's own process id: every remote process descends from it.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Processes descending from sshd whose command line contains `needle` (the remote
    /// host's process table, as far as this sshd is concerned).
    pub fn remote_processes(&self, needle: &str) -> Vec<String> {
        descendants(self.pid())
            .into_iter()
            .filter_map(|pid| {
                let cmdline = fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                let text = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                text.contains(needle).then(|| format!("{pid}: {text}"))
            })
            .collect()
    }
}

/// Polls sshd's log for its "Server listening" line, or its exit.
fn wait_listening(child: &mut Child, log: &Path) -> bool {
    let deadline = Instant::now() + START_DEADLINE;
    while Instant::now() < deadline {
        if fs::read_to_string(log).is_ok_and(|l| l.contains("Server listening")) {
            return true;
        }
        if child.try_wait().ok().flatten().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

impl Drop for Sshd {
    fn drop(&mut self) {
        // SIGTERM lets sshd take its sessions down with it; then make sure.
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(self.child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && self.child.try_wait().ok().flatten().is_none() {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

fn keygen(path: &Path) {
    let status = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("running ssh-keygen");
    assert!(status.success(), "ssh-keygen failed");
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn user() -> String {
    let out = Command::new("id").arg("-un").output().expect("running id");
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn write_configs(dir: &Path, port: u16) {
    let d = dir.display();
    let sshd_config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_key\n\
         AuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd.pid\nStrictModes no\n\
         PasswordAuthentication no\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
         PermitRootLogin yes\nUsePAM no\nLogLevel INFO\nMaxSessions 50\nMaxStartups 50\n\
         AcceptEnv TMPDIR\n"
    );
    fs::write(dir.join("sshd_config"), sshd_config).unwrap();
    let ssh_config = format!(
        "Host hostb hostc\n  HostName 127.0.0.1\n  Port {port}\n  User {user}\n  \
         IdentityFile {d}/user_key\n  IdentitiesOnly yes\n  StrictHostKeyChecking no\n  \
         UserKnownHostsFile /dev/null\n  LogLevel ERROR\n  BatchMode yes\n  \
         ControlMaster no\n  ControlPath none\n  SetEnv TMPDIR={d}/remote-tmp\n\
         Host refusing\n  HostName 127.0.0.1\n  Port {closed}\n  BatchMode yes\n  \
         StrictHostKeyChecking no\n  UserKnownHostsFile /dev/null\n",
        user = user(),
        closed = free_port(),
    );
    fs::write(dir.join("ssh_config"), ssh_config).unwrap();
}

/// Every process descending from `root`, by walking /proc.
fn descendants(root: u32) -> Vec<u32> {
    let mut parents: Vec<(u32, u32)> = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // The parent is the second field after the parenthesised command name.
        let Some(after) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        if let Some(ppid) = after.split_whitespace().nth(1).and_then(|p| p.parse().ok()) {
            parents.push((pid, ppid));
        }
    }
    let mut found = vec![root];
    let mut i = 0;
    while i < found.len() {
        let p = found[i];
        found.extend(parents.iter().filter(|&&(_, pp)| pp == p).map(|&(c, _)| c));
        i += 1;
    }
    found.remove(0);
    found
}
