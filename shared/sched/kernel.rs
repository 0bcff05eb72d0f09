//! `Scheduler`: the kernel, the seed's `class Scheduler`.
//!
//! ```python
//! class Scheduler(object):
//!     def __init__(self):
//!         self.ready   = Queue()
//!         self.taskmap = {}
//!         self.exit_waiting = {}
//!     def new(self,target): ...
//!     def exit(self,task): ...
//!     def waitforexit(self,task,waittid): ...
//!     def schedule(self,task):
//!         self.ready.put(task)
//!     def mainloop(self):
//!          while self.taskmap:
//!             task = self.ready.get()
//!             try:
//!                 result = task.run()
//!                 if isinstance(result,SystemCall):
//!                     result.task  = task
//!                     result.sched = self
//!                     result.handle()
//!                     continue
//!             except StopIteration:
//!                 self.exit(task)
//!                 continue
//!             self.schedule(task)
//! ```
//!
//! The same structure, field for field: a FIFO ready queue (of task ids), the task map, the
//! `exit_waiting` area, and a main loop that pulls a task, runs it to its next yield, and
//! either reschedules it (a bare yield), reports it terminated (it finished), or hands its
//! system call to the matching handler, which alone decides when the task runs again. That
//! rule is what makes the output order match the seed's line for line; the `sched_*`
//! examples run the seed's scenarios.
//!
//! Beyond the seed: message passing (`Send`/`Recv`), I/O and timer waiting areas, a way to
//! stop the loop early ([`Until`]), and deadlock detection where the seed's
//! `self.ready.get()` would block forever.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Write};
use std::rc::Rc;
use std::task::Poll;
use std::time::Instant;

use super::console::Console;
use super::io::{Interest, IoWaiting, Timers};
use super::syscall::{Reply, Sys, SystemCall, Trap};
use super::task::{Coroutine, State, Task, Tid};

/// When [`Scheduler::run`] should return.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// When every task has exited: the seed's `while self.taskmap:`.
    AllExited,
    /// After this many task runs (each one "run to the next yield"). Stops the seed's
    /// never-ending examples.
    Steps(u64),
    /// When this task has exited, like a process whose `main` returns: the other tasks stay
    /// in the scheduler (dropping it closes them).
    Exited(Tid),
}

/// Why [`Scheduler::run`] returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Halt {
    /// No task is left.
    AllExited,
    /// The step limit of [`Until::Steps`] was reached.
    StepLimit,
    /// The task of [`Until::Exited`] has exited (or never existed).
    Exited(Tid),
    /// Tasks remain but none can ever run again: nothing is ready, and none waits for I/O or
    /// a timer (they wait for each other, or for messages nobody can send). The seed's
    /// `self.ready.get()` would block forever here. The ids are in increasing order.
    Deadlock(Vec<Tid>),
}

/// A hasher for task ids: they are distinct small integers, so one multiplication spreads
/// them well and costs far less than `SipHash` on the hot path (one lookup per task switch).
#[derive(Default, Clone, Copy)]
pub(crate) struct TidHasher(u64);

impl Hasher for TidHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

type TidMap<V> = HashMap<Tid, V, BuildHasherDefault<TidHasher>>;

/// The seed's `taskmap`, stored so that a task switch needs no hashing: tasks live in slots
/// of a vector (freed slots are reused), the ready queue holds slot numbers, and an index
/// maps task ids to slots for the system calls that name a task.
///
/// A slot is never freed while it is on the ready queue: a task is reaped only when the
/// scheduler has just pulled it off the queue, and a task is on the queue at most once.
struct TaskTable<M> {
    slots: Vec<Option<Task<M>>>,
    free: Vec<usize>,
    index: TidMap<usize>,
}

impl<M> Default for TaskTable<M> {
    fn default() -> Self {
        TaskTable {
            slots: Vec::new(),
            free: Vec::new(),
            index: TidMap::default(),
        }
    }
}

impl<M> TaskTable<M> {
    fn insert(&mut self, task: Task<M>) -> usize {
        let tid = task.tid();
        let slot = if let Some(slot) = self.free.pop() {
            self.slots[slot] = Some(task);
            slot
        } else {
            self.slots.push(Some(task));
            self.slots.len() - 1
        };
        self.index.insert(tid, slot);
        slot
    }

    fn slot_of(&self, tid: Tid) -> Option<usize> {
        self.index.get(&tid).copied()
    }

