//! `just bench-remote`: the bus pipeline on about 200 MB with two stages on a loopback
//! "remote" host, beside the all-local run, in one run.
//!
//! The remote host is the test harness's own sshd (`tests/remote_sshd.rs`: OpenSSH on
//! 127.0.0.1, a temporary key and config), so the links to and from the remote stages
//! cross a real ssh connection and the agent's channels. Two placements:
//!
//! * the filters remote (`co-filter route=22`, `co-filter 'direction=North Bound'`): the
//!   records from `co-buses` cross (about half the bytes of the XML events);
//! * `co-buses` and the first filter remote: the pipeline's heaviest link (XML events,
//!   more bytes than the XML itself) crosses, the worst case.
//!
//! Each variant runs `RUNS` times (the best wall time kept, with its CPU time), and its
//! output is checked against the local one. CPU time is split where it goes:
//!
//! * stages: every stage's own CPU, from `copipe run --stats=json` (remote ones included);
//! * launcher side: the launcher and its ssh client (this process's reaped children, less the
//!   local stages);
//! * remote side: sshd and the agent (sshd's reaped children, less the remote stages).
//!
//! Variants: the options copipe gives ssh by default ([`SSH_OPTIONS`]: AES-GCM first, no
//! compression), ssh's own defaults (chacha20-poly1305 first), and compression on.
//!
//! Environment: `BUSES` (default 470000, about 200 MB), `RUNS` (default 3), `DATA_DIR`
//! (default `bench-data`, git-ignored, the snapshot is kept), `BIN` (default
//! `target/release`). A benchmark: numbers and ratios, it never fails on a figure.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use copipe::remote::client::SSH_OPTIONS;

#[allow(dead_code)]
#[path = "../../tests/remote_sshd.rs"]
mod remote_sshd;

use remote_sshd::Sshd;

/// The all-local pipeline; `{file}` is the snapshot.
const LOCAL: &str = "co-xml {file} | co-buses | co-filter route=22 \
    | co-filter 'direction=North Bound' | co-bus-locations";

/// Where the two remote stages are.
struct Placement {
    name: &'static str,
    spec: &'static str,
    /// Graph positions of the remote stages.
    remote: [usize; 2],
}

const FILTERS: Placement = Placement {
    name: "filters remote",
    spec: "route@hostb = co-filter route=22\nnorth@hostb = co-filter 'direction=North Bound'\n\
        co-xml {file} | co-buses | route | north | co-bus-locations",
    remote: [3, 4],
};

const BUSES: Placement = Placement {
    name: "co-buses remote",
    spec: "buses@hostb = co-buses\nroute@hostb = co-filter route=22\n\
        co-xml {file} | buses | route | co-filter 'direction=North Bound' | co-bus-locations",
    remote: [2, 3],
};

/// One variant's best run.
struct Figures {
    wall: f64,
    /// Every stage's CPU, local and remote.
    stages_cpu: f64,
    /// The launcher and its ssh client.
    launcher_cpu: f64,
    /// sshd and the agent.
    remote_cpu: f64,
    /// Bytes on the links that cross to or from the remote host.
    crossing_bytes: u64,
}

fn main() {
    let bin = PathBuf::from(std::env::var("BIN").unwrap_or_else(|_| "target/release".into()));
    let runs: usize = env_or("RUNS", 3);
    let buses: usize = env_or("BUSES", 470_000);
    let file = snapshot(&bin, buses);
    let mb = std::fs::metadata(&file).expect("the snapshot").len() as f64 / 1e6;
    let sshd = Sshd::start();
    let file_text = file.display().to_string();
    let local_spec = LOCAL.replace("{file}", &file_text);
    let (want, local) = best(runs, || run(&bin, &sshd, None, &local_spec));
    println!(
        "\nbus pipeline on {file_text}: {mb:.1} MB, {buses} buses; best of {runs}; load average {}",
        load_average()
    );
    println!(
        "two stages on the loopback host through sshd; copipe's ssh options: {SSH_OPTIONS:?}\n"
    );
    println!(
        "{:<46} {:>7} {:>7} {:>7} {:>7} {:>7} {:>8} {:>7} {:>10}",
        "variant", "wall s", "MB/s", "x local", "CPU s", "stages", "launcher", "remote", "over ssh"
    );
    row("all local", mb, &local, &local);
    let copipe_options: Vec<&str> = SSH_OPTIONS.to_vec();
    let variants: [(&Placement, &str, &[&str]); 5] = [
        (&FILTERS, "copipe's ssh options", &copipe_options),
        (&FILTERS, "ssh's defaults", &[]),
        (&BUSES, "copipe's ssh options", &copipe_options),
        (&BUSES, "ssh's defaults", &[]),
        (&BUSES, "compression on", &["-o", "Compression=yes"]),
    ];
    for (placement, options_name, options) in variants {
        let spec = placement.spec.replace("{file}", &file_text);
        let remote = Remote {
            options,
            stages: placement.remote,
        };
        let (got, figures) = best(runs, || run(&bin, &sshd, Some(&remote), &spec));
        let name = format!("{}, {options_name}", placement.name);
        if got != want {
            println!("warning: {name}: the output differs from the local run's");
        }
        row(&name, mb, &figures, &local);
    }
    println!(
        "\nCPU s = stages + launcher (copipe run, ssh client) + remote (sshd, agent); over ssh: \
         bytes on the links to and from the remote host. Aim: >= 0.8x local."
    );
}

