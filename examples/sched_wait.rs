//! The seed's Part 7, "Waiting for Tasks", with `WaitTask`: main sleeps until foo exits.
//!
//! ```python
//! def main():
//!     child = yield NewTask(foo())
//!     print "Waiting for child"
//!     yield WaitTask(child)
//!     print "Child done"
//!     child2 = yield NewTask(bar())
//! ```
//!
//! (`foo` and `bar` print five times each, as in `sched_nowait`.) `sys.wait_task(child)`
//! parks main in the kernel's `exit_waiting` area; foo's exit puts it back on the ready queue.
//!
//! Run: `cargo run --example sched_wait`

use std::process::ExitCode;

use clap::Parser;
use copipe::sched::{Scheduler, Sys};
use copipe::Error;

async fn foo(sys: Sys) {
    for _ in 0..5 {
        sys.println("I'm foo");
        sys.yield_now().await;
    }
}

async fn bar(sys: Sys) {
    for _ in 0..5 {
        sys.println("I'm bar");
        sys.yield_now().await;
    }
}

async fn main_task(sys: Sys) {
    let child = sys.new_task(foo).await;
    sys.println("Waiting for child");
    sys.wait_task(child).await;
    sys.println("Child done");
    let _child2 = sys.new_task(bar).await;
}

/// A task waits for its child to exit (the seed's Part 7, Waiting for Tasks).
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    let mut sched = Scheduler::new();
    sched.spawn(main_task);
    let outcome = sched.mainloop().map(drop).map_err(Error::writing_output);
    copipe::run::finish("sched_wait", outcome)
}
