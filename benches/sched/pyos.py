#!/usr/bin/env python3
"""pyos: the seed's coroutine "operating system" (Part 7), ported to Python 3.

This is the reference the Rust scheduler (copipe::sched) is checked against: the seed's
Task, Scheduler, SystemCall, GetTid, NewTask, KillTask and WaitTask are kept as the seed
writes them (the ready queue is the seed's queue.Queue), with only the Python 2 -> 3 changes
(print(), range, queue). The extensions the course goes on to (and the Rust port has) follow:
ReadWait/WriteWait with select() polling in an I/O task, Beazley's trampolining Task for
subroutines, and (our own addition, same semantics as the Rust port) Send/Recv by task id.

Usage:
    pyos.py scenario NAME     print one scenario's output (names: see SCENARIOS)
    pyos.py scenarios         list the scenario names
    pyos.py echo PORT         echo server on 127.0.0.1 (0 = ephemeral); the first line is the port
    pyos.py bench [--spawn N] [--switches N]
                              scheduler micro-benchmarks, one "key value" line each
"""

import collections
import os
import select
import socket
import sys
import time
import types
from queue import Queue

# The scenarios print through out(): stdout by default, or a counting writer that stops
# the infinite first Scheduler example after a number of lines.
out = print


# ------------------------------------------------------------
#                       == Task ==
# ------------------------------------------------------------
class Task(object):
    """The seed's Task, with Beazley's trampolining run() (the course's next step).

    For the seed's own scenarios (a task yields None or a SystemCall) it behaves exactly
    as the seed's `return self.target.send(self.sendval)`.
    """

    taskid = 0

    def __init__(self, target):
        Task.taskid += 1
        self.tid = Task.taskid   # Task ID
        self.target = target     # Target coroutine
        self.sendval = None      # Value to send
        self.stack = []          # Call stack (trampolining)

    # Run a task until it hits the next yield statement
    def run(self):
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
                    # A plain value: the seed's bare yield at top level, or a subroutine
                    # "returning" a value to its caller.
                    if not self.stack:
                        return result
                    self.sendval = result
                    self.target = self.stack.pop()
            except StopIteration:
                if not self.stack:
                    raise
                self.sendval = None
                self.target = self.stack.pop()


# ------------------------------------------------------------
#                      == Scheduler ==
# ------------------------------------------------------------
class Scheduler(object):
    def __init__(self):
        self.ready = Queue()     # Tasks that are ready to run (the seed's Queue)
        self.taskmap = {}        # Task ID -> Task, all live tasks
        self.exit_waiting = {}   # Task ID -> tasks waiting for its exit
        # Extensions
        self.read_waiting = {}   # fd -> task
        self.write_waiting = {}  # fd -> task
        self.msg_waiting = {}    # Task ID -> task blocked in Recv
        self.mailbox = {}        # Task ID -> deque of messages
        self.io_started = False

    def new(self, target):
        newtask = Task(target)
        self.taskmap[newtask.tid] = newtask
        self.schedule(newtask)
        return newtask.tid

    def exit(self, task):
        out("Task %d terminated" % task.tid)
        del self.taskmap[task.tid]
        self.mailbox.pop(task.tid, None)
        # Notify other tasks waiting for exit
        for task in self.exit_waiting.pop(task.tid, []):
            self.schedule(task)

    def waitforexit(self, task, waittid):
        if waittid in self.taskmap:
            self.exit_waiting.setdefault(waittid, []).append(task)
            return True
        else:
            return False

    def schedule(self, task):
        self.ready.put(task)

    # I/O waiting (the course's pyos7): an I/O task polls with select(), blocking only
    # when nothing else is ready. It is started lazily, on the first ReadWait/WriteWait,
    # so the seed's scenarios keep their task ids.
    def waitforread(self, task, fd):
        self.read_waiting[fd] = task

    def waitforwrite(self, task, fd):
        self.write_waiting[fd] = task

    def iopoll(self, timeout):
        if self.read_waiting or self.write_waiting:
            r, w, e = select.select(self.read_waiting, self.write_waiting, [], timeout)
            for fd in r:
                self.schedule(self.read_waiting.pop(fd))
            for fd in w:
                self.schedule(self.write_waiting.pop(fd))

    def iotask(self):
        while True:
            if self.ready.empty():
                self.iopoll(None)
            else:
                self.iopoll(0)
            yield

    def start_io(self):
        if not self.io_started:
            self.io_started = True
            self.new(self.iotask())

    def mainloop(self):
        while self.taskmap:
            task = self.ready.get()
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
            self.schedule(task)


class FastScheduler(Scheduler):
    """The same scheduler with a collections.deque ready queue instead of the seed's
    thread-safe queue.Queue: the fastest plain-Python variant, for a fair benchmark."""

    def __init__(self):
        Scheduler.__init__(self)
        self.ready = collections.deque()

    def schedule(self, task):
        self.ready.append(task)

    def iotask(self):
        while True:
            self.iopoll(0 if self.ready else None)
            yield

    def mainloop(self):
        ready = self.ready
        while self.taskmap:
            task = ready.popleft()
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
            ready.append(task)


