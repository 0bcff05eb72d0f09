//! System calls: what a task yields to ask the kernel for something.
//!
//! In the seed a task traps into the kernel by yielding a `SystemCall` instance
//! (`mytid = yield GetTid()`); the scheduler sees it, sets `result.task` and `result.sched`,
//! calls `result.handle()`, and the handler decides when the task runs again and with what
//! `sendval`. Here a task awaits a system call through its [`Sys`] handle
//! (`let mytid = sys.get_tid().await;`):
//!
//! 1. The [`Call`] future, on its first poll, stores the [`SystemCall`] in the trap cell it
//!    shares with the kernel and returns `Pending`: the task's `yield`.
//! 2. The scheduler finds the request after the poll and handles it (the seed's `handle()`),
//!    storing the result as the task's `sendval` and rescheduling it (or not).
//! 3. On the task's next run the scheduler puts the `sendval` in the trap cell; the `Call`
//!    is polled again, takes its [`Reply`], and returns it: the value of the `yield`.
//!
//! Every request carries a ticket and every reply the ticket of its request, so a reply can
//! only ever be taken by the call that asked for it (even if a task polls two calls at once,
//! e.g. with a hand-written join).
//!
//! The seed's class hierarchy (`class GetTid(SystemCall)`, ...) becomes one enum,
//! [`SystemCall`], and the handlers one `match` in the scheduler.

use std::cell::Cell;
use std::fmt;
use std::future::Future;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::Duration;

use super::console::Console;
use super::task::{Coroutine, Tid};

/// A request from a task to the kernel: the seed's `SystemCall` subclasses, plus the ones the
/// course adds next (I/O waiting) and message passing.
pub enum SystemCall<M> {
    /// `GetTid()`: the caller's own task id. Replies [`Reply::Tid`].
    GetTid,
    /// `NewTask(target)`: start a new task; it is scheduled before the caller resumes.
    /// Replies [`Reply::Tid`] with the new task's id.
    NewTask(Coroutine),
    /// `KillTask(tid)`: close a task (its coroutine is dropped, its cleanup runs); it is
    /// reported terminated when the scheduler next pulls it from the ready queue. Replies
    /// [`Reply::Bool`]: whether the task existed.
    KillTask(Tid),
    /// `WaitTask(tid)`: wait for a task to exit. Replies [`Reply::Bool`]: `false` at once if
    /// there is no such task (or it is the caller itself, which could never happen), `true`
    /// after it exits.
    WaitTask(Tid),
    /// `Send(tid, msg)`: queue a message for a task, waking it if it waits in `Recv`.
    /// Replies [`Reply::Bool`]: whether the task exists (a message to an exited task is dropped).
    Send(Tid, M),
    /// `Recv()`: the oldest message sent to the caller, waiting for one if there is none.
    /// Replies [`Reply::Msg`].
    Recv,
    /// `ReadWait(fd)`: wait until the descriptor is readable (or at end of file or in error).
    /// Replies [`Reply::Unit`].
    ReadWait(RawFd),
    /// `WriteWait(fd)`: wait until the descriptor is writable (or in error). Replies
    /// [`Reply::Unit`].
    WriteWait(RawFd),
    /// `Sleep(duration)`: wait at least this long. Replies [`Reply::Unit`].
    Sleep(Duration),
}

impl<M> fmt::Debug for SystemCall<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SystemCall::GetTid => f.write_str("GetTid"),
            SystemCall::NewTask(_) => f.write_str("NewTask(..)"),
            SystemCall::KillTask(t) => write!(f, "KillTask({t})"),
            SystemCall::WaitTask(t) => write!(f, "WaitTask({t})"),
            SystemCall::Send(t, _) => write!(f, "Send({t}, ..)"),
            SystemCall::Recv => f.write_str("Recv"),
            SystemCall::ReadWait(fd) => write!(f, "ReadWait({fd})"),
            SystemCall::WriteWait(fd) => write!(f, "WriteWait({fd})"),
            SystemCall::Sleep(d) => write!(f, "Sleep({d:?})"),
        }
    }
}

