//! The seed's Part 7 examples, as functions: one per `if __name__ == '__main__':` block.
//!
//! The `sched_*` examples call these with stdout, and `tests/sched.rs` calls them with a
//! [`Capture`](super::Capture) and compares the lines with the results printed in the seed
//! and with `benches/sched/pyos.py`, the seed's scheduler ported to Python 3, which has the
//! same scenarios under the same names.
//!
//! Each function prints through one [`Console`], so the tasks' lines and the kernel's
//! `Task N terminated` lines come out in the order they happen, as the seed's `print`s do.

use std::io::{self, Write};
use std::process::ExitCode;

use super::console::Console;
use super::kernel::{Scheduler, Until};
use super::syscall::{yield_now, Sys};
use super::task::{Task, Tid};
use crate::error::{exit_status, Error};

/// Scenario names, in the seed's order, then the ones beyond the seed. `pyos.py scenario NAME`
/// runs the Python version of each.
pub const SCENARIOS: &[&str] = &[
    "task",
    "scheduler",
    "exit",
    "gettid",
    "kill",
    "nowait",
    "wait",
    "message",
    "trampoline",
];

/// Default number of steps for [`scheduler`]: the six lines the seed shows.
pub const SCHEDULER_STEPS: u64 = 6;

/// Runs the scenario called `name` (see [`SCENARIOS`]) writing to `out`; `None` if there is
/// no such scenario. The never-ending `scheduler` scenario runs [`SCHEDULER_STEPS`] steps.
pub fn run(name: &str, out: impl Write + 'static) -> Option<io::Result<()>> {
    Some(match name {
        "task" => task(out),
        "scheduler" => scheduler(out, SCHEDULER_STEPS),
        "exit" => exit(out),
        "gettid" => gettid(out),
        "kill" => kill(out),
        "nowait" => nowait(out),
        "wait" => wait(out),
        "message" => message(out),
        "trampoline" => trampoline(out),
        _ => return None,
    })
}

/// The `main` of the `sched_NAME` examples: runs scenario `name` on stdout and maps errors
/// to an exit code. `args` are the example's arguments: the `scheduler` scenario takes an
/// optional step count (default [`SCHEDULER_STEPS`]); the others take none.
pub fn example_main(name: &str, args: impl IntoIterator<Item = String>) -> ExitCode {
    let args: Vec<String> = args.into_iter().collect();
    let program = format!("sched_{name}");
    let result = match (name, args.as_slice()) {
        ("scheduler", [steps]) => {
            if let Ok(steps) = steps.parse::<u64>() {
                scheduler(io::stdout(), steps)
            } else {
                let e = format!("STEPS must be a whole number, got {steps:?}");
                return exit_status(&program, Err(Error::Usage(e)));
            }
        }
        (_, []) => {
            if let Some(result) = run(name, io::stdout()) {
                result
            } else {
                let e = format!("no such scenario (known: {SCENARIOS:?})");
                return exit_status(&program, Err(Error::Usage(e)));
            }
        }
        _ => {
            let usage = if name == "scheduler" { " [STEPS]" } else { "" };
            let e = format!("usage: sched_{name}{usage}");
            return exit_status(&program, Err(Error::Usage(e)));
        }
    };
    let outcome = result.map(|()| 0).map_err(Error::writing_output);
    exit_status(&program, outcome)
}

fn finish(console: &Console) -> io::Result<()> {
    console.flush();
    console.take_error().map_or(Ok(()), Err)
}

fn mainloop(sched: &mut Scheduler) -> io::Result<()> {
    sched.mainloop().map(|_| ())
}

