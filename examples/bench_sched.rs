//! Benchmark of the coroutine OS (`copipe::sched`), against the seed's Python scheduler.
//!
//! Run with `bash benches/sched/run.sh` (or `just bench-sched`), which builds in release mode.
//! Measures, for the Rust kernel and for `benches/sched/pyos.py` (when python3 exists):
//!
//! 1. task switches per second: two tasks yielding to each other (bare `yield`);
//! 2. spawn + exit of a million tasks: one task issuing `NewTask` for children that return at
//!    once (each exit formats its `Task N terminated` line, into a null writer);
//! 3. echo requests per second with 100 clients: 100 client threads in this process, each
//!    sending 64 bytes and waiting for the echo, against the Rust echo server (in a thread of
//!    this process) and against pyos.py's echo server (a python3 process). Same load
//!    generator for both.
//!
//! The scheduler numbers are the best of three runs on each side (Rust and Python), to take
//! the noise of a shared 2-core machine out of the ratios. pyos.py is measured twice: with the
//! seed's own ready queue (`queue.Queue`, thread-safe and slow) and with a `collections.deque`
//! (the fastest plain-Python variant), so the ratio against the better Python is shown too.
//!
//! Options: `--switches N` (default 20000000), `--spawn N` (default 1000000),
//! `--clients N` (default 100), `--secs S` (echo measuring time, default 3),
//! `--no-python`.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use copipe::sched::{Scheduler, Sys};

struct Options {
    switches: u64,
    spawn: u64,
    clients: usize,
    secs: f64,
    python: bool,
}

fn parse_args() -> Result<Options, String> {
    let mut o = Options {
        switches: 20_000_000,
        spawn: 1_000_000,
        clients: 100,
        secs: 3.0,
        python: true,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--switches" => o.switches = num(&value("--switches")?)?,
            "--spawn" => o.spawn = num(&value("--spawn")?)?,
            "--clients" => o.clients = num(&value("--clients")?)? as usize,
            "--secs" => {
                let v = value("--secs")?;
                o.secs = v.parse().map_err(|_| format!("bad --secs {v:?}"))?;
            }
            "--no-python" => o.python = false,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    Ok(o)
}

fn num(s: &str) -> Result<u64, String> {
    s.replace('_', "")
        .parse()
        .map_err(|_| format!("bad number {s:?}"))
}

/// Switches per second: two tasks, each yielding `switches / 2` times.
fn bench_switches(switches: u64) -> f64 {
    async fn pinger(sys: Sys<()>, n: u64) {
        for _ in 0..n {
            sys.yield_now().await;
        }
    }
    let per_task = switches / 2;
    let mut sched: Scheduler<()> = Scheduler::with_output(io::sink());
    sched.spawn(move |sys| pinger(sys, per_task));
    sched.spawn(move |sys| pinger(sys, per_task));
    let t0 = Instant::now();
    let _ = sched.mainloop();
    (2 * per_task) as f64 / t0.elapsed().as_secs_f64()
}

/// Seconds to spawn (with the `NewTask` system call) and reap `n` tasks.
fn bench_spawn(n: u64) -> f64 {
    async fn parent(sys: Sys<()>, n: u64) {
        for _ in 0..n {
            sys.new_task(|_sys: Sys<()>| async {}).await;
        }
    }
    let mut sched: Scheduler<()> = Scheduler::with_output(io::sink());
    sched.spawn(move |sys| parent(sys, n));
    let t0 = Instant::now();
    let _ = sched.mainloop();
    t0.elapsed().as_secs_f64()
}

/// What one echo measurement found.
struct EchoResult {
    /// Round trips per second of wall time.
    per_sec: f64,
    /// Round trips per second of the server process's CPU time (user + system), so a
    /// server that is not the bottleneck still shows its cost.
    per_cpu_sec: f64,
}

/// CPU seconds (user + system) used so far by process `pid`, from /proc (Linux).
fn cpu_secs(pid: u32) -> io::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| io::Error::other("bad /proc stat"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> io::Result<f64> {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| io::Error::other("bad /proc stat"))
    };
    // /proc counts in USER_HZ, which is 100 on Linux.
    Ok((ticks(11)? + ticks(12)?) / 100.0)
}