/// What a system call returns to the task: the seed's `sendval`.
#[derive(Debug, PartialEq, Eq)]
pub enum Reply<M> {
    /// No value (`ReadWait`, `WriteWait`, `Sleep`).
    Unit,
    /// A task id (`GetTid`, `NewTask`).
    Tid(Tid),
    /// A yes/no answer (`KillTask`, `WaitTask`, `Send`).
    Bool(bool),
    /// A message (`Recv`).
    Msg(M),
}

/// The cell a scheduler shares with its tasks: the "trap" through which a request goes in
/// and a reply comes out. Only one task runs at a time, so one cell serves them all.
pub(crate) struct Trap<M> {
    pub(crate) request: Cell<Option<(u64, SystemCall<M>)>>,
    pub(crate) reply: Cell<Option<(u64, Reply<M>)>>,
    next_ticket: Cell<u64>,
    pub(crate) console: Console,
}

impl<M> Trap<M> {
    pub(crate) fn new(console: Console) -> Trap<M> {
        Trap {
            request: Cell::new(None),
            reply: Cell::new(None),
            next_ticket: Cell::new(0),
            console,
        }
    }
}

/// A task's handle on the kernel: the only way it can reach the scheduler, as `yield` is
/// the only interface in the seed ("tasks do not see the scheduler"). Every system call is an
/// `async` method to await.
///
/// Cheap to clone. A `Sys` belongs to the scheduler that made it: awaiting its calls in a
/// task of another scheduler (or outside any) never completes.
pub struct Sys<M = String> {
    trap: Rc<Trap<M>>,
}

impl<M> Clone for Sys<M> {
    fn clone(&self) -> Self {
        Sys {
            trap: self.trap.clone(),
        }
    }
}

impl<M: 'static> Sys<M> {
    pub(crate) fn new(trap: Rc<Trap<M>>) -> Sys<M> {
        Sys { trap }
    }

    /// Traps into the kernel with any system call and returns its raw [`Reply`]. The typed
    /// methods below are the usual way in.
    pub fn call(&self, call: SystemCall<M>) -> Call<'_, M> {
        Call {
            trap: &self.trap,
            request: Some(call),
            ticket: 0,
        }
    }

    /// `yield GetTid()`: the caller's task id.
    pub async fn get_tid(&self) -> Tid {
        loop {
            // The reply to a GetTid is always a Tid (tickets pair replies with requests);
            // asking again is the panic-free answer to the impossible other case.
            if let Reply::Tid(tid) = self.call(SystemCall::GetTid).await {
                return tid;
            }
        }
    }

    /// `yield NewTask(target)`: starts `f(sys)` as a new task and returns its id. The new
    /// task is scheduled before the caller resumes, as in the seed.
    pub async fn new_task<F, Fut>(&self, f: F) -> Tid
    where
        F: FnOnce(Sys<M>) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        let target: Coroutine = Box::pin(f(self.clone()));
        match self.call(SystemCall::NewTask(target)).await {
            Reply::Tid(tid) => tid,
            // Unreachable (tickets pair each reply with its request, and a NewTask is always
            // answered with a Tid); 0 is never a task id.
            _ => Tid(0),
        }
    }

    /// `yield KillTask(tid)`: closes the task; its cleanup (`Drop`) runs now. `false` if
    /// there is no such task.
    pub async fn kill_task(&self, tid: Tid) -> bool {
        matches!(
            self.call(SystemCall::KillTask(tid)).await,
            Reply::Bool(true)
        )
    }

    /// `yield WaitTask(tid)`: waits for the task to exit. `false` at once if there is no such
    /// task (or `tid` is the caller's own).
    pub async fn wait_task(&self, tid: Tid) -> bool {
        matches!(
            self.call(SystemCall::WaitTask(tid)).await,
            Reply::Bool(true)
        )
    }

    /// `yield Send(tid, msg)`: queues `msg` for task `tid`. `false` if there is no such task.
    pub async fn send(&self, tid: Tid, msg: M) -> bool {
        matches!(
            self.call(SystemCall::Send(tid, msg)).await,
            Reply::Bool(true)
        )
    }

    /// `yield Recv()`: the oldest message sent to this task, waiting for one if needed.
    pub async fn recv(&self) -> M {
        loop {
            if let Reply::Msg(msg) = self.call(SystemCall::Recv).await {
                return msg;
            }
        }
    }

    /// `yield ReadWait(f)`: waits until `fd` is readable (data, end of file, or an error to
    /// collect). The descriptor should be nonblocking, so that a spurious wake-up costs a
    /// `WouldBlock` and not a blocked scheduler.
    pub async fn read_wait(&self, fd: &impl AsFd) {
        self.call(SystemCall::ReadWait(fd.as_fd().as_raw_fd()))
            .await;
    }

    /// `yield WriteWait(f)`: waits until `fd` is writable (or in error).
    pub async fn write_wait(&self, fd: &impl AsFd) {
        self.call(SystemCall::WriteWait(fd.as_fd().as_raw_fd()))
            .await;
    }

    /// Sleeps for at least `duration`, letting other tasks run.
    pub async fn sleep(&self, duration: Duration) {
        self.call(SystemCall::Sleep(duration)).await;
    }

    /// The seed's bare `yield`: lets every other ready task run once, then continues.
    pub async fn yield_now(&self) {
        yield_now().await;
    }

    /// Prints a line on the scheduler's console, the seed's `print` inside a task. Tasks print
    /// here rather than to stdout so that their lines and the kernel's `Task N terminated`
    /// lines land in one writer in the order they happen.
    pub fn println(&self, line: impl fmt::Display) {
        self.trap.console.println(line);
    }

    /// The scheduler's console.
    pub fn console(&self) -> &Console {
        &self.trap.console
    }
}

