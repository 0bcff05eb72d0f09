#!/usr/bin/env python3
"""pyos: the seed's coroutine "operating system" (Part 7), in Python 3.

This is the reference the Rust scheduler (copipe::sched) is checked against. The OS itself
is the Python package's copipe.sched (python/copipe/sched.py: the seed's Task, Scheduler,
SystemCall, GetTid, NewTask, KillTask and WaitTask, with the course's ReadWait/WriteWait,
trampolining, and Send/Recv); this script runs the seed's programs on it, the course's
echo server, and the benchmark, where the package's deque ready queue is measured beside
the seed's own queue.Queue (SeedQueueScheduler below).

Usage:
    pyos.py scenario NAME     print one scenario's output (names: see SCENARIOS)
    pyos.py scenarios         list the scenario names
    pyos.py echo PORT         echo server on 127.0.0.1 (0 = ephemeral); the first line is the port
    pyos.py bench [--spawn N] [--switches N]
                              scheduler micro-benchmarks, one "key value" line each
"""

import os
import socket
import sys
import time
from queue import Queue

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

from copipe.sched import (  # noqa: E402
    GetTid,
    KillTask,
    NewTask,
    ReadWait,
    Recv,
    Scheduler,
    Send,
    Task,
    WaitTask,
    WriteWait,
)

# The scenarios print through out(): stdout by default, or a counting writer that stops
# the infinite first Scheduler example after a number of lines.
out = print


def kernel_out(line):
    """The schedulers' "Task N terminated" lines go wherever out() goes at the time."""
    out(line)


class SeedQueue(Queue):
    """The seed's thread-safe queue.Queue under the two names the scheduler's loop calls
    (put and a blocking get, as the seed's self.ready.put / self.ready.get)."""

    append = Queue.put
    popleft = Queue.get

    def __len__(self):
        return self.qsize()


class SeedQueueScheduler(Scheduler):
    """The package's scheduler with the seed's queue.Queue as its ready queue: the "queue"
    lines of the benchmark (the default deque ones are "deque")."""

    def __init__(self, out=print):
        Scheduler.__init__(self, out)
        self.ready = SeedQueue()


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

    sched = Scheduler(kernel_out)
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

    sched = Scheduler(kernel_out)
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

    sched = Scheduler(kernel_out)
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

    sched = Scheduler(kernel_out)
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

    sched = Scheduler(kernel_out)
    sched.new(main())
    sched.mainloop()


def scenario_wait():
    def main():
        child = yield NewTask(_foo5())
        out("Waiting for child")
        yield WaitTask(child)
        out("Child done")
        child2 = yield NewTask(_bar5())

    sched = Scheduler(kernel_out)
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

    sched = Scheduler(kernel_out)
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

    sched = Scheduler(kernel_out)
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
    sched = Scheduler(kernel_out)
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

    sched = cls(kernel_out)
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

    sched = cls(kernel_out)
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
    for name, cls in (("queue", SeedQueueScheduler), ("deque", Scheduler)):
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
