//! `copipe run` with `nats:` links and `restart=on-failure`, against a real nats-server: the
//! launcher inserts the link ends, checks kinds across them, refuses a restart policy where a
//! restart could lose or double events, and restarts a killed stage with its links so that
//! the output is the direct pipe's, line for line.

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::common::{bin, finish, wait_by, wait_until, RUN_DEADLINE};
use crate::nats_server::{size, NatsServer, LONG};

/// `copipe run -e SPEC` against `url`, with `--stats=json`.
fn copipe(url: &str, spec: &str) -> Command {
    let mut c = Command::new(bin("copipe"));
    c.args(["run", "--stats=json", "--nats", url, "-e", spec])
        .env_remove("COPIPE_NATS")
        .env_remove("COPIPE_NATS_CREDS");
    c
}

/// Kills the launcher (and so, by their parent-death signal, its stages) when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The pid of the launcher's child running exactly `argv` (its program's file name, then
/// its arguments), found in /proc.
fn stage_pid(launcher: u32, argv: &[&str]) -> Option<i32> {
    for entry in std::fs::read_dir("/proc").ok()?.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
        // The parent pid is the second field after the parenthesised command name.
        let ppid = stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().nth(1))
            .and_then(|p| p.parse::<u32>().ok());
        if ppid != Some(launcher) {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let words: Vec<String> = cmdline
            .split(|&b| b == 0)
            .filter(|w| !w.is_empty())
            .map(|w| String::from_utf8_lossy(w).into_owned())
            .collect();
        let name = words.first().and_then(|w| Path::new(w).file_name());
        let same = name.is_some_and(|n| n.to_string_lossy() == argv[0])
            && words[1..]
                .iter()
                .map(String::as_str)
                .eq(argv[1..].iter().copied());
        if same {
            return Some(pid);
        }
    }
    None
}

fn kill9(pid: i32) {
    // SAFETY: kill(2) on a process id just read from /proc, a child of our launcher.
    unsafe { libc::kill(pid, libc::SIGKILL) };
}

/// The one stderr line of a usage error of the launcher.
fn refused(spec: &str) -> String {
    let out = Command::new(bin("copipe"))
        .args(["run", "-e", spec])
        .env("COPIPE_NATS", "nats://127.0.0.1:9")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{spec}: {err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(out.stdout.is_empty());
    err
}

#[test]
fn a_restart_policy_is_refused_where_a_restart_could_lose_or_double_events() {
    // No server runs at the URL: the refusal comes before anything starts.
    let err = refused("co-lines x | restart=on-failure co-grep a | nats:out | co-printer");
    assert!(
        err.contains("restart=on-failure is refused here")
            && err.contains("its input is not a nats: link"),
        "{err}"
    );
    let err = refused("co-lines x | nats:in | restart=on-failure:2 co-grep a | co-printer");
    assert!(err.contains("its output is not a nats: link"), "{err}");
    let err = refused("co-lines x | nats:in | restart=sometimes co-grep a | nats:o | co-printer");
    assert!(err.contains("invalid restart policy"), "{err}");
    let err = refused("co-lines x | nats:a.b | nats:c | co-printer");
    assert!(err.contains("must stand between two stages"), "{err}");
}

#[test]
fn kinds_are_checked_across_a_nats_link_before_anything_starts() {
    let err = refused("co-xml x | nats:k | co-grep a | co-printer");
    assert!(
        err.contains("writes XML events") && err.contains("reads line events"),
        "{err}"
    );
}

#[test]
fn the_bus_pipeline_through_a_nats_link_prints_what_the_pipe_prints() {
    let srv = NatsServer::start();
    let xml = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/allroutes.xml");
    let xml = xml.display();
    let direct = format!(
        "co-xml {xml} | co-buses | co-filter route=22 | co-filter 'direction=North Bound' | co-bus-locations"
    );
    let split = format!(
        "co-xml {xml} | co-buses | nats:buses | co-filter route=22 | co-filter 'direction=North Bound' | co-bus-locations"
    );
    let want = finish(crate::common::spawn(copipe(&srv.url(), &direct)));
    let got = finish(crate::common::spawn(copipe(&srv.url(), &split)));
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    assert!(!want.stdout.is_empty());
    assert_eq!(got.stdout, want.stdout);
}

/// The stage between two `nats:` links killed with -9, then its input's `co-nats-sub`
/// killed too, each in the middle of 2 million sequence-numbered lines: the policy restarts
/// them and the output is the direct pipe's, no line lost or doubled.
#[test]
fn a_stage_killed_mid_stream_is_restarted_and_nothing_is_lost_or_doubled() {
    let srv = NatsServer::start();
    let text: String = (0..2_000_000).map(|i| format!("{i}\n")).collect();
    let want: String = text
        .lines()
        .filter(|l| l.contains('7'))
        .map(|l| format!("{l}\n"))
        .collect();
    let out = srv.dir.path().join("out");
    let spec = "co-lines | nats:raw | restart=on-failure:3 co-grep 7 | nats:sevens | co-printer";
    let mut c = copipe(&srv.url(), spec);
    c.stdin(Stdio::piped())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(Stdio::piped());
    let mut launcher = Running(c.spawn().unwrap());
    let pid = launcher.0.id();
    let mut feed = launcher.0.stdin.take().unwrap();
    let thirds = [0, text.len() / 3, 2 * text.len() / 3, text.len()]
        .map(|at| text[..at].rfind('\n').map_or(0, |n| n + 1));
    let victims: [&[&str]; 2] = [
        &["co-grep", "7"],
        &["co-nats-sub", "raw", "--kind", "lines", "--replay"],
    ];
    for (k, victim) in victims.iter().enumerate() {
        feed.write_all(&text.as_bytes()[thirds[k]..thirds[k + 1]])
            .unwrap();
        feed.flush().unwrap();
        // Mid-stream for sure: this part's lines are out, and the input is still open.
        let part: usize = text[..thirds[k + 1]]
            .lines()
            .filter(|l| l.contains('7'))
            .map(|l| l.len() + 1)
            .sum();
        let reached = wait_until(LONG, || size(&out) >= part as u64);
        assert!(
            reached,
            "part {k} did not come out ({} of {part} bytes)",
            size(&out)
        );
        let target = stage_pid(pid, victim);
        assert!(target.is_some(), "no stage {victim:?} under the launcher");
        kill9(target.unwrap());
    }
    feed.write_all(&text.as_bytes()[thirds[2]..]).unwrap();
    drop(feed);
    let mut stderr = launcher.0.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let status = wait_by(&mut launcher.0, std::time::Instant::now() + RUN_DEADLINE);
    let err = crate::common::join_by(reader, "the launcher's stderr");
    assert!(status.success(), "{err}");
    assert_eq!(
        err.matches("restarting stage").count(),
        2,
        "each kill is reported once: {err}"
    );
    let stats: serde_json::Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
    let restarts: Vec<u64> = stats["stages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["restarts"].as_u64().unwrap())
        .collect();
    assert_eq!(restarts.iter().sum::<u64>(), 2, "{restarts:?}");
    let got = std::fs::read_to_string(&out).unwrap();
    assert_eq!(got.len(), want.len(), "lines lost or doubled");
    assert!(got == want, "the output differs from the direct pipe's");
}