/// An awaited system call (see [`Sys::call`]): returns `Pending` once, to trap into the
/// kernel, then the kernel's [`Reply`].
///
/// Once the first poll has trapped, the call is the kernel's: dropping the future before the
/// reply (say, from a hand-written select) does not cancel it, and its reply is discarded. A
/// `Recv` abandoned that way loses the message it received, as a `read(2)` whose caller
/// ignores the result loses its bytes.
#[must_use = "a system call does nothing until awaited"]
pub struct Call<'a, M> {
    trap: &'a Trap<M>,
    request: Option<SystemCall<M>>,
    /// 0 until issued; tickets start at 1.
    ticket: u64,
}

// `Call` never pins its fields (the request is moved out by value), so it is `Unpin` whatever
// the message type is.
impl<M> Unpin for Call<'_, M> {}

impl<M> Future for Call<'_, M> {
    type Output = Reply<M>;

    fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Reply<M>> {
        let this = self.get_mut();
        if let Some(call) = this.request.take() {
            let earlier = this.trap.request.take();
            if earlier.is_some() {
                // Another call of this task trapped during this same run: the kernel handles
                // one request per run, so this one waits for the next.
                this.trap.request.set(earlier);
                this.request = Some(call);
                return Poll::Pending;
            }
            let ticket = this.trap.next_ticket.get().wrapping_add(1).max(1);
            this.trap.next_ticket.set(ticket);
            this.ticket = ticket;
            this.trap.request.set(Some((ticket, call)));
            return Poll::Pending;
        }
        match this.trap.reply.take() {
            Some((ticket, reply)) if ticket == this.ticket => Poll::Ready(reply),
            other => {
                this.trap.reply.set(other);
                Poll::Pending
            }
        }
    }
}

/// The seed's bare `yield`: returns `Pending` once (no system call), so the scheduler puts
/// the task at the back of the ready queue, then completes. Needs no [`Sys`]: it works in a
/// task run by hand with [`Task::run`](super::Task::run) too.
pub fn yield_now() -> YieldNow {
    YieldNow { yielded: false }
}

/// Future returned by [`yield_now`].
#[must_use = "yield_now does nothing until awaited"]
#[derive(Debug)]
pub struct YieldNow {
    yielded: bool,
}

impl Future for YieldNow {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<()> {
        if self.yielded {
            Poll::Ready(())
        } else {
            self.yielded = true;
            Poll::Pending
        }
    }
}
