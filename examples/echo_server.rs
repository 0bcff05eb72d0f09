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

use clap::Parser;
use copipe::sched::echo;
use copipe::Error;

/// An echo server on the coroutine OS: one task per client, on 127.0.0.1.
#[derive(Parser)]
#[command(version)]
struct Args {
    /// The port to listen on (0 picks a free one); printed on the first line.
    #[arg(default_value_t = 0)]
    port: u16,
    /// Do not print a line when a client leaves.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let outcome = run(args.port, args.quiet).map_err(|e| Error::io("serving", e));
    copipe::run::finish("echo_server", outcome)
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
