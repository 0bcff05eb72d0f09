"""The seed's coroutine operating system (Part 7, "Let's Build an Operating System").

A multitasking "OS" in pure Python, with no threads and no subprocesses: a ``Task`` wraps a
generator, a ``Scheduler`` runs ready tasks round-robin, and ``yield`` is the trap into the
kernel. A task yields a ``SystemCall`` to ask the kernel for a service, and the call's
``handle()`` alone decides when the task runs again. The names are the seed's::

    from copipe.sched import Scheduler, GetTid, NewTask, KillTask, WaitTask

    def foo():
        mytid = yield GetTid()
        while True:
            print("I'm foo", mytid)
            yield

    def main():
        child = yield NewTask(foo())    # Launch new task
        for i in range(5):
            yield
        yield KillTask(child)           # Kill the task
        print("main done")

    sched = Scheduler()
    sched.new(main())
    sched.mainloop()

prints the seed's result: "I'm foo 2" five times, "Task 2 terminated", "main done",
"Task 1 terminated". The Rust port is ``copipe::sched`` (shared/sched/ in the repository);
both run the seed's programs with the same output, line for line.

Public names:

- ``Task(target, tid=None)``: a generator and its id; ``run()`` runs it to its next
  system call or top-level yield (Beazley's trampolining version, see below); ``close()``.
- ``Scheduler(out=print)``: ``new(target)`` -> tid, ``schedule(task)``, ``exit(task)``,
  ``waitforexit(task, tid)``, ``mainloop()``; ``taskmap``, ``ready``, ``exit_waiting`` as
  in the seed.
- ``SystemCall`` (base class: subclass it and write ``handle()``, using ``self.task`` and
  ``self.sched``), and the calls: ``GetTid()`` -> tid, ``NewTask(target)`` -> tid,
  ``KillTask(tid)`` -> bool, ``WaitTask(tid)`` -> bool, ``ReadWait(f)``, ``WriteWait(f)``,
  ``Send(tid, msg)`` -> bool, ``Recv()`` -> msg.
- ``Deadlock`` (a ``copipe.CopipeError``): raised by ``mainloop()``, see below.

Beyond the seed, as the course goes on (and as the Rust port does):

- I/O: ``yield ReadWait(f)`` / ``yield WriteWait(f)`` (``f`` a file, a socket or a
  descriptor) park the task until ``select()`` says ``f`` is readable / writable. As in
  Beazley's ``pyos7`` an I/O task polls: with a zero timeout while other tasks are ready,
  blocking when none is. It is a task like the others, started lazily by the first
  ``ReadWait``/``WriteWait`` (so the seed's programs keep their task ids); it ends ("Task N
  terminated") when it is the last task left, so ``mainloop()`` returns; if it is killed
  while tasks wait for I/O, another is started for them. Several tasks may wait on one
  descriptor (Beazley's dict kept one). ``select()`` takes descriptors below
  ``FD_SETSIZE`` (1024). End of file and socket errors count as ready (the task's own
  read or write then reports them); a descriptor closed while a task waits on it makes
  ``select()`` raise OSError out of ``mainloop()``.
- Subroutines that make system calls (Beazley's "trampolining"): a task may
  ``result = yield subroutine(args)``, where the subroutine is a generator that may itself
  yield system calls and further subroutines. It returns a value to its caller by
  yielding a plain (non-generator, non-SystemCall) value, or with Python 3's
  ``return value``; a bare ``yield`` inside a subroutine returns None to its caller.
- Message passing by task id: ``sent = yield Send(tid, msg)`` queues ``msg`` for task
  ``tid`` (False if it does not exist); ``msg = yield Recv()`` takes the oldest message,
  waiting for one if none is queued. A receiver woken by ``Send`` is scheduled before the
  sender, as ``NewTask`` schedules the child before the caller.

Where this module departs from the seed (each as the Rust port does):

1. Task ids are per ``Scheduler``: two schedulers in one process both start at 1 (the
   seed counts in a class attribute, ``Task.taskid``, shared by every scheduler). A
   ``Task`` made outside a scheduler, as in the seed's first example, has ``tid`` None.
2. The ready queue is a ``collections.deque``, not a thread-safe ``queue.Queue`` (a task
   switch costs several times less). Where the seed's ``self.ready.get()`` would block
   forever (tasks remain, none is ready, none waits for I/O: they wait for each other or for
   messages nobody can send), ``mainloop()`` raises ``Deadlock``, naming the stuck task ids
   and what each waits for. The tasks stay in the scheduler, as they were.
3. ``KillTask`` of a task blocked in a waiting area (``WaitTask``, ``Recv``, ``ReadWait``,
   ``WriteWait``) releases it, so it is reaped: "Task N terminated" is printed when the
   scheduler next pulls it from the ready queue, as the seed does for a ready task (the seed
   would leave it in the task map, and ``mainloop()`` would never end).
4. Killing a task that is inside a subroutine closes its whole call stack, innermost first
   (each generator gets ``GeneratorExit``), and the task ends; closing only the innermost
   generator would let the caller resume as if the subroutine had returned.
5. ``WaitTask`` on the caller itself returns False at once (the seed's would wait forever).
6. "Task N terminated" goes through the ``out`` function given to ``Scheduler(out=print)``,
   called with the line (no newline), so a program can capture or redirect it.

Anything else a task raises propagates out of ``mainloop()``, as in the seed.
"""

