//! The seed's Part 7, "Scheduler": two tasks that loop forever, taking turns.
//!
//! ```python
//! def foo():
//!     while True:
//!         print "I'm foo"
//!         yield
//!
//! def bar():
//!     while True:
//!         print "I'm bar"
//!         yield
//!
//! sched = Scheduler()
//! sched.new(foo())
//! sched.new(bar())
//! sched.mainloop()
//! ```
//!
//! `sched.new(foo())` is `sched.spawn(foo)`: the scheduler hands each task its system-call
//! handle `sys`. The seed's tasks never end, and neither do these: the seed shows the first
//! six lines, and so does this example unless given another number of task runs (`0` runs
//! forever, as the seed does; Ctrl-C or `| head` stops it).
//!
//! Run: `cargo run --example sched_scheduler [STEPS]`

use std::process::ExitCode;

use clap::Parser;
use copipe::sched::{Scheduler, Sys, Until};
use copipe::Error;

async fn foo(sys: Sys) {
    loop {
        sys.println("I'm foo");
        sys.yield_now().await;
    }
}

async fn bar(sys: Sys) {
    loop {
        sys.println("I'm bar");
        sys.yield_now().await;
    }
}

/// Two tasks taking turns forever (the seed's "Scheduler" example).
#[derive(Parser)]
#[command(version)]
struct Args {
    /// Task runs before stopping (the seed shows 6); 0 runs forever.
    #[arg(default_value_t = 6)]
    steps: u64,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut sched = Scheduler::new();
    sched.spawn(foo);
    sched.spawn(bar);
    let until = match args.steps {
        0 => Until::AllExited,
        n => Until::Steps(n),
    };
    let outcome = sched.run(until).map(drop).map_err(Error::writing_output);
    copipe::run::finish("sched_scheduler", outcome)
}
