//! The seed's Part 7, "Task Exit": tasks that end are reported by the scheduler's `exit()`.
//!
//! ```python
//! def foo():
//!     for i in xrange(3):
//!         print "I'm foo"
//!         yield
//!
//! def bar():
//!     for i in xrange(5):
//!         print "I'm bar"
//!         yield
//!
//! sched = Scheduler()
//! sched.new(foo())
//! sched.new(bar())
//! sched.mainloop()
//! ```
//!
//! A task ends by returning from its `async fn`; the kernel prints `Task N terminated`, where
//! the seed's `mainloop` catches `StopIteration` and calls `exit(task)`.
//!
//! Run: `cargo run --example sched_exit`

use std::process::ExitCode;

use clap::Parser;
use copipe::sched::{Scheduler, Sys};
use copipe::Error;

async fn foo(sys: Sys) {
    for _ in 0..3 {
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

/// Tasks that end are reported (the seed's Part 7, Task Exit).
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    let mut sched = Scheduler::new();
    sched.spawn(foo);
    sched.spawn(bar);
    let outcome = sched.mainloop().map(drop).map_err(Error::writing_output);
    copipe::run::finish("sched_exit", outcome)
}