/// "Defining Tasks": a task run by hand with `t1.run()`.
///
/// ```python
/// def foo():
///     print "Part 1"
///     yield
///     print "Part 2"
///     yield
/// t1 = Task(foo())
/// print "Running foo()"
/// t1.run()
/// print "Resuming foo()"
/// t1.run()
/// ```
///
/// The seed's printed result shows only `Part 1` and `Part 2`; the code also prints
/// `Running foo()` and `Resuming foo()` around them, and so does this function.
pub fn task(out: impl Write + 'static) -> io::Result<()> {
    async fn foo(console: Console) {
        console.println("Part 1");
        yield_now().await;
        console.println("Part 2");
        yield_now().await;
    }
    let console = Console::new(out);
    let mut t1: Task = Task::new(Tid(1), foo(console.clone()));
    console.println("Running foo()");
    let _ = t1.run();
    console.println("Resuming foo()");
    let _ = t1.run();
    // One more t1.run() would finish the task (the seed's StopIteration): it returns
    // Poll::Ready instead of raising.
    finish(&console)
}

/// "Scheduler": two tasks that loop forever, alternating. The seed's tasks never end, so this
/// stops after `steps` task runs (each prints one line); the seed shows 6.
///
/// ```python
/// def foo():
///     while True:
///         print "I'm foo"
///         yield
/// ```
pub fn scheduler(out: impl Write + 'static, steps: u64) -> io::Result<()> {
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
    let mut sched: Scheduler = Scheduler::with_output(out);
    sched.spawn(foo);
    sched.spawn(bar);
    sched.run(Until::Steps(steps))?;
    Ok(())
}

/// "Task Exit": tasks that end are reported `Task N terminated` by the scheduler's `exit()`.
///
/// ```python
/// def foo():
///     for i in xrange(3):
///         print "I'm foo"
///         yield
/// def bar():
///     for i in xrange(5):
///         print "I'm bar"
///         yield
/// ```
pub fn exit(out: impl Write + 'static) -> io::Result<()> {
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
    let mut sched: Scheduler = Scheduler::with_output(out);
    sched.spawn(foo);
    sched.spawn(bar);
    mainloop(&mut sched)
}

/// "System Calls": `mytid = yield GetTid()`.
///
/// ```python
/// def foo():
///     mytid = yield GetTid()
///     for i in xrange(5):
///         print "I'm foo", mytid
///         yield
/// ```
pub fn gettid(out: impl Write + 'static) -> io::Result<()> {
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
    let mut sched: Scheduler = Scheduler::with_output(out);
    sched.spawn(foo);
    sched.spawn(bar);
    mainloop(&mut sched)
}

/// "Task Management": `NewTask` and `KillTask`.
///
/// ```python
/// def main():
///     child = yield NewTask(foo())    # Launch new task
///     for i in xrange(5):
///         yield
///     yield KillTask(child)           # Kill the task
///     print "main done"
/// ```
///
/// The killed task's `Task 2 terminated` comes before `main done`: `KillTask` closes foo and
/// reschedules main behind it, and foo is reported when the scheduler pulls it next.
pub fn kill(out: impl Write + 'static) -> io::Result<()> {
    async fn foo(sys: Sys) {
        let mytid = sys.get_tid().await;
        loop {
            sys.println(format_args!("I'm foo {mytid}"));
            sys.yield_now().await;
        }
    }
    async fn main(sys: Sys) {
        let child = sys.new_task(foo).await;
        for _ in 0..5 {
            sys.yield_now().await;
        }
        sys.kill_task(child).await;
        sys.println("main done");
    }
    let mut sched: Scheduler = Scheduler::with_output(out);
    sched.spawn(main);
    mainloop(&mut sched)
}

async fn foo5(sys: Sys) {
    for _ in 0..5 {
        sys.println("I'm foo");
        sys.yield_now().await;
    }
}

async fn bar5(sys: Sys) {
    for _ in 0..5 {
        sys.println("I'm bar");
        sys.yield_now().await;
    }
}

/// "Waiting for Tasks", first version: main starts two children and ends without waiting.
///
/// ```python
/// def main():
///     child = yield NewTask(foo())
///     child2 = yield NewTask(bar())
/// ```
pub fn nowait(out: impl Write + 'static) -> io::Result<()> {
    async fn main(sys: Sys) {
        let _child = sys.new_task(foo5).await;
        let _child2 = sys.new_task(bar5).await;
    }
    let mut sched: Scheduler = Scheduler::with_output(out);
    sched.spawn(main);
    mainloop(&mut sched)
}