# ------------------------------------------------------------
#                   === System Calls ===
# ------------------------------------------------------------
class SystemCall(object):
    def handle(self):
        pass


class GetTid(SystemCall):
    def handle(self):
        self.task.sendval = self.task.tid
        self.sched.schedule(self.task)


class NewTask(SystemCall):
    def __init__(self, target):
        self.target = target

    def handle(self):
        tid = self.sched.new(self.target)
        self.task.sendval = tid
        self.sched.schedule(self.task)


class KillTask(SystemCall):
    def __init__(self, tid):
        self.tid = tid

    def handle(self):
        task = self.sched.taskmap.get(self.tid, None)
        if task:
            task.target.close()
            self.task.sendval = True
        else:
            self.task.sendval = False
        self.sched.schedule(self.task)


class WaitTask(SystemCall):
    def __init__(self, tid):
        self.tid = tid

    def handle(self):
        result = self.sched.waitforexit(self.task, self.tid)
        self.task.sendval = result
        # If waiting for a non-existent task, return immediately without waiting
        if not result:
            self.sched.schedule(self.task)


class ReadWait(SystemCall):
    def __init__(self, f):
        self.f = f

    def handle(self):
        self.sched.start_io()
        fd = self.f.fileno()
        self.sched.waitforread(self.task, fd)


class WriteWait(SystemCall):
    def __init__(self, f):
        self.f = f

    def handle(self):
        self.sched.start_io()
        fd = self.f.fileno()
        self.sched.waitforwrite(self.task, fd)


class Send(SystemCall):
    """Send(tid, msg) -> bool: queue msg for task tid; wake it if it waits in Recv.
    The woken receiver is scheduled before the sender (as NewTask schedules the child first)."""

    def __init__(self, tid, msg):
        self.tid = tid
        self.msg = msg

    def handle(self):
        sched = self.sched
        if self.tid in sched.taskmap:
            receiver = sched.msg_waiting.pop(self.tid, None)
            if receiver is not None:
                receiver.sendval = self.msg
                sched.schedule(receiver)
            else:
                sched.mailbox.setdefault(self.tid, collections.deque()).append(self.msg)
            self.task.sendval = True
        else:
            self.task.sendval = False
        sched.schedule(self.task)


class Recv(SystemCall):
    """Recv() -> msg: the oldest message sent to this task, waiting for one if none is queued."""

    def handle(self):
        sched = self.sched
        box = sched.mailbox.get(self.task.tid)
        if box:
            self.task.sendval = box.popleft()
            sched.schedule(self.task)
        else:
            sched.msg_waiting[self.task.tid] = self.task


# ------------------------------------------------------------
#                     === Scenarios ===
# Each mirrors a function in shared/sched/demos.rs; tests/sched.rs compares the outputs.
# ------------------------------------------------------------
def scenario_task():
    def foo():
        out("Part 1")
        yield
        out("Part 2")
        yield

    t1 = Task(foo())
    out("Running foo()")
    t1.run()
    out("Resuming foo()")
    t1.run()


class _Enough(Exception):
    pass


def scenario_scheduler(lines=6):
    # The seed's foo and bar loop forever: stop after `lines` lines of output.
    global out
    printed = [0]
    real_out = out

    def counting_out(*args):
        real_out(*args)
        printed[0] += 1
        if printed[0] >= lines:
            raise _Enough()

    def foo():
        while True:
            out("I'm foo")
            yield

    def bar():
        while True:
            out("I'm bar")
            yield

    sched = Scheduler()
    sched.new(foo())
    sched.new(bar())
    out = counting_out
    try:
        sched.mainloop()
    except _Enough:
        pass
    finally:
        out = real_out


def scenario_exit():
    def foo():
        for i in range(3):
            out("I'm foo")
            yield

    def bar():
        for i in range(5):
            out("I'm bar")
            yield

    sched = Scheduler()
    sched.new(foo())
    sched.new(bar())
    sched.mainloop()


def scenario_gettid():
    def foo():
        mytid = yield GetTid()
        for i in range(5):
            out("I'm foo", mytid)
            yield

    def bar():
        mytid = yield GetTid()
        for i in range(3):
            out("I'm bar", mytid)
            yield

    sched = Scheduler()
    sched.new(foo())
    sched.new(bar())
    sched.mainloop()


def scenario_kill():
    def foo():
        mytid = yield GetTid()
        while True:
            out("I'm foo", mytid)
            yield

    def main():
        child = yield NewTask(foo())
        for i in range(5):
            yield
        yield KillTask(child)
        out("main done")

    sched = Scheduler()
    sched.new(main())
    sched.mainloop()


def _foo5():
    for i in range(5):
        out("I'm foo")
        yield


def _bar5():
    for i in range(5):
        out("I'm bar")
        yield


def scenario_nowait():
    def main():
        child = yield NewTask(_foo5())
        child2 = yield NewTask(_bar5())

    sched = Scheduler()
    sched.new(main())
    sched.mainloop()


def scenario_wait():
    def main():
        child = yield NewTask(_foo5())
        out("Waiting for child")
        yield WaitTask(child)
        out("Child done")
        child2 = yield NewTask(_bar5())

    sched = Scheduler()
    sched.new(main())
    sched.mainloop()


