//! The coroutine operating system of the seed's Part 7, "Let's Build an Operating System".
//!
//! The seed builds a multitasking "OS" in pure Python with no threads: a [`Task`] wraps a
//! coroutine, a [`Scheduler`] runs ready tasks round-robin, and `yield` is the trap into the
//! kernel, so a system call is a value the task yields and the kernel handles. Here tasks are
//! Rust `async` functions, and awaiting a system call is the trap:
//!
//! | seed (Python)                          | copipe (Rust)                                     |
//! |----------------------------------------|---------------------------------------------------|
//! | `class Task`, `task.run()`             | [`Task`], [`Task::run`]                           |
//! | `tid` (`Task.taskid`)                  | [`Tid`]                                           |
//! | `class Scheduler`                      | [`Scheduler`]                                     |
//! | `sched.new(foo())`                     | [`Scheduler::spawn`]`(foo)`                       |
//! | `sched.mainloop()`                     | [`Scheduler::mainloop`]                           |
//! | `exit()`, `waitforexit()`, `schedule()`| the kernel's `exit`, `wait_for_exit`, `schedule`  |
//! | `class SystemCall`, `handle()`         | [`SystemCall`] (one enum), the kernel's `handle`  |
//! | `sendval`                              | [`Reply`]                                         |
//! | bare `yield`                           | [`Sys::yield_now`] / [`yield_now`]                |
//! | `mytid = yield GetTid()`               | `let mytid = sys.get_tid().await;`                |
//! | `child = yield NewTask(foo())`         | `let child = sys.new_task(foo).await;`            |
//! | `yield KillTask(child)`                | `sys.kill_task(child).await` (drops the future: its `Drop` cleanup is the seed's `GeneratorExit`) |
//! | `yield WaitTask(child)`                | `sys.wait_task(child).await`                      |
//! | `print` inside a task                  | [`Sys::println`] (one [`Console`] for kernel and tasks) |
//!
//! Where the course goes next, and so does this module:
//!
//! - message passing by task id through the kernel: [`Sys::send`] and [`Sys::recv`]
//!   (`Send(tid, msg)`, `Recv()`), typed by the scheduler's message parameter `M`;
//! - waiting for I/O and time: [`Sys::read_wait`], [`Sys::write_wait`] (`ReadWait(f)`,
//!   `WriteWait(f)`) and [`Sys::sleep`]; the kernel sleeps in `poll(2)` when nothing is
//!   ready, and an [`echo`] server serves many clients with one task each;
//! - subroutines that make system calls, which need Beazley's "trampolining" in Python and
//!   are plain nested `async fn` calls here (the `sched_trampoline` example).
//!
//! The scheduler is its own small executor (no async runtime): a FIFO ready queue of task
//! ids, a task map, and the waiting areas. It does not use wakers: as in the seed, a task
//! becomes ready only when a system call's handler, or an I/O or timer event the kernel
//! watches, puts it back on the ready queue. The order of events is therefore exactly the
//! seed's: the `sched_*` examples are the seed's Part 7 programs, task for task, and the
//! tests check their output against the seed's printed results and against
//! `benches/sched/pyos.py`, the seed's scheduler ported to Python 3.
//!
//! ```
//! use copipe::sched::{Capture, Scheduler, Sys};
//!
//! async fn foo(sys: Sys) {
//!     let mytid = sys.get_tid().await;
//!     loop {
//!         sys.println(format_args!("I'm foo {mytid}"));
//!         sys.yield_now().await;
//!     }
//! }
//!
//! async fn main_task(sys: Sys) {
//!     let child = sys.new_task(foo).await; // Launch new task
//!     for _ in 0..2 {
//!         sys.yield_now().await;
//!     }
//!     sys.kill_task(child).await; // Kill the task
//!     sys.println("main done");
//! }
//!
//! let out = Capture::new();
//! let mut sched = Scheduler::with_output(out.clone());
//! sched.spawn(main_task);
//! sched.mainloop().unwrap();
//! assert_eq!(
//!     out.lines(),
//!     ["I'm foo 2", "I'm foo 2", "Task 2 terminated", "main done", "Task 1 terminated"]
//! );
//! ```

mod console;
pub mod echo;
mod io;
mod kernel;
mod syscall;
mod task;

pub use console::{Capture, Console};
pub use kernel::{Halt, Scheduler, Until};
pub use syscall::{yield_now, Call, Reply, Sys, SystemCall, YieldNow};
pub use task::{Coroutine, Task, Tid};

#[cfg(test)]
mod tests;