/// The load: `clients` connections, each doing 64-byte request/response round trips as fast
/// as the server answers. The clients are tasks of one copipe scheduler on one thread (itself
/// an event-driven client, cheaper than a thread per connection), so on a 2-core machine the
/// server gets the other core. Measured over `secs` after a short warm-up.
fn echo_load(
    addr: SocketAddr,
    server_pid: u32,
    clients: usize,
    secs: f64,
) -> io::Result<EchoResult> {
    let count = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (c, st) = (count.clone(), stop.clone());
    let load = std::thread::spawn(move || -> io::Result<()> {
        let mut sched: Scheduler<()> = Scheduler::with_output(io::sink());
        for i in 0..clients {
            let s = TcpStream::connect(addr)?;
            s.set_nodelay(true)?;
            s.set_nonblocking(true)?;
            let (c, st) = (c.clone(), st.clone());
            sched.spawn(move |sys| client(sys, s, i as u8, c, st));
        }
        sched.mainloop()?;
        Ok(())
    });
    let result = (|| {
        std::thread::sleep(Duration::from_millis(500));
        let (c0, cpu0, t0) = (
            count.load(Ordering::Relaxed),
            cpu_secs(server_pid)?,
            Instant::now(),
        );
        std::thread::sleep(Duration::from_secs_f64(secs));
        let (c1, cpu1, t1) = (
            count.load(Ordering::Relaxed),
            cpu_secs(server_pid)?,
            Instant::now(),
        );
        let n = (c1 - c0) as f64;
        Ok(EchoResult {
            per_sec: n / (t1 - t0).as_secs_f64(),
            per_cpu_sec: n / (cpu1 - cpu0).max(0.01),
        })
    })();
    stop.store(true, Ordering::Relaxed);
    load.join()
        .unwrap_or_else(|_| Err(io::Error::other("load thread panicked")))?;
    result
}

async fn client(
    sys: Sys<()>,
    mut s: TcpStream,
    id: u8,
    count: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
) {
    let msg = [id; 64];
    let mut buf = [0u8; 64];
    while !stop.load(Ordering::Relaxed) {
        // 64 bytes always fit in an empty socket buffer.
        if s.write_all(&msg).is_err() {
            return;
        }
        let mut got = 0;
        while got < buf.len() {
            sys.read_wait(&s).await;
            match s.read(&mut buf[got..]) {
                Ok(0) => return,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => return,
            }
        }
        count.fetch_add(1, Ordering::Relaxed);
    }
}

/// Starts a server process whose first stdout line is its port; returns it and the address.
fn start_server(cmd: &mut Command) -> io::Result<(ChildGuard, SocketAddr)> {
    let mut child = ChildGuard(cmd.stdin(Stdio::null()).stdout(Stdio::piped()).spawn()?);
    let stdout = child
        .0
        .stdout
        .take()
        .ok_or_else(|| io::Error::other("no stdout"))?;
    let mut first = String::new();
    BufReader::new(stdout).read_line(&mut first)?;
    let port: u16 = first
        .trim()
        .parse()
        .map_err(|_| io::Error::other(format!("echo server printed {first:?}")))?;
    Ok((child, SocketAddr::from(([127, 0, 0, 1], port))))
}

fn rust_echo(o: &Options) -> io::Result<EchoResult> {
    // The example binary next to this one (benches/sched/run.sh builds both).
    let exe = std::env::current_exe()?.with_file_name("echo_server");
    let (child, addr) = start_server(Command::new(&exe).args(["0", "--quiet"]))
        .map_err(|e| io::Error::other(format!("starting {}: {e}", exe.display())))?;
    echo_load(addr, child.0.id(), o.clients, o.secs)
}

