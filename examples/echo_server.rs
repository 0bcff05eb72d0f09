//! An echo server on the coroutine OS (`copipe::sched::echo`): one task per client,
//! nonblocking sockets, `ReadWait`/`WriteWait` system calls, `poll(2)` when idle. The
//! course's `pyos` echo server.
//!
//! Run: `cargo run --example echo_server [PORT] [--quiet]` (PORT 0, the default, picks a free
//! port). It listens on 127.0.0.1 and prints the port on the first line, then the kernel's
//! `Task N terminated` line for each client that leaves (unless `--quiet`). Stop it with
//! Ctrl-C. Try it with `nc 127.0.0.1 PORT`.

use std::io::{self, Write};
use std::net::TcpListener;
use std::process::ExitCode;

use copipe::sched::echo;

fn main() -> ExitCode {
    let mut port: u16 = 0;
    let mut quiet = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--quiet" => quiet = true,
            _ => {
                if let Ok(p) = arg.parse() {
                    port = p;
                } else {
                    eprintln!("usage: echo_server [PORT] [--quiet]");
                    return ExitCode::from(2);
                }
            }
        }
    }
    match run(port, quiet) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo_server: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(port: u16, quiet: bool) -> io::Result<()> {
    let listener = TcpListener::bind(("127.0.0.1", port))?;
    let mut stdout = io::stdout();
    writeln!(stdout, "{}", listener.local_addr()?.port())?;
    stdout.flush()?;
    // Never fired: the server runs until the process is interrupted.
    let (_stopper, signal) = echo::stop_channel()?;
    let log: Box<dyn Write> = if quiet {
        Box::new(io::sink())
    } else {
        Box::new(stdout)
    };
    echo::serve(listener, signal, log)?;
    Ok(())
}