import collections
import select
import types

from .errors import CopipeError

__all__ = [
    "Deadlock",
    "GetTid",
    "KillTask",
    "NewTask",
    "ReadWait",
    "Recv",
    "Scheduler",
    "Send",
    "SystemCall",
    "Task",
    "WaitTask",
    "WriteWait",
]


class Deadlock(CopipeError):
    """Tasks remain but none can ever run again: raised by ``Scheduler.mainloop()`` where
    the seed's ``self.ready.get()`` would block forever. ``tids`` are the stuck task ids, in
    increasing order."""

    def __init__(self, tids, reasons):
        self.tids = tids
        CopipeError.__init__(
            self,
            "deadlock: no task can run again (%s)" % ", ".join(reasons),
        )


# ------------------------------------------------------------
#                       == Task ==
# ------------------------------------------------------------
class Task(object):
    """A task: a wrapper around a generator (the seed's ``class Task``).

    ``sendval`` is the value the next ``run()`` sends in: the result of the task's last
    system call. ``waiting`` names the waiting area the task is parked in (None when it is
    ready or running), so ``KillTask`` can release it.
    """

    def __init__(self, target, tid=None):
        self.tid = tid           # Task ID (per scheduler: departure 1)
        self.target = target     # Target coroutine
        self.sendval = None      # Value to send
        self.stack = []          # Callers of the running subroutine (trampolining)
        self.waiting = None      # The waiting area the task is parked in, if any

    # Run a task until it hits the next yield statement
    def run(self):
        """Runs the task to its next system call or top-level yield and returns what it
        yielded; raises StopIteration when it has finished.

        Beazley's trampolining: a yielded generator is a subroutine call (the caller is
        pushed, the callee runs), and a plain value yielded by a subroutine is its return
        value. For a task that yields only None or system calls this is exactly the seed's
        ``return self.target.send(self.sendval)``.
        """
        while True:
            try:
                result = self.target.send(self.sendval)
                if isinstance(result, SystemCall):
                    return result
                if isinstance(result, types.GeneratorType):
                    # A subroutine call: push the caller, run the callee.
                    self.stack.append(self.target)
                    self.sendval = None
                    self.target = result
                else:
                    # A plain value: a bare yield at top level, or a subroutine returning.
                    if not self.stack:
                        return result
                    self.sendval = result
                    self.target = self.stack.pop()
            except StopIteration as e:
                if not self.stack:
                    raise
                # A subroutine ran off its end (or did `return value`): resume its caller.
                self.sendval = e.value
                self.target = self.stack.pop()

    def close(self):
        """Closes the task's generator and every subroutine caller under it, innermost
        first (departure 4), so the next ``run()`` raises StopIteration."""
        self.target.close()
        while self.stack:
            self.target = self.stack.pop()
            self.target.close()

    def __repr__(self):
        return "Task(%r, tid=%r)" % (self.target, self.tid)


