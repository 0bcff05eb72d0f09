//! The coroutine OS (`copipe::sched`) against the seed's Part 7.
//!
//! The `sched_*` examples are the seed's Part 7 programs; `examples_seed` compares them with
//! the results printed in the seed. Here they are compared with `benches/sched/pyos.py`, the
//! seed's scheduler ported to Python 3 and run with python3: that proves the Rust order is
//! the real Python semantics, not just our reading of the listing, and covers the two
//! scenarios beyond the seed.
//!
//! Then the echo server: 200 concurrent clients with no lost bytes, a large transfer that
//! makes the server wait for writability, and the `echo_server` example binary.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::common::Bounded;
use copipe::sched::echo::EchoServer;

use crate::examples_seed::{example, run_example};

/// The scenarios of `benches/sched/pyos.py`: the seed's Part 7 programs (whose printed
/// results `examples_seed` checks) and two beyond the seed; the example `sched_NAME` is each.
const SCENARIOS: &[&str] = &[
    "task",
    "scheduler",
    "exit",
    "gettid",
    "kill",
    "nowait",
    "wait",
    "message",
    "trampoline",
];

/// What the two scenarios beyond the seed print: no printed result to copy, so these are the
/// lines worked out by hand from the semantics (and checked against pyos.py below).
const BEYOND_THE_SEED: &[(&str, &str)] = &[
    (
        "message",
        "pong got ping 0
main got pong 0
pong got ping 1
main got pong 1
pong got ping 2
main got pong 2
pong stops
Task 2 terminated
send to exited task: false
main done
Task 1 terminated",
    ),
    (
        "trampoline",
        "add(2, 2) = 4
worker: hello from task 2
main: hello from task 1
worker: hello from task 2
Task 2 terminated
main done
Task 1 terminated",
    ),
];

fn lines(text: &str) -> Vec<&str> {
    text.lines().collect()
}

fn rust_output(name: &str) -> String {
    run_example(&format!("sched_{name}"), &[])
}

#[test]
fn the_scenarios_beyond_the_seed_print_what_their_semantics_say() {
    for (name, expected) in BEYOND_THE_SEED {
        assert_eq!(
            lines(&rust_output(name)),
            lines(expected),
            "scenario {name}"
        );
    }
}

#[test]
fn the_scheduler_example_takes_a_step_limit() {
    assert_eq!(
        run_example("sched_scheduler", &["3"]),
        "I'm foo\nI'm bar\nI'm foo\n"
    );
    let output = Command::new(example("sched_scheduler"))
        .arg("two")
        .bounded();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
}