    fn slot_mut(&mut self, slot: usize) -> Option<&mut Task<M>> {
        self.slots.get_mut(slot).and_then(Option::as_mut)
    }

    fn get(&self, tid: Tid) -> Option<&Task<M>> {
        let slot = self.slot_of(tid)?;
        self.slots.get(slot).and_then(Option::as_ref)
    }

    fn get_mut(&mut self, tid: Tid) -> Option<&mut Task<M>> {
        let slot = self.slot_of(tid)?;
        self.slot_mut(slot)
    }

    fn contains_key(&self, tid: Tid) -> bool {
        self.index.contains_key(&tid)
    }

    fn remove(&mut self, tid: Tid) -> Option<Task<M>> {
        let slot = self.index.remove(&tid)?;
        let task = self.slots.get_mut(slot)?.take();
        self.free.push(slot);
        task
    }

    fn len(&self) -> usize {
        self.index.len()
    }

    fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    fn keys(&self) -> impl Iterator<Item = &Tid> {
        self.index.keys()
    }
}

/// The kernel: runs tasks round-robin and handles their system calls. The seed's `Scheduler`.
///
/// `M` is the type of the messages tasks exchange with `Send`/`Recv`.
///
/// A scheduler and its tasks live on one thread (tasks are not `Send`), as the seed's
/// "no threads, no subprocesses" operating system does. Dropping the scheduler drops
/// (closes) every task left in it.
///
/// ```
/// use copipe::sched::{Capture, Scheduler, Sys};
///
/// async fn foo(sys: Sys) {
///     let mytid = sys.get_tid().await;
///     for _ in 0..2 {
///         sys.println(format_args!("I'm foo {mytid}"));
///         sys.yield_now().await;
///     }
/// }
///
/// let out = Capture::new();
/// let mut sched = Scheduler::with_output(out.clone());
/// sched.spawn(foo);
/// sched.mainloop().unwrap();
/// assert_eq!(out.lines(), ["I'm foo 1", "I'm foo 1", "Task 1 terminated"]);
/// ```
pub struct Scheduler<M = String> {
    /// Tasks ready to run, in order: the seed's `self.ready` (as slots of `taskmap`).
    ready: VecDeque<usize>,
    /// Every live task: the seed's `self.taskmap`.
    taskmap: TaskTable<M>,
    /// Tasks waiting for another's exit: the seed's `self.exit_waiting`.
    exit_waiting: TidMap<Vec<Tid>>,
    io: IoWaiting,
    timers: Timers,
    /// Tasks in the `Sleeping` state (the timer heap may also hold stale entries).
    sleepers: usize,
    /// Task runs left before the next non-blocking look at I/O and timers.
    round_left: usize,
    trap: Rc<Trap<M>>,
    console: Console,
    last_tid: u64,
}

impl<M: 'static> Default for Scheduler<M> {
    fn default() -> Self {
        Scheduler::new()
    }
}