/// "Waiting for Tasks" with `WaitTask`: main sleeps in `exit_waiting` until foo exits.
///
/// ```python
/// def main():
///     child = yield NewTask(foo())
///     print "Waiting for child"
///     yield WaitTask(child)
///     print "Child done"
///     child2 = yield NewTask(bar())
/// ```
pub fn wait(out: impl Write + 'static) -> io::Result<()> {
    async fn main(sys: Sys) {
        let child = sys.new_task(foo5).await;
        sys.println("Waiting for child");
        sys.wait_task(child).await;
        sys.println("Child done");
        let _child2 = sys.new_task(bar5).await;
    }
    let mut sched: Scheduler = Scheduler::with_output(out);
    sched.spawn(main);
    mainloop(&mut sched)
}

/// Beyond the seed ("Task communication ... only by task ID, through the scheduler"):
/// ping-pong with `Send(tid, msg)` and `Recv()`.
///
/// ```python
/// def pong(peer):
///     while True:
///         msg = yield Recv()
///         if msg == "stop":
///             print "pong stops"
///             break
///         print "pong got", msg
///         yield Send(peer, msg.replace("ping", "pong"))
/// ```
pub fn message(out: impl Write + 'static) -> io::Result<()> {
    async fn pong(sys: Sys, peer: Tid) {
        loop {
            let msg = sys.recv().await;
            if msg == "stop" {
                sys.println("pong stops");
                break;
            }
            sys.println(format_args!("pong got {msg}"));
            sys.send(peer, msg.replace("ping", "pong")).await;
        }
    }
    async fn main(sys: Sys) {
        let me = sys.get_tid().await;
        let child = sys.new_task(move |sys| pong(sys, me)).await;
        for i in 0..3 {
            sys.send(child, format!("ping {i}")).await;
            let reply = sys.recv().await;
            sys.println(format_args!("main got {reply}"));
        }
        sys.send(child, "stop".to_owned()).await;
        sys.wait_task(child).await;
        let sent = sys.send(child, "anyone?".to_owned()).await;
        sys.println(format_args!("send to exited task: {sent}"));
        sys.println("main done");
    }
    let mut sched: Scheduler = Scheduler::with_output(out);
    sched.spawn(main);
    mainloop(&mut sched)
}

/// Beyond the seed: subroutines that make system calls (the course's "trampolining").
///
/// In Python a generator cannot call a generator that yields to the scheduler; Beazley's
/// `Task.run` keeps a stack of generators and "trampolines" between them. A Rust `async fn`
/// awaiting another `async fn` already is such a stack: a system call made three calls deep
/// traps straight into the kernel and its reply comes back to the same place.
///
/// ```python
/// def whoami():
///     tid = yield GetTid()
///     yield "task %d" % tid
/// def greet(name):
///     me = yield whoami()          # a subroutine calling a subroutine
///     print "%s: hello from %s" % (name, me)
/// ```
pub fn trampoline(out: impl Write + 'static) -> io::Result<()> {
    #[allow(clippy::unused_async)] // the seed's point: a coroutine calling a coroutine
    async fn add(x: i64, y: i64) -> i64 {
        x + y
    }
    async fn whoami(sys: &Sys) -> String {
        let tid = sys.get_tid().await;
        format!("task {tid}")
    }
    async fn greet(sys: &Sys, name: &str) {
        let me = whoami(sys).await;
        sys.println(format_args!("{name}: hello from {me}"));
    }
    async fn worker(sys: Sys, name: &'static str, n: u32) {
        for _ in 0..n {
            greet(&sys, name).await;
        }
    }
    async fn main(sys: Sys) {
        let r = add(2, 2).await;
        sys.println(format_args!("add(2, 2) = {r}"));
        let child = sys.new_task(|sys| worker(sys, "worker", 2)).await;
        greet(&sys, "main").await;
        sys.wait_task(child).await;
        sys.println("main done");
    }
    let mut sched: Scheduler = Scheduler::with_output(out);
    sched.spawn(main);
    mainloop(&mut sched)
}
