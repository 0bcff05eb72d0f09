//! Stages on other hosts, tested against a real OpenSSH server (see `remote_sshd`).

use std::time::{Duration, Instant};

use copipe::remote::client::{Host, Transport};
use copipe::remote::wire::Described;

use crate::common::bin;
use crate::remote_sshd::Sshd;

/// Where the test binaries are: the "remote" copipe and stages live there too.
fn bin_dir() -> String {
    bin("copipe").parent().unwrap().display().to_string()
}

fn transport(sshd: &Sshd) -> Transport {
    Transport::new(Some(&sshd.rsh()), Some(bin_dir())).unwrap()
}

/// Polls until sshd has no descendant whose command line holds `needle`.
fn wait_none_left(sshd: &Sshd, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let left = sshd.remote_processes(needle);
        if left.is_empty() {
            return;
        }
        assert!(Instant::now() < deadline, "remote processes left: {left:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn agents_on_two_hosts_answer_describe_in_one_connection_each() {
    let sshd = Sshd::start();
    let t = transport(&sshd);
    let b = Host::connect(&t, "hostb").unwrap();
    let c = Host::connect(&t, "hostc").unwrap();
    assert!(!b.reported.is_empty());
    let programs = [
        "co-grep".to_owned(),
        "co-filter".into(),
        "co-no-such-stage".into(),
    ];
    let answers = b.describe(&programs).unwrap();
    match &answers[..] {
        [Described::Answer(grep), Described::Answer(filter), Described::Missing { places }] => {
            assert!(grep.contains("\"lines\""), "{grep}");
            assert!(filter.contains("\"records\""), "{filter}");
            assert!(places.contains(&bin_dir()), "{places}");
        }
        other => panic!("unexpected answers {other:?}"),
    }
    assert_eq!(c.describe(&programs[..1]).unwrap().len(), 1);
    // Two agents, each one session of its own.
    assert_eq!(sshd.remote_processes("copipe agent").len(), 2);
    b.close();
    c.close();
    wait_none_left(&sshd, "copipe agent");
}

#[test]
fn a_host_refusing_the_connection_is_one_error_naming_it() {
    let sshd = Sshd::start();
    let err = Host::connect(&transport(&sshd), "refusing")
        .err()
        .expect("no connection");
    let text = err.to_string();
    assert!(text.starts_with("cannot reach host refusing: "), "{text}");
    assert!(text.contains("Connection refused"), "{text}");
    assert!(!text.contains('\n'), "{text}");
}

#[test]
fn a_host_without_copipe_says_how_to_fix_it() {
    let sshd = Sshd::start();
    let t = Transport::new(Some(&sshd.rsh()), Some("/nonexistent/copipe-dir".into())).unwrap();
    let text = Host::connect(&t, "hostb")
        .err()
        .expect("no agent")
        .to_string();
    assert!(
        text.starts_with("host hostb: cannot start the agent"),
        "{text}"
    );
    assert!(text.contains("--remote-dir"), "{text}");
    assert!(!text.contains('\n'), "{text}");
}

/// The agent's command line crosses the remote shell: a `--remote-dir` holding every shell
/// metacharacter (and a newline) still names the right directory.
#[test]
fn a_remote_dir_with_shell_metacharacters_reaches_the_remote_side_intact() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let odd = dir
        .path()
        .join("odd dir; $(touch pwned) `id` 'q' \"d\" * ? & | > < \\ !\nz");
    std::fs::create_dir(&odd).unwrap();
    std::os::unix::fs::symlink(bin("copipe"), odd.join("copipe")).unwrap();
    let t = Transport::new(Some(&sshd.rsh()), Some(odd.display().to_string())).unwrap();
    let host = Host::connect(&t, "hostb").unwrap();
    // Stages are found beside the agent's real executable.
    let answers = host.describe(&["co-grep".to_owned()]).unwrap();
    assert!(matches!(&answers[0], Described::Answer(_)), "{answers:?}");
    host.close();
    assert!(!std::path::Path::new("pwned").exists());
    assert!(
        std::env::var_os("HOME").is_none_or(|h| !std::path::Path::new(&h).join("pwned").exists())
    );
}

