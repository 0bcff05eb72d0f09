//! Beyond the seed's listings: subroutines that make system calls (the course's
//! "trampolining").
//!
//! In Python a generator cannot simply call a generator that yields to the scheduler;
//! Beazley's `Task.run` keeps a stack of generators and "trampolines" between them:
//!
//! ```python
//! def whoami():
//!     tid = yield GetTid()
//!     yield "task %d" % tid
//!
//! def greet(name):
//!     me = yield whoami()          # a subroutine calling a subroutine
//!     print "%s: hello from %s" % (name, me)
//! ```
//!
//! A Rust `async fn` awaiting another `async fn` already is such a stack: a system call made
//! three calls deep traps straight into the kernel, and its reply comes back to the same
//! place. (`benches/sched/pyos.py scenario trampoline` runs the Python.)
//!
//! Run: `cargo run --example sched_trampoline`

use std::process::ExitCode;

use clap::Parser;
use copipe::sched::{Scheduler, Sys};
use copipe::Error;

#[allow(clippy::unused_async)] // the seed's point: a coroutine calling a coroutine
async fn add(x: i64, y: i64) -> i64 {
    x + y
}

async fn whoami(sys: &Sys) -> String {
    let tid = sys.get_tid().await;
    format!("task {tid}")
}

async fn greet(sys: &Sys, name: &str) {
    let me = whoami(sys).await; // a subroutine calling a subroutine
    sys.println(format_args!("{name}: hello from {me}"));
}

async fn worker(sys: Sys, name: &'static str, n: u32) {
    for _ in 0..n {
        greet(&sys, name).await;
    }
}

async fn main_task(sys: Sys) {
    let r = add(2, 2).await;
    sys.println(format_args!("add(2, 2) = {r}"));
    let child = sys.new_task(|sys| worker(sys, "worker", 2)).await;
    greet(&sys, "main").await;
    sys.wait_task(child).await;
    sys.println("main done");
}

/// Subroutines that make system calls (the course's trampolining).
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    let mut sched = Scheduler::new();
    sched.spawn(main_task);
    let outcome = sched.mainloop().map(drop).map_err(Error::writing_output);
    copipe::run::finish("sched_trampoline", outcome)
}
