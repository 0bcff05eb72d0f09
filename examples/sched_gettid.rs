//! The seed's Part 7, "System Calls": `mytid = yield GetTid()`.
//!
//! ```python
//! def foo():
//!     mytid = yield GetTid()
//!     for i in xrange(5):
//!         print "I'm foo", mytid
//!         yield
//!
//! def bar():
//!     mytid = yield GetTid()
//!     for i in xrange(3):
//!         print "I'm bar", mytid
//!         yield
//!
//! sched = Scheduler()
//! sched.new(foo())
//! sched.new(bar())
//! sched.mainloop()
//! ```
//!
//! Yielding a `SystemCall` is awaiting one: `sys.get_tid().await` traps into the kernel,
//! whose handler puts the task id in the task's `sendval` and schedules it again.
//!
//! Run: `cargo run --example sched_gettid`

use std::process::ExitCode;

use clap::Parser;
use copipe::sched::{Scheduler, Sys};
use copipe::Error;

async fn foo(sys: Sys) {
    let mytid = sys.get_tid().await;
    for _ in 0..5 {
        sys.println(format_args!("I'm foo {mytid}"));
        sys.yield_now().await;
    }
}

async fn bar(sys: Sys) {
    let mytid = sys.get_tid().await;
    for _ in 0..3 {
        sys.println(format_args!("I'm bar {mytid}"));
        sys.yield_now().await;
    }
}

/// Tasks ask the kernel for their id (the seed's Part 7, System Calls).
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    let mut sched = Scheduler::new();
    sched.spawn(foo);
    sched.spawn(bar);
    let outcome = sched.mainloop().map(drop).map_err(Error::writing_output);
    copipe::run::finish("sched_gettid", outcome)
}