/// The agent alone (no launcher): a local `co-lines` feeds `co-grep | co-printer` on hostb,
/// joined there by a pipe of the agent's; the printed lines come back over the connection.
#[test]
fn the_agent_runs_a_remote_chain_fed_and_drained_through_the_connection() {
    use copipe::remote::client::HostEvent;
    use copipe::remote::wire::{Control, End, RemoteStage};
    use std::io::Read;
    use std::process::{Command, Stdio};

    let sshd = Sshd::start();
    let host = Host::connect(&transport(&sshd), "hostb").unwrap();
    let text: String = (0..20_000)
        .map(|i| format!("line {i} {}\n", if i % 3 == 0 { "python" } else { "perl" }))
        .collect();
    let input = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(input.path(), &text).unwrap();
    let mut lines = Command::new(bin("co-lines"))
        .arg(input.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stages = vec![
        RemoteStage {
            position: 2,
            argv: vec!["co-grep".into(), "python".into()],
            input_paths: false,
            output_paths: false,
            inputs: vec![End::Channel(1)],
            outputs: vec![End::Pipe(0)],
            stderr: 101,
        },
        RemoteStage {
            position: 3,
            argv: vec!["co-printer".into()],
            input_paths: false,
            output_paths: false,
            inputs: vec![End::Pipe(0)],
            outputs: vec![End::Channel(2)],
            stderr: 102,
        },
    ];
    let (mut printed, printed_w) = std::io::pipe().unwrap();
    let pumps = host
        .start(
            stages,
            false,
            vec![
                (2, Box::new(printed_w)),
                (101, Box::new(std::io::sink())),
                (102, Box::new(std::io::sink())),
            ],
            vec![(1, Box::new(lines.stdout.take().unwrap()))],
        )
        .unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        printed.read_to_string(&mut out).unwrap();
        out
    });
    let mut exits = Vec::new();
    while exits.len() < 2 {
        match host
            .events
            .recv_timeout(Duration::from_secs(30))
            .expect("an event")
        {
            HostEvent::Control(Control::Started { error, pids }) => {
                assert_eq!(error, None);
                assert_eq!(pids.len(), 2);
            }
            HostEvent::Control(Control::Exited(exit)) => exits.push((exit.stage, exit.status)),
            other => panic!("unexpected {other:?}"),
        }
    }
    exits.sort_unstable();
    assert_eq!(exits, [(2, 0), (3, 0)]);
    assert!(lines.wait().unwrap().success());
    for p in pumps {
        p.join().unwrap();
    }
    let want: String = text
        .lines()
        .filter(|l| l.contains("python"))
        .map(|l| format!("{l}\n"))
        .collect();
    assert_eq!(reader.join().unwrap(), want);
    host.close();
    wait_none_left(&sshd, "copipe agent");
}

/// The repository's root: specs name data files relative to it.
fn root() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `copipe run` with the harness's `--rsh` and the test binaries as the remote directory.
fn copipe_run(sshd: &Sshd, spec: &str) -> std::process::Command {
    copipe_run_in(sshd, &bin_dir(), spec)
}

/// `copipe run` with the harness's `--rsh` and `remote_dir` as the remote installation.
fn copipe_run_in(sshd: &Sshd, remote_dir: &str, spec: &str) -> std::process::Command {
    let mut c = std::process::Command::new(bin("copipe"));
    c.current_dir(root()).args([
        "run",
        "--rsh",
        &sshd.rsh(),
        "--remote-dir",
        remote_dir,
        "-e",
        spec,
    ]);
    c
}

