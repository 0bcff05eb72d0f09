//! Remote stages when things go wrong: a remote stage killed, the launcher killed, the ssh
//! client killed, and the Ctrl-C drain through the agent. Each test checks the "remote"
//! process table (sshd's descendants) and the agents' temporary directory afterwards.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{bin, Reaper};
use crate::remote_sshd::Sshd;

/// Long enough for a loaded 2-core machine; conditions are polled, never slept on.
const DEADLINE: Duration = Duration::from_secs(30);

fn wait_for(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = Instant::now() + DEADLINE;
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The launcher running `spec` in the background, stdout and stderr to files in `dir`.
fn launch(sshd: &Sshd, dir: &Path, spec: &str) -> Reaper {
    let child = Command::new(bin("copipe"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["run", "--rsh", &sshd.rsh(), "--remote-dir"])
        .arg(bin("copipe").parent().unwrap())
        .args(["-e", spec])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.join("out")).unwrap())
        .stderr(std::fs::File::create(dir.join("err")).unwrap())
        .spawn()
        .unwrap();
    Reaper(vec![child])
}

/// The process id of the first remote process whose command line holds `stage`: a
/// stage's program *and an argument of it*. The program's name alone is not enough: before
/// anything starts, the agent runs `/path/to/co-chaos --describe`, and a test that killed
/// that one (it happened under load) waited in vain for the stage's death while the real
/// stage hung on, unchecked.
fn remote_pid(sshd: &Sshd, stage: &str) -> libc::pid_t {
    assert!(
        stage.contains(' '),
        "{stage:?}: name the stage with an argument"
    );
    let mut found = None;
    wait_for(stage, || {
        found = sshd.remote_processes(stage).first().cloned();
        found.is_some()
    });
    found.unwrap().split(':').next().unwrap().parse().unwrap()
}

/// Waits for the launcher to exit; its status code (None: killed by a signal).
fn exit_code(child: &mut Child) -> Option<i32> {
    let mut status = None;
    wait_for("the launcher to exit", || {
        status = child.try_wait().unwrap();
        status.is_some()
    });
    status.unwrap().code()
}

/// Nothing of the run is left on the "remote" side: no stage, no agent, and nothing in
/// the agents' temporary directory.
fn assert_nothing_left(sshd: &Sshd) {
    for needle in [
        "copipe agent",
        "co-chaos",
        "co-follow",
        "co-lines",
        "co-grep",
    ] {
        wait_for(&format!("no remote {needle} left"), || {
            sshd.remote_processes(needle).is_empty()
        });
    }
    let tmp = sshd.remote_tmp();
    wait_for("an empty remote temporary directory", || {
        std::fs::read_dir(&tmp).unwrap().next().is_none()
    });
}

fn read(dir: &Path, name: &str) -> String {
    std::fs::read_to_string(dir.join(name)).unwrap()
}

#[test]
fn a_remote_stage_killed_is_reported_with_its_host_and_the_graph_stops() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = "h@hostb = co-chaos --hang\nco-lines examples/data/access-log | h | co-printer";
    let mut run = launch(&sshd, dir.path(), spec);
    let pid = remote_pid(&sshd, "co-chaos --hang");
    // SAFETY: kill(2) on a process this test's sshd started.
    unsafe { libc::kill(pid, libc::SIGKILL) };
    assert_eq!(
        exit_code(&mut run.0[0]),
        Some(137),
        "{}",
        read(dir.path(), "err")
    );
    let err = read(dir.path(), "err");
    assert!(
        err.contains("stage 2 \"co-chaos --hang\" on hostb died with signal 9 (SIGKILL)"),
        "{err}"
    );
    assert_nothing_left(&sshd);
}

#[test]
fn killing_the_launcher_leaves_no_remote_process() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    // A remote stage runs in the remote home directory: its paths are absolute.
    let log = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/data/access-log");
    let spec = format!(
        "src@hostb = co-follow --from-start '{}'\nh@hostc = co-chaos --hang\nsrc | h | co-printer",
        log.display()
    );
    let mut run = launch(&sshd, dir.path(), &spec);
    remote_pid(&sshd, "co-follow --from-start");
    remote_pid(&sshd, "co-chaos --hang");
    run.0[0].kill().unwrap();
    run.0[0].wait().unwrap();
    assert_nothing_left(&sshd);
}

#[test]
fn killing_the_ssh_client_stops_the_graph_and_leaves_no_remote_process() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = "h@hostb = co-chaos --hang\nco-lines examples/data/access-log | h | co-printer";
    let mut run = launch(&sshd, dir.path(), spec);
    remote_pid(&sshd, "co-chaos --hang");
    let launcher = run.0[0].id();
    let ssh = ssh_child(launcher).expect("the launcher's ssh client");
    // SAFETY: kill(2) on the launcher's ssh client, found just above.
    unsafe { libc::kill(ssh, libc::SIGKILL) };
    let code = exit_code(&mut run.0[0]);
    let err = read(dir.path(), "err");
    assert!(code.is_some_and(|c| c != 0), "{err}");
    assert!(err.contains("the connection to hostb"), "{err}");
    assert!(
        err.contains("stage 2 \"co-chaos --hang\" on hostb"),
        "{err}"
    );
    assert_nothing_left(&sshd);
}