# ------------------------------------------------------------
#                      == Scheduler ==
# ------------------------------------------------------------
class Scheduler(object):
    """The kernel (the seed's ``class Scheduler``): runs ready tasks round-robin and
    handles their system calls.

    ``out`` receives each "Task N terminated" line (a str without newline).
    """

    def __init__(self, out=print):
        self.ready = collections.deque()  # Tasks that are ready to run (departure 2)
        self.taskmap = {}                 # Task ID -> Task, every live task
        self.exit_waiting = {}            # Task ID -> tasks waiting for its exit
        self.out = out
        # Beyond the seed: I/O and message waiting areas.
        self.read_waiting = {}            # fd -> tasks waiting to read it
        self.write_waiting = {}           # fd -> tasks waiting to write it
        self.msg_waiting = {}             # Task ID -> the task, blocked in Recv
        self.mailbox = {}                 # Task ID -> deque of messages not yet received
        self.iotid = None                 # The I/O task's id, once started
        self._io_parked = False           # The I/O task is off the ready queue
        self._lasttid = 0

    # Introduces a new task to the scheduler
    def new(self, target):
        """Makes ``target`` (a generator) a task with the next id and schedules it."""
        self._lasttid += 1
        newtask = Task(target, self._lasttid)
        self.taskmap[newtask.tid] = newtask
        self.schedule(newtask)
        return newtask.tid

    def exit(self, task):
        """Reports a finished task and wakes the tasks waiting for its exit."""
        self.out("Task %d terminated" % task.tid)
        del self.taskmap[task.tid]
        self.mailbox.pop(task.tid, None)
        if task.tid == self.iotid:
            self.iotid = None
            if self.read_waiting or self.write_waiting:
                self.start_io()  # the I/O task was killed: waiters still need one
        # Notify other tasks waiting for exit
        for task in self.exit_waiting.pop(task.tid, []):
            task.waiting = None
            self.schedule(task)

    def waitforexit(self, task, waittid):
        """Parks ``task`` until task ``waittid`` exits; False if there is no such task, or
        it is ``task`` itself (departure 5)."""
        if waittid in self.taskmap and waittid != task.tid:
            self.exit_waiting.setdefault(waittid, []).append(task)
            task.waiting = ("exit", waittid)
            return True
        else:
            return False

    # Put a task onto the ready queue. This makes it available to run.
    def schedule(self, task):
        self.ready.append(task)

    def mainloop(self):
        """Runs tasks until every one has exited. Raises ``Deadlock`` where the seed's
        ``self.ready.get()`` would block forever (departure 2)."""
        ready = self.ready
        taskmap = self.taskmap
        # The seed's loop, with the queue's methods looked up once: a bare yield, the
        # commonest event, then costs one deque append.
        get = ready.popleft
        put = ready.append
        while taskmap:
            try:
                task = get()
            except IndexError:
                raise self.deadlock() from None
            try:
                result = task.run()
                if isinstance(result, SystemCall):
                    result.task = task
                    result.sched = self
                    result.handle()
                    continue
            except StopIteration:
                self.exit(task)
                continue
            put(task)

    def deadlock(self):
        """The ``Deadlock`` for the tasks left: each named with what it waits for."""
        tids = sorted(tid for tid in self.taskmap if tid != self.iotid)
        reasons = []
        for tid in tids:
            waiting = self.taskmap[tid].waiting
            if waiting is None:
                reasons.append("task %d is off the ready queue" % tid)
            elif waiting[0] == "exit":
                reasons.append("task %d waits for task %d to exit" % (tid, waiting[1]))
            elif waiting[0] == "msg":
                reasons.append("task %d waits for a message" % tid)
            else:
                reasons.append("task %d waits to %s descriptor %d" % (tid, waiting[0], waiting[1]))
        return Deadlock(tids, reasons)

    def kill(self, tid):
        """``KillTask``: closes task ``tid`` and, if it is parked in a waiting area,
        schedules it so the main loop reaps it (departure 3). False if there is no such
        task."""
        task = self.taskmap.get(tid, None)
        if not task:
            return False
        task.close()
        waiting = task.waiting
        if waiting is not None:
            task.waiting = None
            area, key = waiting
            if area == "exit":
                self.exit_waiting[key].remove(task)
            elif area == "msg":
                del self.msg_waiting[key]
            elif area == "park":
                self._io_parked = False
            else:
                io = self.read_waiting if area == "read" else self.write_waiting
                io[key].remove(task)
                if not io[key]:
                    del io[key]
            self.schedule(task)
        return True

    # I/O waiting (the course's pyos7): an I/O task polls with select(), blocking only
    # when nothing else is ready.
    def waitforread(self, task, fd):
        self.read_waiting.setdefault(fd, []).append(task)
        task.waiting = ("read", fd)

    def waitforwrite(self, task, fd):
        self.write_waiting.setdefault(fd, []).append(task)
        task.waiting = ("write", fd)

    def iopoll(self, timeout):
        """Schedules the tasks whose descriptors are ready, waiting up to ``timeout``
        seconds (None: until one is)."""
        if self.read_waiting or self.write_waiting:
            r, w, e = select.select(self.read_waiting, self.write_waiting, [], timeout)
            for fd in r:
                self._wake(self.read_waiting.pop(fd))
            for fd in w:
                self._wake(self.write_waiting.pop(fd))

    def _wake(self, tasks):
        for task in tasks:
            task.waiting = None
            self.schedule(task)

    def iotask(self):
        """The I/O task: polls once per trip round the ready queue. With nothing to watch
        it ends if it is the last task, and otherwise either lets the others run or, when
        none is ready, leaves the ready queue so the main loop reports the deadlock."""
        while True:
            if self.read_waiting or self.write_waiting:
                self.iopoll(0 if self.ready else None)
                yield
            elif self.ready:
                yield
            elif len(self.taskmap) == 1:
                return
            else:
                yield _ParkIo()

    def start_io(self):
        """Starts the I/O task on first use (so tasks made before it keep the seed's ids),
        or puts it back on the ready queue if it had parked."""
        if self.iotid is None:
            self.iotid = self.new(self.iotask())
        elif self._io_parked:
            self._io_parked = False
            iotask = self.taskmap[self.iotid]
            iotask.waiting = None
            self.schedule(iotask)


