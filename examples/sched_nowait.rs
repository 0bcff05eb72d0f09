//! The seed's Part 7, "Waiting for Tasks", first version: main starts two children and ends
//! without waiting for them.
//!
//! ```python
//! def foo():
//!     for i in xrange(5):
//!         print "I'm foo"
//!         yield
//!
//! def bar():
//!     for i in xrange(5):
//!         print "I'm bar"
//!         yield
//!
//! def main():
//!     child = yield NewTask(foo())
//!     child2 = yield NewTask(bar())
//!
//! sched = Scheduler()
//! sched.new(main())
//! sched.mainloop()
//! ```
//!
//! Run: `cargo run --example sched_nowait` (and `sched_wait` for the version with `WaitTask`).

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
    let _child = sys.new_task(foo).await;
    let _child2 = sys.new_task(bar).await;
}

/// A task starts two others and ends (the seed's Part 7, Waiting for Tasks).
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    let mut sched = Scheduler::new();
    sched.spawn(main_task);
    let outcome = sched.mainloop().map(drop).map_err(Error::writing_output);
    copipe::run::finish("sched_nowait", outcome)
}