impl<M: 'static> Scheduler<M> {
    /// A scheduler printing to standard output, like the seed's.
    pub fn new() -> Scheduler<M> {
        Scheduler::with_console(Console::stdout())
    }

    /// A scheduler printing to `out` (tasks print there too, through [`Sys::println`]).
    pub fn with_output(out: impl Write + 'static) -> Scheduler<M> {
        Scheduler::with_console(Console::new(out))
    }

    /// A scheduler printing to an existing console, e.g. one shared with code outside it.
    pub fn with_console(console: Console) -> Scheduler<M> {
        Scheduler {
            ready: VecDeque::new(),
            taskmap: TaskTable::default(),
            exit_waiting: TidMap::default(),
            io: IoWaiting::default(),
            timers: Timers::default(),
            sleepers: 0,
            round_left: 0,
            trap: Rc::new(Trap::new(console.clone())),
            console,
            last_tid: 0,
        }
    }

    /// The console the kernel and its tasks print to.
    pub fn console(&self) -> &Console {
        &self.console
    }

    /// A system call handle for this scheduler, for building a task's future by hand (see
    /// [`Scheduler::spawn_future`]).
    pub fn sys(&self) -> Sys<M> {
        Sys::new(self.trap.clone())
    }

    /// Introduces a new task running `f(sys)` and schedules it: the seed's
    /// `sched.new(target)`. Returns its id.
    ///
    /// Taking a function of the task's [`Sys`] handle (rather than a ready-made future) lets
    /// `async fn foo(sys: Sys)` be passed as plain `foo`.
    pub fn spawn<F, Fut>(&mut self, f: F) -> Tid
    where
        F: FnOnce(Sys<M>) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        let target = f(self.sys());
        self.new_task(Box::pin(target))
    }

    /// Introduces a new task running `target`, which was built with this scheduler's
    /// [`Scheduler::sys`] (or makes no system calls).
    pub fn spawn_future(&mut self, target: impl Future<Output = ()> + 'static) -> Tid {
        self.new_task(Box::pin(target))
    }

    /// The seed's `new()`: a task with the next id, in the task map and on the ready queue.
    fn new_task(&mut self, target: Coroutine) -> Tid {
        self.last_tid += 1;
        let tid = Tid(self.last_tid);
        let slot = self.taskmap.insert(Task::from_boxed(tid, target));
        self.ready.push_back(slot);
        tid
    }

    /// Number of live tasks (the seed's `len(self.taskmap)`).
    pub fn task_count(&self) -> usize {
        self.taskmap.len()
    }

    /// Whether task `tid` is live (in the task map).
    pub fn contains(&self, tid: Tid) -> bool {
        self.taskmap.contains_key(tid)
    }

    /// Runs tasks until every one has exited: the seed's `mainloop()`.
    ///
    /// Returns [`Halt::AllExited`], or [`Halt::Deadlock`] when tasks are left that can never
    /// run. An `Err` is a console write error (the scheduler stops at the step after it) or
    /// a failed `poll(2)`.
    pub fn mainloop(&mut self) -> io::Result<Halt> {
        self.run(Until::AllExited)
    }

    /// Runs tasks until `until` holds (or everything has exited, or a deadlock).
    pub fn run(&mut self, until: Until) -> io::Result<Halt> {
        let mut steps: u64 = 0;
        let result = loop {
            match until {
                Until::AllExited => {}
                Until::Steps(n) => {
                    if steps >= n {
                        break Ok(Halt::StepLimit);
                    }
                }
                Until::Exited(tid) => {
                    if !self.taskmap.contains_key(tid) {
                        break Ok(Halt::Exited(tid));
                    }
                }
            }
            if self.console.failed() {
                break Err(self.console_error());
            }
            let waiting_for_events = !self.io.is_empty() || !self.timers.is_empty();
            if self.ready.is_empty() {
                if self.taskmap.is_empty() {
                    break Ok(Halt::AllExited);
                }
                if self.io.is_empty() && self.sleepers == 0 {
                    let mut blocked: Vec<Tid> = self.taskmap.keys().copied().collect();
                    blocked.sort_unstable();
                    break Ok(Halt::Deadlock(blocked));
                }
                // Nothing to run: block until a descriptor or a timer is ready.
                if let Err(e) = self.poll_events(true) {
                    break Err(e);
                }
                continue;
            }
            if waiting_for_events {
                // Once per round of the ready queue, collect whatever I/O and timers are ready
                // without blocking, so busy tasks cannot starve waiting ones (Beazley's
                // `iotask` does `iopoll(0)` once per trip through the queue).
                if self.round_left == 0 {
                    if let Err(e) = self.poll_events(false) {
                        break Err(e);
                    }
                    self.round_left = self.ready.len();
                }
                self.round_left = self.round_left.saturating_sub(1);
            }
            if let Some(slot) = self.ready.pop_front() {
                self.step(slot);
                steps += 1;
            }
        };
        self.console.flush();
        if result.is_ok() && self.console.failed() {
            return Err(self.console_error());
        }
        result
    }

    fn console_error(&self) -> io::Error {
        self.console
            .take_error()
            .unwrap_or_else(|| io::Error::other("scheduler console failed"))
    }

    /// Runs one task to its next yield and acts on the outcome: the body of the seed's
    /// `mainloop`.
    fn step(&mut self, slot: usize) {
        let Some(task) = self.taskmap.slot_mut(slot) else {
            return;
        };
        let tid = task.tid();
        task.state = State::Running;
        // The reply slot is empty between runs, so a bare yield (no sendval) touches it not
        // at all: this is the hot path of a task switch.
        let had_reply = task.sendval.is_some();
        if had_reply {
            self.trap.reply.set(task.sendval.take());
        }
        let poll = task.run();
        if had_reply {
            // A reply the task did not take (it awaited something else) is dropped, not kept
            // for a later call: tickets would refuse it anyway.
            drop(self.trap.reply.take());
        }
        let request = self.trap.request.take();
        match poll {
            // StopIteration. A request made in the same run (possible with hand-written
            // joins) dies with the task.
            Poll::Ready(()) => self.exit(tid),
            Poll::Pending => match request {
                // A bare `yield` (or a future pending on something that is not a system
                // call): back of the queue, as the seed's `self.schedule(task)`.
                None => {
                    task.state = State::Ready;
                    self.ready.push_back(slot);
                }
                Some((ticket, call)) => self.handle(slot, tid, ticket, call),
            },
        }
    }

    /// Reports a finished task and wakes the tasks waiting for it: the seed's `exit()`.
    fn exit(&mut self, tid: Tid) {
        self.console
            .println(format_args!("Task {} terminated", tid.0));
        self.taskmap.remove(tid);
        // Notify other tasks waiting for exit
        if let Some(waiters) = self.exit_waiting.remove(&tid) {
            for waiter in waiters {
                self.schedule(waiter);
            }
        }
    }

    /// Puts a task on the ready queue: the seed's `schedule()`.
    fn schedule(&mut self, tid: Tid) {
        if let Some(slot) = self.taskmap.slot_of(tid) {
            self.schedule_slot(slot);
        }
    }

    /// [`Scheduler::schedule`] for a task whose slot is known (the caller of a system call).
    fn schedule_slot(&mut self, slot: usize) {
        if let Some(task) = self.taskmap.slot_mut(slot) {
            // Never twice on the queue (no handler does that; this keeps it so).
            if task.state != State::Ready {
                task.state = State::Ready;
                self.ready.push_back(slot);
            }
        }
    }

    /// Stores a system call's result for the task's next run: the seed's
    /// `self.task.sendval = ...`.
    fn reply(&mut self, slot: usize, ticket: u64, reply: Reply<M>) {
        if let Some(task) = self.taskmap.slot_mut(slot) {
            task.sendval = Some((ticket, reply));
        }
    }

    /// Parks a task in a waiting area: it gets `reply` (a placeholder for `Recv`) when
    /// something reschedules it.
    fn block(&mut self, slot: usize, ticket: u64, reply: Reply<M>, state: State) {
        if let Some(task) = self.taskmap.slot_mut(slot) {
            task.sendval = Some((ticket, reply));
            task.state = state;
        }
    }

    /// Runs a system call on behalf of task `tid` (in `slot`): the seed's `result.handle()`
    /// for each `SystemCall` subclass. Each arm either reschedules the caller or parks it.
    fn handle(&mut self, slot: usize, tid: Tid, ticket: u64, call: SystemCall<M>) {
        match call {
            SystemCall::GetTid => {
                self.reply(slot, ticket, Reply::Tid(tid));
                self.schedule_slot(slot);
            }
            SystemCall::NewTask(target) => {
                // The new task is scheduled before the caller: the seed's handler calls
                // `sched.new()` (which schedules) before `sched.schedule(self.task)`.
                let child = self.new_task(target);
                self.reply(slot, ticket, Reply::Tid(child));
                self.schedule_slot(slot);
            }
            SystemCall::KillTask(target) => {
                let killed = self.kill(target);
                self.reply(slot, ticket, Reply::Bool(killed));
                self.schedule_slot(slot);
            }
            SystemCall::WaitTask(target) => {
                if self.wait_for_exit(tid, target) {
                    self.block(slot, ticket, Reply::Bool(true), State::WaitExit(target));
                } else {
                    // Waiting for a non-existent task: return at once without waiting.
                    self.reply(slot, ticket, Reply::Bool(false));
                    self.schedule_slot(slot);
                }
            }
            SystemCall::Send(to, msg) => {
                let sent = self.send(to, msg);
                self.reply(slot, ticket, Reply::Bool(sent));
                self.schedule_slot(slot);
            }
            SystemCall::Recv => {
                let Some(task) = self.taskmap.slot_mut(slot) else {
                    return;
                };
                match task.mailbox.pop_front() {
                    Some(msg) => {
                        self.reply(slot, ticket, Reply::Msg(msg));
                        self.schedule_slot(slot);
                    }
                    None => self.block(slot, ticket, Reply::Unit, State::WaitMsg),
                }
            }
            SystemCall::ReadWait(fd) => self.wait_io(slot, tid, ticket, fd, Interest::Read),
            SystemCall::WriteWait(fd) => self.wait_io(slot, tid, ticket, fd, Interest::Write),
            SystemCall::Sleep(duration) => match Instant::now().checked_add(duration) {
                Some(deadline) => {
                    let seq = self.timers.add(deadline, tid);
                    self.sleepers += 1;
                    self.block(slot, ticket, Reply::Unit, State::Sleeping(seq));
                }
                // Longer than the clock can count: sleeps forever (until killed), and counts
                // as blocked for deadlock detection.
                None => self.block(slot, ticket, Reply::Unit, State::Sleeping(0)),
            },
        }
    }

    /// The seed's `waitforexit()`: parks `tid` in `exit_waiting` if `target` is live.
    /// Waiting for oneself is refused (the seed would hang forever).
    fn wait_for_exit(&mut self, tid: Tid, target: Tid) -> bool {
        if target != tid && self.taskmap.contains_key(target) {
            self.exit_waiting.entry(target).or_default().push(tid);
            true
        } else {
            false
        }
    }

    /// `KillTask`: closes the task's coroutine (its `Drop` cleanup runs now, as `close()`
    /// raises `GeneratorExit`). As in the seed, the task stays in the task map until the
    /// scheduler pulls it from the ready queue and finds it finished, which is when
    /// `Task N terminated` is printed.
    ///
    /// Unlike the seed, a task blocked in a waiting area is moved to the ready queue so it is
    /// reaped too (the seed would leave it in the task map forever, and `mainloop` would
    /// never end).
    fn kill(&mut self, target: Tid) -> bool {
        let Some(task) = self.taskmap.get_mut(target) else {
            return false;
        };
        task.close();
        match task.state {
            State::Ready | State::Running => {}
            State::WaitExit(other) => {
                if let Some(waiters) = self.exit_waiting.get_mut(&other) {
                    waiters.retain(|&w| w != target);
                }
                self.schedule(target);
            }
            State::WaitMsg => self.schedule(target),
            State::WaitIo => {
                self.io.remove(target);
                self.schedule(target);
            }
            State::Sleeping(seq) => {
                if seq != 0 {
                    self.sleepers = self.sleepers.saturating_sub(1);
                }
                self.schedule(target);
            }
        }
        true
    }

    /// `Send`: delivers to a receiver blocked in `Recv` (scheduling it before the sender, as
    /// `NewTask` schedules the child first), or queues in the mailbox.
    fn send(&mut self, to: Tid, msg: M) -> bool {
        let Some(receiver) = self.taskmap.get_mut(to) else {
            return false;
        };
        if receiver.state == State::WaitMsg {
            if let Some((ticket, _)) = receiver.sendval.take() {
                receiver.sendval = Some((ticket, Reply::Msg(msg)));
            }
            self.schedule(to);
        } else {
            receiver.mailbox.push_back(msg);
        }
        true
    }

    fn wait_io(&mut self, slot: usize, tid: Tid, ticket: u64, fd: i32, interest: Interest) {
        if fd < 0 {
            // poll(2) ignores negative descriptors: the task would never wake. Let it run
            // and meet the error on its own read or write.
            self.reply(slot, ticket, Reply::Unit);
            self.schedule_slot(slot);
            return;
        }
        self.io.add(tid, fd, interest);
        self.block(slot, ticket, Reply::Unit, State::WaitIo);
    }

    /// Moves tasks whose descriptors or timers are ready to the ready queue. With `block`,
    /// waits until at least one may be (the next deadline, or forever if only I/O waits).
    fn poll_events(&mut self, block: bool) -> io::Result<()> {
        let timeout = if block {
            self.timers
                .next_deadline()
                .map(|d| d.saturating_duration_since(Instant::now()))
        } else {
            Some(std::time::Duration::ZERO)
        };
        if !self.io.is_empty() {
            let mut woken = Vec::new();
            self.io.poll(timeout, |tid| woken.push(tid))?;
            for tid in woken {
                self.schedule(tid);
            }
        } else if let Some(t) = timeout {
            if !t.is_zero() {
                std::thread::sleep(t);
            }
        }
        if !self.timers.is_empty() {
            let mut woken = Vec::new();
            self.timers
                .expire(Instant::now(), |tid, seq| woken.push((tid, seq)));
            for (tid, seq) in woken {
                let live = self
                    .taskmap
                    .get(tid)
                    .is_some_and(|t| t.state == State::Sleeping(seq));
                if live {
                    self.sleepers = self.sleepers.saturating_sub(1);
                    self.schedule(tid);
                }
            }
        }
        Ok(())
    }
}