# ------------------------------------------------------------
#                   === System Calls ===
# ------------------------------------------------------------
class SystemCall(object):
    """A request to the kernel: yielded by a task, handled by the scheduler, which sets
    ``self.task`` and ``self.sched`` before calling ``handle()``. A handler sets
    ``self.task.sendval`` (the value the task's ``yield`` returns) and decides when the task
    runs again: ``self.sched.schedule(self.task)`` now, or later from a waiting area."""

    def handle(self):
        pass


class GetTid(SystemCall):
    """``tid = yield GetTid()``: the caller's task id."""

    def handle(self):
        self.task.sendval = self.task.tid
        self.sched.schedule(self.task)


class NewTask(SystemCall):
    """``tid = yield NewTask(target)``: starts a task; it is scheduled before the caller."""

    def __init__(self, target):
        self.target = target

    def handle(self):
        tid = self.sched.new(self.target)
        self.task.sendval = tid
        self.sched.schedule(self.task)


class KillTask(SystemCall):
    """``killed = yield KillTask(tid)``: closes task ``tid`` (its generator gets
    GeneratorExit now; "Task N terminated" when the scheduler next pulls it). False if
    there is no such task."""

    def __init__(self, tid):
        self.tid = tid

    def handle(self):
        self.task.sendval = self.sched.kill(self.tid)
        self.sched.schedule(self.task)


class WaitTask(SystemCall):
    """``yield WaitTask(tid)``: waits until task ``tid`` exits and returns True; returns
    False at once if there is no such task, or it is the caller."""

    def __init__(self, tid):
        self.tid = tid

    def handle(self):
        result = self.sched.waitforexit(self.task, self.tid)
        self.task.sendval = result
        # If waiting for a non-existent task, return immediately without waiting
        if not result:
            self.sched.schedule(self.task)


def _fileno(f):
    return f if isinstance(f, int) else f.fileno()


class _IoWait(SystemCall):
    """What ReadWait and WriteWait share: start the I/O task, park the caller on ``f``'s
    descriptor. A negative descriptor, which select() refuses, lets the task run on and meet
    the error on its own read or write."""

    def __init__(self, f):
        self.f = f

    def handle(self):
        fd = _fileno(self.f)
        if fd < 0:
            self.sched.schedule(self.task)
            return
        self.sched.start_io()
        self.park(fd)


class ReadWait(_IoWait):
    """``yield ReadWait(f)``: waits until ``f`` (a file, socket or descriptor) is readable."""

    def park(self, fd):
        self.sched.waitforread(self.task, fd)


class WriteWait(_IoWait):
    """``yield WriteWait(f)``: waits until ``f`` (a file, socket or descriptor) is
    writable."""

    def park(self, fd):
        self.sched.waitforwrite(self.task, fd)


class Send(SystemCall):
    """``sent = yield Send(tid, msg)``: queues ``msg`` for task ``tid``, waking it first if
    it waits in ``Recv``. False if there is no such task."""

    def __init__(self, tid, msg):
        self.tid = tid
        self.msg = msg

    def handle(self):
        sched = self.sched
        if self.tid in sched.taskmap:
            receiver = sched.msg_waiting.pop(self.tid, None)
            if receiver is not None:
                receiver.sendval = self.msg
                receiver.waiting = None
                sched.schedule(receiver)
            else:
                sched.mailbox.setdefault(self.tid, collections.deque()).append(self.msg)
            self.task.sendval = True
        else:
            self.task.sendval = False
        sched.schedule(self.task)


class Recv(SystemCall):
    """``msg = yield Recv()``: the oldest message sent to the caller, waiting for one if
    none is queued."""

    def handle(self):
        sched = self.sched
        box = sched.mailbox.get(self.task.tid)
        if box:
            self.task.sendval = box.popleft()
            sched.schedule(self.task)
        else:
            sched.msg_waiting[self.task.tid] = self.task
            self.task.waiting = ("msg", self.task.tid)


class _ParkIo(SystemCall):
    """The I/O task leaves the ready queue: nothing to watch and nothing else ready.
    ``start_io`` puts it back."""

    def handle(self):
        self.sched._io_parked = True
        self.task.waiting = ("park", None)
