//! The seed's Part 7, "Task Management": `NewTask` and `KillTask`.
//!
//! ```python
//! def foo():
//!     mytid = yield GetTid()
//!     while True:
//!         print "I'm foo", mytid
//!         yield
//!
//! def main():
//!     child = yield NewTask(foo())    # Launch new task
//!     for i in xrange(5):
//!         yield
//!     yield KillTask(child)           # Kill the task
//!     print "main done"
//!
//! sched = Scheduler()
//! sched.new(main())
//! sched.mainloop()
//! ```
//!
//! `KillTask` drops the child's future (the seed's `task.target.close()`). The killed task's
//! `Task 2 terminated` comes before `main done`: the kernel reschedules main behind foo, and
//! reports foo when it pulls it next, as the seed's scheduler does.
//!
//! Run: `cargo run --example sched_kill`

use std::process::ExitCode;

use clap::Parser;
use copipe::sched::{Scheduler, Sys};
use copipe::Error;

async fn foo(sys: Sys) {
    let mytid = sys.get_tid().await;
    loop {
        sys.println(format_args!("I'm foo {mytid}"));
        sys.yield_now().await;
    }
}

async fn main_task(sys: Sys) {
    let child = sys.new_task(foo).await; // Launch new task
    for _ in 0..5 {
        sys.yield_now().await;
    }
    sys.kill_task(child).await; // Kill the task
    sys.println("main done");
}

/// A task starts and kills another (the seed's Part 7, Task Management).
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    let mut sched = Scheduler::new();
    sched.spawn(main_task);
    let outcome = sched.mainloop().map(drop).map_err(Error::writing_output);
    copipe::run::finish("sched_kill", outcome)
}