/// Runs a command with a deadline; its output.
fn output(mut c: std::process::Command) -> std::process::Output {
    use std::process::Stdio;
    let child = c
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let reaper = crate::common::Reaper(vec![child]);
    let pid = reaper.0[0].id();
    let waiter = std::thread::spawn(move || {
        let mut reaper = reaper;
        let child = reaper.0.pop().unwrap();
        child.wait_with_output().unwrap()
    });
    let deadline = Instant::now() + Duration::from_mins(1);
    while !waiter.is_finished() {
        if Instant::now() > deadline {
            // SAFETY: kill(2) on our own child, still unreaped (the waiter has not returned).
            unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    waiter.join().unwrap()
}

const BUS_LOCAL: &str = "co-xml examples/data/allroutes.xml | co-buses | co-filter route=22 \
    | co-filter 'direction=North Bound' | co-bus-locations";

/// co-buses and both filters on two "remote" hosts (links local → hostb → hostc → local)
/// print exactly what the all-local pipeline prints.
#[test]
fn the_bus_pipeline_across_three_hosts_prints_the_local_output() {
    let sshd = Sshd::start();
    let mut local = std::process::Command::new(bin("copipe"));
    local.current_dir(root()).args(["run", "-e", BUS_LOCAL]);
    let want = output(local);
    assert!(want.status.success());
    assert!(!want.stdout.is_empty());
    let spec = "buses@hostb = co-buses\n\
        route@hostb = co-filter route=22\n\
        north@hostc = co-filter 'direction=North Bound'\n\
        co-xml examples/data/allroutes.xml | buses | route | north | co-bus-locations";
    let got = output(copipe_run(&sshd, spec));
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert!(got.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        String::from_utf8_lossy(&want.stdout)
    );
    wait_none_left(&sshd, "copipe agent");
    wait_none_left(&sshd, "co-");
}

/// A type mismatch across hosts is refused before anything starts anywhere.
#[test]
fn a_type_mismatch_across_hosts_is_refused_before_anything_starts() {
    let sshd = Sshd::start();
    let spec = "x@hostb = co-xml examples/data/allroutes.xml\nx | co-grep python | co-printer";
    let got = output(copipe_run(&sshd, spec));
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert_eq!(got.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("type mismatch"), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(got.stdout.is_empty());
    wait_none_left(&sshd, "copipe agent");
}

/// A program missing on its host: one line naming the program and the host.
#[test]
fn a_program_missing_on_its_host_is_one_line_naming_both() {
    let sshd = Sshd::start();
    let spec = "m@hostc = co-no-such-stage\nco-lines examples/data/access-log | m | co-printer";
    let got = output(copipe_run(&sshd, spec));
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert_eq!(got.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("\"co-no-such-stage\" not found"),
        "{stderr}"
    );
    assert!(stderr.contains("on host hostc"), "{stderr}");
}

/// A host refusing the connection stops the launcher before anything starts.
#[test]
fn the_launcher_names_a_host_refusing_the_connection() {
    let sshd = Sshd::start();
    let spec = "g@refusing = co-grep a\nco-lines examples/data/access-log | g | co-printer";
    let got = output(copipe_run(&sshd, spec));
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert_eq!(got.status.code(), Some(1), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.starts_with("copipe: error: cannot reach host refusing: "),
        "{stderr}"
    );
    assert!(stderr.contains("Connection refused"), "{stderr}");
}

/// Spec words reach the remote program exactly, whatever they hold: no shell runs on them
/// on either side.
#[test]
fn arguments_with_every_shell_metacharacter_reach_the_remote_stage_exactly() {
    let sshd = Sshd::start();
    let dir = tempfile::tempdir().unwrap();
    let pattern =
        "$(touch pwned); `touch pwned2` | & > out < in * ? ~ # ! 'sq' \"dq\" \\back {a,b} %s $HOME";
    let text = format!("before\nx {pattern} y\n{}\nafter\n", &pattern[..20]);
    let input = dir.path().join("input");
    std::fs::write(&input, text).unwrap();
    let word = format!("\"{}\"", pattern.replace('\\', "\\\\").replace('"', "\\\""));
    let spec = format!(
        "g@hostb = co-grep {word}\nco-lines '{}' | g | co-printer",
        input.display()
    );
    let mut run = copipe_run(&sshd, &spec);
    run.current_dir(dir.path());
    let got = output(run);
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert!(got.status.success(), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&got.stdout),
        format!("x {pattern} y\n")
    );
    for made in ["pwned", "pwned2", "out"] {
        assert!(!dir.path().join(made).exists(), "{made} was created");
    }
}

/// `copipe graph --dot` groups the stages of each remote host in a cluster named after it;
/// an inserted broadcast runs on the host of the stage it serves.
#[test]
fn graph_dot_groups_stages_by_host() {
    let sshd = Sshd::start();
    let spec = "b@hostb = co-buses\nf@hostb = co-filter route=22\ng@hostc = co-filter route=22\n\
        co-xml examples/data/allroutes.xml | b | f | co-bus-locations\nb | g | co-printer";
    let mut c = std::process::Command::new(bin("copipe"));
    c.current_dir(root()).args([
        "graph",
        "--dot",
        "--rsh",
        &sshd.rsh(),
        "--remote-dir",
        &bin_dir(),
        "-e",
        spec,
    ]);
    let got = output(c);
    assert!(
        got.status.success(),
        "{}",
        String::from_utf8_lossy(&got.stderr)
    );
    let dot = String::from_utf8(got.stdout).unwrap();
    let cluster = |host: &str| {
        let start = dot
            .find(&format!("label=\"{host}\""))
            .unwrap_or_else(|| panic!("{dot}"));
        let end = start + dot[start..].find("  }").unwrap();
        dot[start..end].to_owned()
    };
    let b = cluster("hostb");
    assert!(
        b.contains("2: co-buses") && b.contains("3: co-broadcast") && b.contains("4: co-filter"),
        "{dot}"
    );
    assert!(cluster("hostc").contains("6: co-filter"), "{dot}");
    let local = &dot[..dot.find("subgraph").unwrap()];
    assert!(
        local.contains("1: co-xml") && local.contains("7: co-printer"),
        "{dot}"
    );
    wait_none_left(&sshd, "copipe agent");
}

/// A directory holding only `programs` of the test binaries (hard links, or copies across
/// file systems): a "remote" installation that lacks the rest. The agent looks beside its
/// own executable, so a symbolic link would not do (it resolves to the full build).
fn partial_install(programs: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for program in programs {
        let to = dir.path().join(program);
        if std::fs::hard_link(bin(program), &to).is_err() {
            std::fs::copy(bin(program), &to).unwrap();
        }
    }
    dir
}

/// An inserted co-broadcast or co-merge runs on the host of the stage it serves, so that
/// host is asked for it before anything starts: one the host lacks, or one that answers
/// `--describe` unlike the one the launcher inserts, is one line naming program and host,
/// and nothing runs.
#[test]
fn an_inserted_stage_is_checked_on_the_host_where_it_runs() {
    let sshd = Sshd::start();
    let install = partial_install(&["copipe", "co-grep", "co-printer"]);
    let fan_out = "g@hostb = co-grep python\nco-lines examples/data/access-log | g\n\
        g | co-printer\ng | co-dump";
    let fan_in = "p@hostb = co-printer\nco-lines examples/data/access-log | p\n\
        co-lines examples/data/access-log | p";
    let dir = install.path().display().to_string();
    let places = format!("beside copipe in {dir} or on PATH");
    for (spec, needed) in [
        (fan_out, "co-broadcast (fan-out)"),
        (fan_in, "co-merge (fan-in)"),
    ] {
        let got = output(copipe_run_in(&sshd, &dir, spec));
        let stderr = String::from_utf8_lossy(&got.stderr);
        assert_eq!(got.status.code(), Some(2), "{stderr}");
        assert_eq!(stderr.lines().count(), 1, "{stderr}");
        assert!(
            stderr.contains(&format!(
                "this graph needs {needed}, which was not found (looked on host hostb, {places})"
            )),
            "{stderr}"
        );
        assert!(got.stdout.is_empty());
    }
    // A co-broadcast of another kind: it would take its outputs on stdout, not as paths.
    let unlike = install.path().join("co-broadcast");
    std::fs::write(
        &unlike,
        "#!/bin/sh\necho '{\"name\":\"co-broadcast\",\"input\":\"any\",\"output\":\"any\"}'\n",
    )
    .unwrap();
    std::fs::set_permissions(&unlike, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let got = output(copipe_run_in(&sshd, &dir, fan_out));
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert_eq!(got.status.code(), Some(2), "{stderr}");
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("on host hostb it answers --describe with {\"name\":\"co-broadcast\",\"input\":\"any\",\"output\":\"any\"}, unlike the one this copipe inserts"),
        "{stderr}"
    );
    wait_none_left(&sshd, "copipe agent");
    wait_none_left(&sshd, "co-");
}

/// A fan-out on one remote host and a fan-in on another run there (co-broadcast on hostb,
/// co-merge on hostc) and every event arrives, once per path.
#[test]
fn a_fan_out_and_a_fan_in_on_remote_hosts_deliver_every_event() {
    let sshd = Sshd::start();
    let spec = "g@hostb = co-grep python\np@hostc = co-printer\n\
        co-lines examples/data/access-log | g\ng | co-grep ply | p\ng | p";
    let got = output(copipe_run(&sshd, spec));
    let stderr = String::from_utf8_lossy(&got.stderr);
    assert!(got.status.success(), "{stderr}");
    let log = std::fs::read_to_string(root().join("examples/data/access-log")).unwrap();
    let python = log.lines().filter(|l| l.contains("python"));
    let mut want: Vec<&str> = python
        .clone()
        .chain(python.filter(|l| l.contains("ply")))
        .collect();
    want.sort_unstable();
    let printed = String::from_utf8(got.stdout).unwrap();
    let mut printed: Vec<&str> = printed.lines().collect();
    printed.sort_unstable();
    assert_eq!(printed, want);
    assert!(want.len() > 100);
    wait_none_left(&sshd, "copipe agent");
}