/// The first Ctrl-C drains through the agent: the remote source stops and closes its
/// stream, and every line it read reaches the local sink.
#[test]
fn the_drain_reaches_a_remote_source_and_every_event_read_arrives() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let lines = 5000;
    let text: String = (0..lines).map(|i| format!("event {i}\n")).collect();
    let input = dir.path().join("events");
    std::fs::write(&input, &text).unwrap();
    let spec = format!(
        "src@hostb = co-follow --from-start '{}'\ng@hostc = co-grep event\nsrc | g | co-printer",
        input.display()
    );
    let mut run = launch(&sshd, dir.path(), &spec);
    wait_for("every event printed", || {
        read(dir.path(), "out").lines().count() == lines
    });
    // SAFETY: kill(2) on our own child, not yet reaped.
    unsafe { libc::kill(run.0[0].id() as libc::pid_t, libc::SIGINT) };
    assert_eq!(
        exit_code(&mut run.0[0]),
        Some(130),
        "{}",
        read(dir.path(), "err")
    );
    assert_eq!(read(dir.path(), "out"), text);
    assert_nothing_left(&sshd);
}

/// The launcher's child named `ssh`.
fn ssh_child(parent: u32) -> Option<libc::pid_t> {
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .find_map(|entry| {
            let pid: libc::pid_t = entry.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (comm, rest) = stat.split_once(") ")?;
            let ppid: u32 = rest.split_whitespace().nth(1)?.parse().ok()?;
            (ppid == parent && comm.ends_with("(ssh")).then_some(pid)
        })
}

/// The whole Ctrl-C ladder through the agents, with the transport given by `COPIPE_RSH`:
/// the first interrupt drains, the second's SIGTERM reaches a remote stage (it dies of it),
/// the third's SIGKILL one that ignores SIGTERM (hung, with its input already ended, so
/// only a signal ends it). A remote stage's stderr comes back tagged with its stage and
/// host, and `--stats` has the remote stages' ends.
#[test]
fn every_rung_of_the_ctrl_c_ladder_reaches_remote_stages() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let spec = "a@hostb = co-chaos --hang\nb@hostc = co-chaos --ignore-term --hang\n\
        co-lines examples/data/access-log | a | co-printer\n\
        co-lines examples/data/access-log | b | co-dump";
    let child = Command::new(bin("copipe"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("COPIPE_RSH", sshd.rsh())
        .args([
            "run",
            "--stats=json",
            "--grace",
            "600",
            "--drain-timeout",
            "600",
        ])
        .arg("--remote-dir")
        .arg(bin("copipe").parent().unwrap())
        .args(["-e", spec])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(dir.path().join("out")).unwrap())
        .stderr(std::fs::File::create(dir.path().join("err")).unwrap())
        .spawn()
        .unwrap();
    let mut run = Reaper(vec![child]);
    let launcher = run.0[0].id() as libc::pid_t;
    let said = |what: &str| {
        let what = what.to_owned();
        let dir = dir.path().to_owned();
        move || read(&dir, "err").contains(&what)
    };
    for stage in ["a@hostb", "b@hostc"] {
        let hung = format!("{stage}] co-chaos: hanging after 0 events, as asked (--hang)");
        wait_for(&hung, said(&hung));
    }
    let interrupt = |then: &str| {
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(launcher, libc::SIGINT) };
        wait_for(then, said(then));
    };
    interrupt("copipe: interrupted: draining");
    interrupt("copipe: terminating");
    wait_for("a dead of SIGTERM", || {
        sshd.remote_processes("co-chaos --hang").is_empty()
    });
    remote_pid(&sshd, "co-chaos --ignore-term --hang");
    interrupt("copipe: killing");
    let err = read(dir.path(), "err");
    assert_eq!(exit_code(&mut run.0[0]), Some(130), "{err}");
    let err = read(dir.path(), "err");
    let stats: serde_json::Value = serde_json::from_str(err.lines().last().unwrap()).unwrap();
    let signal = |command: &str| {
        let stages = stats["stages"].as_array().unwrap();
        let stage = (stages.iter())
            .find(|s| s["stage"].as_str().unwrap().contains(command))
            .unwrap_or_else(|| panic!("{command}: {err}"));
        assert!(stage["wall_seconds"].as_f64().unwrap() > 0.0, "{stage}");
        stage["signal"].as_i64()
    };
    assert_eq!(
        signal("\"co-chaos --hang\""),
        Some(i64::from(libc::SIGTERM)),
        "{err}"
    );
    assert_eq!(
        signal("\"co-chaos --ignore-term --hang\""),
        Some(i64::from(libc::SIGKILL)),
        "{err}"
    );
    assert_nothing_left(&sshd);
}