def scenario_message():
    def pong(peer):
        while True:
            msg = yield Recv()
            if msg == "stop":
                out("pong stops")
                break
            out("pong got", msg)
            yield Send(peer, msg.replace("ping", "pong"))

    def main():
        me = yield GetTid()
        child = yield NewTask(pong(me))
        for i in range(3):
            yield Send(child, "ping %d" % i)
            reply = yield Recv()
            out("main got", reply)
        yield Send(child, "stop")
        yield WaitTask(child)
        sent = yield Send(child, "anyone?")
        out("send to exited task:", "true" if sent else "false")
        out("main done")

    sched = Scheduler()
    sched.new(main())
    sched.mainloop()


def scenario_trampoline():
    # Beazley's trampolining: a subroutine is a generator the task yields; it "returns" a
    # value by yielding a plain value, and may itself make system calls.
    def add(x, y):
        yield x + y

    def whoami():
        tid = yield GetTid()
        yield "task %d" % tid

    def greet(name):
        me = yield whoami()          # a subroutine calling a subroutine
        out("%s: hello from %s" % (name, me))
        yield None

    def worker(name, n):
        for i in range(n):
            yield greet(name)

    def main():
        r = yield add(2, 2)
        out("add(2, 2) =", r)
        child = yield NewTask(worker("worker", 2))
        yield greet("main")
        yield WaitTask(child)
        out("main done")

    sched = Scheduler()
    sched.new(main())
    sched.mainloop()


SCENARIOS = {
    "task": scenario_task,
    "scheduler": scenario_scheduler,
    "exit": scenario_exit,
    "gettid": scenario_gettid,
    "kill": scenario_kill,
    "nowait": scenario_nowait,
    "wait": scenario_wait,
    "message": scenario_message,
    "trampoline": scenario_trampoline,
}


# ------------------------------------------------------------
#                    === Echo server ===
# The course's pyos echo server: Accept/Send/Recv subroutines over ReadWait/WriteWait.
# ------------------------------------------------------------
def Accept(sock):
    yield ReadWait(sock)
    yield sock.accept()


def SockSend(sock, buffer):
    while buffer:
        yield WriteWait(sock)
        len_ = sock.send(buffer)
        buffer = buffer[len_:]


def SockRecv(sock, maxbytes):
    yield ReadWait(sock)
    yield sock.recv(maxbytes)


def handle_client(client, addr):
    while True:
        data = yield SockRecv(client, 65536)
        if not data:
            break
        yield SockSend(client, data)
    client.close()


def echo_server(port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(1024)
    print(sock.getsockname()[1], flush=True)
    while True:
        client, addr = yield Accept(sock)
        client.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        yield NewTask(handle_client(client, addr))


def run_echo(port):
    global out
    devnull = open(os.devnull, "w")
    out = lambda *a: print(*a, file=devnull)
    sched = FastScheduler()
    sched.new(echo_server(port))
    try:
        sched.mainloop()
    except KeyboardInterrupt:
        pass


# ------------------------------------------------------------
#                     === Benchmark ===
# ------------------------------------------------------------
def bench_switches(cls, n):
    def pinger():
        for i in range(n):
            yield

    sched = cls()
    sched.new(pinger())
    sched.new(pinger())
    t0 = time.perf_counter()
    sched.mainloop()
    dt = time.perf_counter() - t0
    return 2 * n / dt


def bench_spawn(cls, n):
    def child():
        return
        yield

    def parent():
        for i in range(n):
            yield NewTask(child())

    sched = cls()
    sched.new(parent())
    t0 = time.perf_counter()
    sched.mainloop()
    return time.perf_counter() - t0


def run_bench(args):
    global out
    switches = 1_000_000
    spawn = 1_000_000
    i = 0
    while i < len(args):
        if args[i] == "--switches":
            switches = int(args[i + 1])
            i += 2
        elif args[i] == "--spawn":
            spawn = int(args[i + 1])
            i += 2
        else:
            sys.exit("pyos.py bench: unknown argument %r" % args[i])
    devnull = open(os.devnull, "w")
    out = lambda *a: print(*a, file=devnull)
    # Best of three, as the Rust side does, to take a shared machine's noise out.
    for name, cls in (("queue", Scheduler), ("deque", FastScheduler)):
        rate = max(bench_switches(cls, switches // 2) for _ in range(3))
        print("switches_per_sec_%s %.0f" % (name, rate), flush=True)
        secs = min(bench_spawn(cls, spawn) for _ in range(3))
        print("spawn_exit_%s_secs %.3f %d" % (name, secs, spawn), flush=True)


def main(argv):
    if len(argv) >= 2 and argv[0] == "scenario" and argv[1] in SCENARIOS:
        SCENARIOS[argv[1]]()
    elif argv[:1] == ["scenarios"]:
        for name in SCENARIOS:
            print(name)
    elif len(argv) == 2 and argv[0] == "echo":
        run_echo(int(argv[1]))
    elif argv[:1] == ["bench"]:
        run_bench(argv[1:])
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
