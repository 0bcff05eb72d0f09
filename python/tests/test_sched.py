"""copipe.sched: the seed's Part 7 programs print the seed's results; then the course's next
steps (messages, trampolining, I/O) and each place the module departs from the seed (see its
docstring).

The seed's programs are benches/sched/pyos.py's scenarios (the reference tests/sched.rs
checks the Rust port against), run here on the package with their output captured: written
once, there. The seed's printed results are copied from tests/examples_seed.rs (trailing
blanks of the seed's listing dropped); the message and trampoline results from
tests/sched.rs, which checks the Rust port prints them too."""

import importlib.util
import os
import signal
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from copipe import CopipeError  # noqa: E402
from copipe.sched import (  # noqa: E402
    Deadlock,
    GetTid,
    KillTask,
    NewTask,
    ReadWait,
    Recv,
    Scheduler,
    Send,
    SystemCall,
    Task,
    WaitTask,
    WriteWait,
)

HERE = os.path.dirname(os.path.abspath(__file__))


def _load_pyos():
    path = os.path.join(HERE, "..", "..", "benches", "sched", "pyos.py")
    spec = importlib.util.spec_from_file_location("pyos", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


pyos = _load_pyos()

# A scheduler bug could block in select() or loop forever: the alarm turns that into a
# failure instead of a hung test run.
WATCHDOG_SECS = 60


class Watchdog(Exception):
    pass


def _alarm(signum, frame):
    raise Watchdog("the scheduler did not finish within %d s" % WATCHDOG_SECS)


class SchedTest(unittest.TestCase):
    def setUp(self):
        self.lines = []
        previous = signal.signal(signal.SIGALRM, _alarm)
        signal.alarm(WATCHDOG_SECS)
        self.addCleanup(signal.signal, signal.SIGALRM, previous)
        self.addCleanup(signal.alarm, 0)

    def say(self, *args):
        """The seed's ``print a, b``: one line of the arguments joined by spaces."""
        self.lines.append(" ".join(str(a) for a in args))

    def sched(self):
        return Scheduler(out=self.say)

    def run_main(self, main):
        """Runs ``main()`` as task 1 of a new scheduler, to the end; returns the scheduler."""
        sched = self.sched()
        sched.new(main())
        sched.mainloop()
        return sched

    def assertPrinted(self, expected):
        self.assertEqual(self.lines, expected.split("\n"))

    def assertScenario(self, name, expected):
        """Runs pyos.py's scenario ``name`` on the package, its lines captured."""
        real_out = pyos.out
        pyos.out = self.say
        try:
            pyos.SCENARIOS[name]()
        finally:
            pyos.out = real_out
        self.assertPrinted(expected)


class TheSeedsPrograms(SchedTest):
    """Part 7 of the seed, program by program (pyos.py's scenarios)."""

    def test_task(self):
        # The seed's listing shows "Part 1\nPart 2": it omits the two lines its own code
        # prints before them (the `differs` of tests/examples_seed.rs).
        self.assertScenario("task", "Running foo()\nPart 1\nResuming foo()\nPart 2")

    def test_a_task_made_alone_has_no_id_and_ends_with_stopiteration(self):
        # "If you call t1.run() one more time, you get StopIteration."
        def once():
            yield

        t1 = Task(once())
        self.assertIsNone(t1.tid)
        t1.run()
        with self.assertRaises(StopIteration):
            t1.run()

    def test_scheduler(self):
        # Its tasks never end: the scenario stops after the six lines the seed shows.
        self.assertScenario("scheduler", "I'm foo\nI'm bar\nI'm foo\nI'm bar\nI'm foo\nI'm bar")

    def test_exit(self):
        self.assertScenario(
            "exit",
            "I'm foo\nI'm bar\nI'm foo\nI'm bar\nI'm foo\nI'm bar\nTask 1 terminated\n"
            "I'm bar\nI'm bar\nTask 2 terminated",
        )

    def test_gettid(self):
        self.assertScenario(
            "gettid",
            "I'm foo 1\nI'm bar 2\nI'm foo 1\nI'm bar 2\nI'm foo 1\nI'm bar 2\nI'm foo 1\n"
            "Task 2 terminated\nI'm foo 1\nTask 1 terminated",
        )

    def test_kill(self):
        self.assertScenario(
            "kill",
            "I'm foo 2\nI'm foo 2\nI'm foo 2\nI'm foo 2\nI'm foo 2\nTask 2 terminated\n"
            "main done\nTask 1 terminated",
        )

    def test_without_waittask(self):
        self.assertScenario(
            "nowait",
            "I'm foo\nI'm foo\nI'm bar\nTask 1 terminated\nI'm foo\nI'm bar\nI'm foo\n"
            "I'm bar\nI'm foo\nI'm bar\nTask 2 terminated\nI'm bar\nTask 3 terminated",
        )

    def test_with_waittask(self):
        self.assertScenario(
            "wait",
            "I'm foo\nWaiting for child\nI'm foo\nI'm foo\nI'm foo\nI'm foo\n"
            "Task 2 terminated\nChild done\nI'm bar\nTask 1 terminated\nI'm bar\nI'm bar\n"
            "I'm bar\nI'm bar\nTask 3 terminated",
        )

    def test_calls_on_missing_tasks_return_false(self):
        results = []

        def main():
            results.append((yield KillTask(99)))
            results.append((yield WaitTask(99)))
            results.append((yield Send(99, "hello")))

        self.run_main(main)
        self.assertEqual(results, [False, False, False])
        self.assertPrinted("Task 1 terminated")

    def test_a_system_call_of_ones_own(self):
        # The seed's extension point: subclass SystemCall, use self.task and self.sched.
        class TaskCount(SystemCall):
            def handle(self):
                self.task.sendval = len(self.sched.taskmap)
                self.sched.schedule(self.task)

        def idle():
            yield

        def main():
            yield NewTask(idle())
            self.say("tasks:", (yield TaskCount()))

        self.run_main(main)
        self.assertPrinted("Task 2 terminated\ntasks: 2\nTask 1 terminated")


class BeyondTheSeed(SchedTest):
    """Message passing and trampolining: pyos.py's scenarios, printing what tests/sched.rs
    expects of the Rust port."""

    def test_message(self):
        self.assertScenario(
            "message",
            "pong got ping 0\nmain got pong 0\npong got ping 1\nmain got pong 1\n"
            "pong got ping 2\nmain got pong 2\npong stops\nTask 2 terminated\n"
            "send to exited task: false\nmain done\nTask 1 terminated",
        )

    def test_send_wakes_the_receiver_before_the_sender(self):
        def receiver():
            self.say("got", (yield Recv()))

        def main():
            child = yield NewTask(receiver())
            yield  # the child runs and waits
            self.say("sent", (yield Send(child, "hello")))

        self.run_main(main)
        self.assertPrinted("got hello\nTask 2 terminated\nsent True\nTask 1 terminated")

    def test_messages_queue_in_order(self):
        got = []

        def receiver():
            for i in range(3):
                got.append((yield Recv()))

        def main():
            child = yield NewTask(receiver())
            for word in ("one", "two", "three"):
                yield Send(child, word)

        self.run_main(main)
        self.assertEqual(got, ["one", "two", "three"])

    def test_trampoline(self):
        self.assertScenario(
            "trampoline",
            "add(2, 2) = 4\nworker: hello from task 2\nmain: hello from task 1\n"
            "worker: hello from task 2\nTask 2 terminated\nmain done\nTask 1 terminated",
        )

    def test_a_subroutine_may_return_a_value(self):
        def double(x):
            yield GetTid()
            return 2 * x

        def main():
            self.say("double(21) =", (yield double(21)))

        self.run_main(main)
        self.assertPrinted("double(21) = 42\nTask 1 terminated")


class Departures(SchedTest):
    """Where the module departs from the seed, as the Rust port does."""

    def test_ids_are_per_scheduler(self):
        def idle():
            yield

        first, second = self.sched(), self.sched()
        self.assertEqual([first.new(idle()), first.new(idle())], [1, 2])
        self.assertEqual([second.new(idle()), second.new(idle())], [1, 2])
        first.mainloop()
        second.mainloop()

    def test_a_deadlock_raises_naming_the_stuck_tasks(self):
        def waits_for(peer):
            yield  # so that the peer exists
            yield WaitTask(peer)

        def listener():
            yield Recv()

        def main():
            yield NewTask(waits_for(3))
            yield NewTask(waits_for(2))
            yield NewTask(listener())

        sched = self.sched()
        sched.new(main())
        with self.assertRaises(Deadlock) as caught:
            sched.mainloop()
        err = caught.exception
        self.assertIsInstance(err, CopipeError)
        self.assertEqual(err.tids, [2, 3, 4])
        self.assertEqual(
            str(err),
            "deadlock: no task can run again (task 2 waits for task 3 to exit, "
            "task 3 waits for task 2 to exit, task 4 waits for a message)",
        )
        self.assertPrinted("Task 1 terminated")
        self.assertEqual(sorted(sched.taskmap), [2, 3, 4])

    def test_a_deadlock_with_the_io_task_running_names_only_the_stuck_tasks(self):
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)

        def reader():
            yield ReadWait(r)
            self.say("read", os.read(r, 10).decode())

        def main():
            yield NewTask(reader())
            yield WriteWait(w)
            os.write(w, b"x")
            self.say("main got", (yield Recv()))  # nobody sends, yet

        sched = self.sched()
        sched.new(main())
        with self.assertRaises(Deadlock) as caught:
            sched.mainloop()
        # main (1), reader (2), then the I/O task (3), which is not named.
        self.assertEqual(caught.exception.tids, [1])
        self.assertPrinted("read x\nTask 2 terminated")

        # The scheduler is left as it was: a new task may still use I/O and free main.
        def rescue():
            os.write(w, b"y")
            yield ReadWait(r)
            self.say("rescue read", os.read(r, 10).decode())
            yield Send(1, "wake up")

        self.assertEqual(sched.new(rescue()), 4)
        sched.mainloop()
        self.assertEqual(
            self.lines[2:],
            ["rescue read y", "main got wake up", "Task 1 terminated", "Task 4 terminated",
             "Task 3 terminated"],
        )

    def test_killing_the_parked_io_task_reaps_it(self):
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)

        def main():
            os.write(w, b"x")
            yield ReadWait(r)
            os.read(r, 1)
            yield Recv()  # nobody sends, yet

        sched = self.sched()
        sched.new(main())
        with self.assertRaises(Deadlock):
            sched.mainloop()  # the I/O task (2) has left the ready queue

        def killer():
            self.say("killed:", (yield KillTask(2)))
            yield Send(1, "wake up")

        sched.new(killer())
        sched.mainloop()
        self.assertPrinted(
            "Task 2 terminated\nkilled: True\nTask 1 terminated\nTask 3 terminated"
        )

    def test_killing_the_io_task_starts_another_for_its_waiters(self):
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)

        def reader():
            yield ReadWait(r)
            self.say("read", os.read(r, 10).decode())

        def main():
            yield NewTask(reader())  # 2, which starts the I/O task (3); then 4
            yield
            self.say("killed:", (yield KillTask(3)))
            yield
            os.write(w, b"x")

        self.run_main(main)
        self.assertPrinted(
            "Task 3 terminated\nkilled: True\nTask 1 terminated\nread x\n"
            "Task 2 terminated\nTask 4 terminated"
        )

    def cleanup_noted(self, name, blocking_call):
        """A task that makes one blocking call and notes its cleanup (GeneratorExit)."""

        def task():
            try:
                yield blocking_call
                self.say(name, "resumed")
            finally:
                self.say(name, "closed")

        return task()

    def kill_after(self, victim):
        def main():
            child = yield NewTask(victim)
            yield  # the child runs and blocks
            self.say("killed:", (yield KillTask(child)))
            self.say("main done")

        return main()

    def test_killing_a_task_blocked_in_waittask_reaps_it(self):
        # The victim (2) waits for main (1), which kills it.
        sched = self.sched()
        sched.new(self.kill_after(self.cleanup_noted("waiter", WaitTask(1))))
        sched.mainloop()
        self.assertPrinted(
            "waiter closed\nTask 2 terminated\nkilled: True\nmain done\nTask 1 terminated"
        )
        self.assertEqual(sched.exit_waiting, {})

    def test_killing_a_task_blocked_in_recv_reaps_it(self):
        sched = self.sched()
        sched.new(self.kill_after(self.cleanup_noted("receiver", Recv())))
        sched.mainloop()
        self.assertPrinted(
            "receiver closed\nTask 2 terminated\nkilled: True\nmain done\nTask 1 terminated"
        )
        self.assertEqual(sched.msg_waiting, {})

    def test_killing_a_task_blocked_in_readwait_reaps_it(self):
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        sched = self.sched()
        sched.new(self.kill_after(self.cleanup_noted("reader", ReadWait(r))))
        sched.mainloop()
        # main (1), reader (2), the I/O task (3), which ends once it is the last task.
        self.assertPrinted(
            "reader closed\nTask 2 terminated\nkilled: True\nmain done\n"
            "Task 1 terminated\nTask 3 terminated"
        )
        self.assertEqual(sched.read_waiting, {})

    def test_killing_a_task_inside_a_subroutine_closes_its_whole_stack(self):
        say = self.say

        def subroutine():
            try:
                while True:
                    yield GetTid()  # a system call: stays in the subroutine
            finally:
                say("subroutine closed")

        def task():
            try:
                yield subroutine()
                say("caller resumed")
            finally:
                say("caller closed")

        sched = self.sched()
        sched.new(self.kill_after(task()))
        sched.mainloop()
        self.assertPrinted(
            "subroutine closed\ncaller closed\nTask 2 terminated\nkilled: True\n"
            "main done\nTask 1 terminated"
        )

    def test_killing_a_task_blocked_in_a_subroutine_ends_it(self):
        say = self.say

        def subroutine():
            try:
                yield Recv()
            finally:
                say("subroutine closed")

        def task():
            yield subroutine()
            say("caller resumed")

        sched = self.sched()
        sched.new(self.kill_after(task()))
        sched.mainloop()
        self.assertPrinted(
            "subroutine closed\nTask 2 terminated\nkilled: True\nmain done\nTask 1 terminated"
        )

    def test_waiting_for_yourself_returns_false(self):
        def main():
            me = yield GetTid()
            self.say("waited:", (yield WaitTask(me)))

        self.run_main(main)
        self.assertPrinted("waited: False\nTask 1 terminated")

    def test_killing_yourself_ends_you_at_once(self):
        def main():
            me = yield GetTid()
            yield KillTask(me)
            self.say("still here")

        self.run_main(main)
        self.assertPrinted("Task 1 terminated")