fn python_echo(o: &Options) -> io::Result<EchoResult> {
    let (child, addr) = start_server(Command::new("python3").arg(pyos()).args(["echo", "0"]))?;
    echo_load(addr, child.0.id(), o.clients, o.secs)
}

fn pyos() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/sched/pyos.py")
}

/// pyos.py's scheduler numbers: `key value...` lines.
fn python_sched(o: &Options) -> io::Result<Vec<(String, Vec<f64>)>> {
    let out = Command::new("python3")
        .arg(pyos())
        .args([
            "bench",
            "--switches",
            &o.switches.min(2_000_000).to_string(),
        ])
        .args(["--spawn", &o.spawn.to_string()])
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        return Err(io::Error::other("pyos.py bench failed"));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            let key = it.next()?.to_owned();
            Some((key, it.filter_map(|v| v.parse().ok()).collect()))
        })
        .collect())
}

/// Kills and reaps the Python server however the benchmark ends.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn lookup<'a>(rows: &'a [(String, Vec<f64>)], key: &str) -> Option<&'a [f64]> {
    rows.iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_slice())
}

fn main() -> ExitCode {
    let o = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("bench_sched: error: {e}");
            return ExitCode::from(2);
        }
    };
    match run(&o) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("bench_sched: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(o: &Options) -> io::Result<()> {
    let mut out = io::stdout();
    writeln!(out, "copipe::sched benchmark (release build expected)")?;

    // Best of three, to take the noise of a shared 2-core machine out of the comparison.
    let switches = (0..3)
        .map(|_| bench_switches(o.switches))
        .fold(0.0, f64::max);
    writeln!(out, "rust   task switches/s       {switches:>14.0}")?;
    let spawn = (0..3)
        .map(|_| bench_spawn(o.spawn))
        .fold(f64::INFINITY, f64::min);
    writeln!(
        out,
        "rust   spawn+exit {} tasks  {:>10.3} s  ({:.0} tasks/s)",
        o.spawn,
        spawn,
        o.spawn as f64 / spawn
    )?;
    let echo = rust_echo(o)?;
    writeln!(
        out,
        "rust   echo requests/s ({} clients) {:>10.0}  ({:.0} per server CPU second)",
        o.clients, echo.per_sec, echo.per_cpu_sec
    )?;
    out.flush()?;

    if !o.python {
        return Ok(());
    }
    let rows = match python_sched(o) {
        Ok(rows) => rows,
        Err(e) => {
            writeln!(out, "python3 not usable ({e}): no comparison")?;
            return Ok(());
        }
    };
    for variant in ["queue", "deque"] {
        let label = if variant == "queue" {
            "seed's queue.Queue"
        } else {
            "collections.deque"
        };
        if let Some(&[py_switches]) = lookup(&rows, &format!("switches_per_sec_{variant}")) {
            writeln!(
                out,
                "python task switches/s       {:>14.0}  ({label}); rust is {:.0}x",
                py_switches,
                switches / py_switches
            )?;
        }
        if let Some(&[secs, n]) = lookup(&rows, &format!("spawn_exit_{variant}_secs")) {
            writeln!(
                out,
                "python spawn+exit {} tasks  {:>10.3} s  ({label}); rust is {:.0}x",
                n as u64,
                secs,
                (secs / n) / (spawn / o.spawn as f64)
            )?;
        }
    }
    match python_echo(o) {
        Ok(py) => writeln!(
            out,
            "python echo requests/s ({} clients) {:>10.0}  ({:.0} per server CPU second; pyos.py, select); rust is {:.1}x ({:.1}x per CPU second)",
            o.clients,
            py.per_sec,
            py.per_cpu_sec,
            echo.per_sec / py.per_sec,
            echo.per_cpu_sec / py.per_cpu_sec
        )?,
        Err(e) => writeln!(out, "python echo server failed: {e}")?,
    }
    Ok(())
}
