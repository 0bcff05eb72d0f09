//! `Task`: a coroutine wrapped with an id, the seed's `class Task`.
//!
//! ```python
//! class Task(object):
//!     def __init__(self,target):
//!         Task.taskid += 1
//!         self.tid     = Task.taskid   # Task ID
//!         self.target  = target        # Target coroutine
//!         self.sendval = None          # Value to send
//!     def run(self):
//!         return self.target.send(self.sendval)
//! ```
//!
//! In Rust the coroutine is a boxed `Future`, and `run()` polls it once: the future runs until
//! it awaits a system call (or [`yield_now`](super::yield_now)), which returns `Pending`, the
//! seed's `yield`. The value to send back (`sendval`) is kept here and handed to the future
//! by the scheduler through the task's [`Sys`](super::Sys) handle on the next `run()`.
//!
//! One difference with Python: a finished `async fn` future must not be polled again (it
//! panics), whereas a finished generator raises `StopIteration` every time it is resumed. So
//! `target` becomes `None` when the future completes or is closed, and `run()` on such a
//! task reports it finished again instead of polling: the seed's `StopIteration`.

use std::collections::VecDeque;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use super::syscall::Reply;

/// A task id, the seed's `tid`: a small integer, unique within one scheduler.
///
/// Ids start at 1 and count up, as the seed's class counter `Task.taskid` does (but per
/// scheduler, so every scenario prints the same ids however many ran before it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tid(pub u64);

impl fmt::Display for Tid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The coroutine a task runs: any `'static` future with no result. Not `Send`: a scheduler
/// and its tasks live on one thread, as the seed's do ("no threads").
pub type Coroutine = Pin<Box<dyn Future<Output = ()>>>;

/// Where a task is, besides the task map. Every live task is in exactly one of these, which
/// is what lets `KillTask` find and release a task that is blocked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// On the ready queue.
    Ready,
    /// Being run, or its system call being handled (it is in no queue).
    Running,
    /// In the seed's `exit_waiting` area, waiting for this task to exit.
    WaitExit(Tid),
    /// Blocked in `Recv` with an empty mailbox.
    WaitMsg,
    /// Waiting for a descriptor (`ReadWait`/`WriteWait`).
    WaitIo,
    /// Sleeping; the number matches the entry on the timer heap, so that an entry left
    /// behind by a killed or re-sleeping task is recognised as stale.
    Sleeping(u64),
}

/// A coroutine with an id: the seed's `Task`.
///
/// A scheduler makes these (see [`Scheduler::spawn`](super::Scheduler::spawn)); `Task::new`
/// and [`Task::run`] are public so the seed's first example (running a task by hand) can be
/// written as it is in the seed.
pub struct Task<M = String> {
    tid: Tid,
    target: Option<Coroutine>,
    /// The system call result to deliver on the next run, tagged with the call's ticket.
    pub(crate) sendval: Option<(u64, Reply<M>)>,
    pub(crate) state: State,
    /// Messages sent to this task and not yet received (`Send`/`Recv`).
    pub(crate) mailbox: VecDeque<M>,
}

impl<M> Task<M> {
    /// Wraps `target` as task `tid`, the seed's `Task(target)`.
    pub fn new(tid: Tid, target: impl Future<Output = ()> + 'static) -> Task<M> {
        Task::from_boxed(tid, Box::pin(target))
    }

    pub(crate) fn from_boxed(tid: Tid, target: Coroutine) -> Task<M> {
        Task {
            tid,
            target: Some(target),
            sendval: None,
            state: State::Ready,
            mailbox: VecDeque::new(),
        }
    }

    /// The task's id.
    pub fn tid(&self) -> Tid {
        self.tid
    }

    /// Runs the task until its next `yield` (an awaited system call or
    /// [`yield_now`](super::yield_now)): the seed's `run()`.
    ///
    /// Returns `Poll::Pending` when the task yielded and `Poll::Ready(())` when it has
    /// finished (the seed's `StopIteration`), including every later call.
    pub fn run(&mut self) -> Poll<()> {
        let Some(target) = self.target.as_mut() else {
            return Poll::Ready(());
        };
        // The scheduler never relies on wakers: a task becomes ready only when a system call
        // handler (or an I/O or timer event the kernel watches) reschedules it, exactly as in
        // the seed. So a no-op waker is all a future needs.
        let mut cx = Context::from_waker(Waker::noop());
        match target.as_mut().poll(&mut cx) {
            Poll::Pending => Poll::Pending,
            Poll::Ready(()) => {
                self.target = None;
                Poll::Ready(())
            }
        }
    }

    /// Closes the coroutine, the seed's `target.close()`: the future is dropped, so its
    /// locals are dropped and their `Drop` impls (cleanup guards, sockets) run, as
    /// `GeneratorExit` runs a generator's `finally:` blocks. The next `run()` reports the
    /// task finished.
    pub fn close(&mut self) {
        self.target = None;
    }

    /// Whether the coroutine has finished or been closed.
    pub fn is_finished(&self) -> bool {
        self.target.is_none()
    }
}

impl<M> fmt::Debug for Task<M> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field("tid", &self.tid)
            .field("finished", &self.is_finished())
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sched::yield_now;
    use std::cell::Cell;
    use std::rc::Rc;

    #[test]
    fn run_steps_to_each_yield_then_reports_finished_forever() {
        let steps = Rc::new(Cell::new(0));
        let s = steps.clone();
        let mut t: Task = Task::new(Tid(1), async move {
            s.set(1);
            yield_now().await;
            s.set(2);
        });
        assert_eq!(t.run(), Poll::Pending);
        assert_eq!(steps.get(), 1);
        assert_eq!(t.run(), Poll::Ready(()));
        assert_eq!(steps.get(), 2);
        // A second resume of a finished async fn would panic; a Task does not poll it.
        assert_eq!(t.run(), Poll::Ready(()));
        assert!(t.is_finished());
    }

    #[test]
    fn close_drops_the_coroutine_and_runs_its_guards() {
        struct Guard(Rc<Cell<bool>>);
        impl Drop for Guard {
            fn drop(&mut self) {
                self.0.set(true);
            }
        }
        let dropped = Rc::new(Cell::new(false));
        let g = Guard(dropped.clone());
        let mut t: Task = Task::new(Tid(7), async move {
            let _g = g;
            loop {
                yield_now().await;
            }
        });
        assert_eq!(t.run(), Poll::Pending);
        assert!(!dropped.get());
        t.close();
        assert!(dropped.get());
        assert_eq!(t.run(), Poll::Ready(()));
        assert_eq!(format!("{}", t.tid()), "7");
    }
}