fn manifest_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The Python port's output for a scenario, or `None` (with a note) if python3 is missing
/// outside CI; in CI a missing python3 fails the test.
fn python_output(name: &str) -> Option<String> {
    let script = manifest_dir().join("benches/sched/pyos.py");
    if !crate::common::python_available() {
        return None;
    }
    let output = Command::new("python3")
        .arg(&script)
        .args(["scenario", name])
        .stdin(Stdio::null())
        .bounded();
    assert!(
        output.status.success(),
        "pyos.py scenario {name} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    Some(String::from_utf8(output.stdout).expect("pyos.py prints UTF-8"))
}

#[test]
fn the_examples_match_the_python_port_of_the_seed() {
    for name in SCENARIOS {
        let Some(python) = python_output(name) else {
            return;
        };
        assert_eq!(
            lines(&rust_output(name)),
            lines(&python),
            "scenario {name}: example sched_{name} vs pyos.py"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Echo server
// ---------------------------------------------------------------------------------------

const IO_TIMEOUT: Duration = Duration::from_mins(1);

fn start_server() -> EchoServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    EchoServer::start(listener, io::sink()).unwrap()
}

/// What client `c` sends in round `r`: lengths from 1 byte to about 3 KB, contents that differ
/// per client and round, so a byte delivered to the wrong client or out of order shows.
fn payload(c: usize, r: usize) -> Vec<u8> {
    let len = 1 + (c * 37 + r * 101) % 3000;
    (0..len).map(|i| (c * 7 + r * 13 + i * 31) as u8).collect()
}

/// A meeting point for the client threads, like `std::sync::Barrier` but one that can be
/// abandoned (if a thread fails to start, the others must not wait forever) and that gives
/// up after a generous deadline.
struct Gate {
    state: Mutex<(usize, bool)>,
    cv: Condvar,
    parties: usize,
}

impl Gate {
    fn new(parties: usize) -> Gate {
        Gate {
            state: Mutex::new((0, false)),
            cv: Condvar::new(),
            parties,
        }
    }

    /// Arrives and waits for all parties; false if the gate was abandoned or timed out.
    fn arrive_and_wait(&self) -> bool {
        let mut st = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.0 += 1;
        self.cv.notify_all();
        let (st, _) = self
            .cv
            .wait_timeout_while(st, IO_TIMEOUT, |st| st.0 < self.parties && !st.1)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        st.0 >= self.parties
    }

    fn abandon(&self) {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .1 = true;
        self.cv.notify_all();
    }
}

/// One client: connect, wait for all others to connect, exchange `rounds` messages, wait for
/// all others to finish, close. Never panics and always passes both gates, so one failing
/// client cannot leave the others waiting.
fn client(
    addr: SocketAddr,
    c: usize,
    rounds: usize,
    connected: &Gate,
    done: &Gate,
) -> Result<u64, String> {
    let stream = TcpStream::connect(addr).map_err(|e| format!("client {c}: connect: {e}"));
    connected.arrive_and_wait();
    let result = stream.and_then(|mut s| {
        s.set_read_timeout(Some(IO_TIMEOUT))
            .map_err(|e| e.to_string())?;
        s.set_write_timeout(Some(IO_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let mut total = 0u64;
        for r in 0..rounds {
            let sent = payload(c, r);
            s.write_all(&sent)
                .map_err(|e| format!("client {c} round {r}: write: {e}"))?;
            let mut got = vec![0u8; sent.len()];
            s.read_exact(&mut got)
                .map_err(|e| format!("client {c} round {r}: read: {e}"))?;
            if got != sent {
                return Err(format!("client {c} round {r}: echoed bytes differ"));
            }
            total += sent.len() as u64;
        }
        Ok((s, total))
    });
    // Keep the connection open until every client is done, so all are live at once.
    if !done.arrive_and_wait() {
        return Err(format!("client {c}: the other clients did not finish"));
    }
    result.map(|(s, total)| {
        drop(s);
        total
    })
}

#[test]
fn echo_server_serves_200_concurrent_clients_without_losing_bytes() {
    const CLIENTS: usize = 200;
    const ROUNDS: usize = 10;
    let server = start_server();
    let addr = server.addr();
    let connected = Gate::new(CLIENTS);
    let done = Gate::new(CLIENTS);
    let results: Vec<Result<u64, String>> = std::thread::scope(|scope| {
        let mut handles = Vec::new();
        let mut results = Vec::new();
        for c in 0..CLIENTS {
            let (connected, done) = (&connected, &done);
            match std::thread::Builder::new()
                .stack_size(256 * 1024)
                .spawn_scoped(scope, move || client(addr, c, ROUNDS, connected, done))
            {
                Ok(h) => handles.push(h),
                Err(e) => {
                    // Release the threads already started, then report.
                    connected.abandon();
                    done.abandon();
                    results.push(Err(format!("starting client thread {c}: {e}")));
                    break;
                }
            }
        }
        for h in handles {
            results.push(
                h.join()
                    .unwrap_or_else(|_| Err("client thread panicked".into())),
            );
        }
        results
    });
    let errors: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        errors.is_empty(),
        "{} clients failed, first: {}",
        errors.len(),
        errors[0]
    );
    let expected: u64 = (0..CLIENTS)
        .flat_map(|c| (0..ROUNDS).map(move |r| payload(c, r).len() as u64))
        .sum();
    assert_eq!(
        results.iter().map(|r| *r.as_ref().unwrap()).sum::<u64>(),
        expected
    );
    let stats = server.stop().unwrap();
    assert_eq!(stats.connections, CLIENTS as u64);
    assert_eq!(stats.bytes, expected);
    // Every client held its connection until all had finished: all 200 tasks were alive at once.
    assert_eq!(stats.max_concurrent, CLIENTS as u64);
}

#[test]
fn echo_server_waits_for_writability_when_the_client_does_not_read() {
    // The client writes 64 MiB and reads nothing until the server has had to park a task in
    // WriteWait: more than all the socket buffers on the way can hold, so the server's
    // write must hit WouldBlock. Then the client drains everything, which must come back
    // whole and in order.
    const LEN: usize = 64 << 20;
    let server = start_server();
    let data: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    let stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut got = Vec::with_capacity(LEN);
    let (write_result, read_result, saw_write_wait) = std::thread::scope(|scope| {
        let w = scope.spawn(|| {
            let r = writer.write_all(&data);
            let _ = writer.shutdown(Shutdown::Write);
            r
        });
        // Poll for the condition (generous deadline); no timing is asserted.
        let deadline = Instant::now() + IO_TIMEOUT;
        let saw_write_wait = loop {
            if server.live().write_waits() > 0 {
                break true;
            }
            if Instant::now() > deadline {
                break false;
            }
            std::thread::sleep(Duration::from_millis(1));
        };
        // Drain in any case, so the writer can finish and be joined.
        let mut reader = &stream;
        let mut buf = vec![0u8; 64 * 1024];
        let read_result = loop {
            match reader.read(&mut buf) {
                Ok(0) => break Ok(()),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) => {
                    // Unblock the writer before joining it.
                    let _ = stream.shutdown(Shutdown::Both);
                    break Err(e);
                }
            }
        };
        let write_result = w
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("writer panicked")));
        (write_result, read_result, saw_write_wait)
    });
    write_result.expect("writing to the echo server");
    read_result.expect("reading from the echo server");
    assert!(saw_write_wait, "the server never waited for writability");
    assert_eq!(got.len(), LEN);
    assert!(got == data, "echoed bytes differ");
    let stats = server.stop().unwrap();
    assert_eq!(stats.bytes, LEN as u64);
    assert!(stats.write_waits > 0);
}

/// Kills and reaps a child process when dropped, so a failing test leaves no server behind.
struct ChildGuard(Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_echo_server_example_prints_its_port_and_echoes() {
    let exe = example("echo_server");
    let mut child = ChildGuard(
        Command::new(&exe)
            .arg("0")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", exe.display())),
    );
    let stdout = child.0.stdout.take().unwrap();
    let mut stdout = BufReader::new(stdout);
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    let port: u16 = first
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("first line should be the port, got {first:?}"));
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    c.write_all(b"hello, coroutines\n").unwrap();
    let mut got = [0u8; 18];
    c.read_exact(&mut got).unwrap();
    assert_eq!(&got, b"hello, coroutines\n");
    drop(c);
    // The client's task ends and the kernel reports it, as the seed's exit() does.
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    assert_eq!(line.trim(), "Task 3 terminated");
}
