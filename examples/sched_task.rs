//! The seed's Part 7, "Defining Tasks": a task is a coroutine with an id, run by hand.
//!
//! ```python
//! def foo():
//!     print "Part 1"
//!     yield
//!     print "Part 2"
//!     yield
//!
//! t1 = Task(foo())
//! print "Running foo()"
//! t1.run()
//! print "Resuming foo()"
//! t1.run()
//! ```
//!
//! The coroutine is an `async fn`; `yield_now().await` is the bare `yield`, and
//! [`Task::run`] polls it once, up to the next one. The seed's listing shows only `Part 1`
//! and `Part 2`; its code also prints `Running foo()` and `Resuming foo()`, and so does this.
//! One more `t1.run()` would finish the task: Python raises `StopIteration`, Rust's `run`
//! returns `Poll::Ready`.
//!
//! Run: `cargo run --example sched_task`

use std::process::ExitCode;

use clap::Parser;
use copipe::sched::{yield_now, Console, Task, Tid};
use copipe::Error;

async fn foo(console: Console) {
    console.println("Part 1");
    yield_now().await;
    console.println("Part 2");
    yield_now().await;
}

/// Run a task by hand (the seed's Part 7, Defining Tasks).
#[derive(Parser)]
#[command(version)]
struct Args {}

fn main() -> ExitCode {
    Args::parse();
    // One console for the tasks and this main, so the lines come out in the order they run.
    let console = Console::stdout();
    let mut t1: Task = Task::new(Tid(1), foo(console.clone()));
    console.println("Running foo()");
    let _ = t1.run();
    console.println("Resuming foo()");
    let _ = t1.run();
    console.flush();
    let outcome = console
        .take_error()
        .map_or(Ok(()), |e| Err(Error::writing_output(e)));
    copipe::run::finish("sched_task", outcome)
}