class Io(SchedTest):
    """ReadWait/WriteWait over real descriptors."""

    def socketpair(self):
        a, b = socket.socketpair()
        self.addCleanup(a.close)
        self.addCleanup(b.close)
        a.setblocking(False)
        b.setblocking(False)
        return a, b

    def test_a_reader_sleeps_until_a_writer_writes(self):
        a, b = self.socketpair()
        say = self.say

        def reader():
            say("reader waits")
            yield ReadWait(a)
            say("reader got", a.recv(100).decode())

        def writer():
            for i in range(3):
                say("writer", i)
                yield
            yield WriteWait(b)
            b.send(b"hello")

        sched = self.sched()
        sched.new(reader())
        sched.new(writer())
        sched.mainloop()
        self.assertPrinted(
            "reader waits\nwriter 0\nwriter 1\nwriter 2\nTask 2 terminated\n"
            "reader got hello\nTask 1 terminated\nTask 3 terminated"
        )

    def test_a_large_transfer_waits_for_writability(self):
        a, b = self.socketpair()
        payload = bytes(range(256)) * 8192  # 2 MiB: far more than a socket buffer
        received = bytearray()
        writes = [0]

        def sender():
            view = memoryview(payload)
            while view:
                yield WriteWait(a)
                n = a.send(view[:65536])
                writes[0] += 1
                view = view[n:]
            a.shutdown(socket.SHUT_WR)

        def receiver():
            while True:
                yield ReadWait(b)
                data = b.recv(65536)
                if not data:
                    break
                received.extend(data)

        sched = self.sched()
        sched.new(receiver())
        sched.new(sender())
        sched.mainloop()
        self.assertEqual(bytes(received), payload)
        self.assertGreater(writes[0], 1)
        self.assertEqual(sched.taskmap, {})

    def test_pipes_by_descriptor_and_several_readers_of_one(self):
        r, w = os.pipe()
        self.addCleanup(os.close, r)
        self.addCleanup(os.close, w)
        got = []

        def reader(name):
            yield ReadWait(r)
            got.append((name, os.read(r, 1)))

        def main():
            yield NewTask(reader("a"))
            yield NewTask(reader("b"))
            yield
            yield WriteWait(w)
            os.write(w, b"xy")

        sched = self.run_main(main)
        self.assertEqual(got, [("a", b"x"), ("b", b"y")])
        self.assertEqual(sched.taskmap, {})

    def test_the_io_task_starts_lazily_and_can_start_again(self):
        a, b = self.socketpair()
        tids = []

        def main():
            tids.append((yield GetTid()))
            b.send(b"1")
            yield ReadWait(a)
            a.recv(1)

        sched = self.run_main(main)
        self.assertPrinted("Task 1 terminated\nTask 2 terminated")
        sched.new(main())
        sched.mainloop()
        self.assertEqual(tids, [1, 3])
        self.assertEqual(self.lines[2:], ["Task 3 terminated", "Task 4 terminated"])


if __name__ == "__main__":
    unittest.main()