/// How a run reaches the remote host.
struct Remote<'a> {
    /// Options for ssh after the harness's `-F config`.
    options: &'a [&'a str],
    /// Graph positions of the stages on the remote host.
    stages: [usize; 2],
}

fn env_or(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The generated snapshot, made once and kept.
fn snapshot(bin: &Path, buses: usize) -> PathBuf {
    let dir = PathBuf::from(std::env::var("DATA_DIR").unwrap_or_else(|_| "bench-data".into()));
    std::fs::create_dir_all(&dir).expect("creating the data directory");
    let file = std::fs::canonicalize(&dir)
        .expect("the data directory")
        .join(format!("allroutes-{buses}.xml"));
    if !file.exists() {
        eprintln!("generating {} ({buses} buses)...", file.display());
        let status = Command::new(bin.join("co-gen-buses"))
            .args(["--buses", &buses.to_string(), "--seed", "1", "--output"])
            .arg(&file)
            .status()
            .expect("running co-gen-buses");
        assert!(status.success(), "co-gen-buses failed");
    }
    file
}

/// The run with the shortest wall time among `runs`, and its output.
fn best(runs: usize, mut once: impl FnMut() -> (Vec<u8>, Figures)) -> (Vec<u8>, Figures) {
    let mut kept: Option<(Vec<u8>, Figures)> = None;
    for _ in 0..runs {
        let got = once();
        if kept.as_ref().is_none_or(|k| got.1.wall < k.1.wall) {
            kept = Some(got);
        }
    }
    kept.expect("at least one run")
}

/// One `copipe run --stats=json` of `spec`; with `remote`, through the harness's sshd.
fn run(bin: &Path, sshd: &Sshd, remote: Option<&Remote>, spec: &str) -> (Vec<u8>, Figures) {
    let mut cmd = Command::new(bin.join("copipe"));
    cmd.arg("run").arg("--stats=json");
    if let Some(remote) = remote {
        let rsh = format!("{} {}", sshd.rsh(), remote.options.join(" "));
        cmd.args(["--rsh", &rsh, "--remote-dir"]).arg(absolute(bin));
    }
    cmd.args(["-e", spec])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let children_before = children_cpu();
    let remote_before = reaped_cpu(sshd.pid());
    let started = Instant::now();
    let out = cmd.output().expect("running copipe");
    let wall = started.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "copipe run failed: {stderr}");
    // The connection's processes on the "remote" side are gone (and reaped) before sshd's
    // figures are read.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !sshd.remote_processes("").is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = stderr.lines().last().unwrap_or_default();
    let report: serde_json::Value = serde_json::from_str(stats).expect("the --stats=json line");
    let (mut local_stages, mut remote_stages) = (0.0, 0.0);
    for stage in report["stages"].as_array().expect("stages") {
        let cpu = stage["cpu_seconds"].as_f64().unwrap_or(0.0);
        let position = stage["position"].as_u64().unwrap_or(0) as usize;
        if remote.is_some_and(|r| r.stages.contains(&position)) {
            remote_stages += cpu;
        } else {
            local_stages += cpu;
        }
    }
    let crosses = |from: usize, to: usize| {
        remote.is_some_and(|r| r.stages.contains(&from) != r.stages.contains(&to))
    };
    let crossing_bytes = (report["links"].as_array().expect("links").iter())
        .filter(|l| crosses(as_usize(&l["from"]), as_usize(&l["to"])))
        .map(|l| l["bytes"].as_u64().unwrap_or(0))
        .sum();
    let figures = Figures {
        wall,
        stages_cpu: local_stages + remote_stages,
        launcher_cpu: (children_cpu() - children_before - local_stages).max(0.0),
        remote_cpu: (reaped_cpu(sshd.pid()) - remote_before - remote_stages).max(0.0),
        crossing_bytes,
    };
    (out.stdout, figures)
}

fn as_usize(v: &serde_json::Value) -> usize {
    v.as_u64().unwrap_or(0) as usize
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).expect("the binaries' directory")
}

fn row(name: &str, mb: f64, f: &Figures, local: &Figures) {
    let cpu = f.stages_cpu + f.launcher_cpu + f.remote_cpu;
    println!(
        "{name:<46} {:>7.3} {:>7.1} {:>7.2} {cpu:>7.2} {:>7.2} {:>8.2} {:>7.2} {:>7.1} MB",
        f.wall,
        mb / f.wall,
        local.wall / f.wall,
        f.stages_cpu,
        f.launcher_cpu,
        f.remote_cpu,
        f.crossing_bytes as f64 / 1e6,
    );
}

/// CPU seconds of this process's reaped children (and theirs).
fn children_cpu() -> f64 {
    // SAFETY: a zeroed rusage is a valid out-parameter.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage with a valid out-pointer.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &raw mut usage) };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}

/// CPU seconds of the reaped children of process `pid` (`cutime` + `cstime` in its
/// `/proc/PID/stat`): for sshd, every connection it served, with the agents and stages
/// under them.
fn reaped_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let after = stat.rfind(')').map_or("", |i| &stat[i + 2..]);
    let fields: Vec<f64> = after
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0.0))
        .collect();
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    // Fields 16 and 17 of stat(5); `after` starts at field 3.
    fields
        .get(13)
        .zip(fields.get(14))
        .map_or(0.0, |(u, s)| (u + s) / ticks)
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}
