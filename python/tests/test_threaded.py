"""The seed's ``broadcast`` and ``threaded`` (Part 3), as the package has them: close flows
down through both, ``threaded`` keeps order, bounds its queue, joins on close, and raises its
target's failure in the sender."""

import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from copipe import FrameReader, FrameWriter, broadcast, coroutine, threaded  # noqa: E402

PACKAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")

DEADLINE = 30.0


def wait_until(condition, what):
    """Polls ``condition`` until it holds (a generous deadline: machines are busy)."""
    end = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.001)


@coroutine
def collector(got, threads=None, closed=None, fail_at=None, gate=None):
    """Appends what it is sent to ``got`` (and the sending thread to ``threads``); raises at
    item ``fail_at``; waits for ``gate`` before each item; sets ``closed`` on close."""
    try:
        while True:
            item = (yield)
            if gate is not None:
                gate.wait()
            if fail_at is not None and item == fail_at:
                raise KeyError("route")
            got.append(item)
            if threads is not None:
                threads.add(threading.get_ident())
    except GeneratorExit:
        if closed is not None:
            closed.set()


class Broadcast(unittest.TestCase):
    def test_every_target_gets_every_item_in_turn_and_close_reaches_all(self):
        order = []
        closed = [threading.Event() for _ in range(3)]
        targets = [collector(order, closed=closed[n]) for n in range(3)]
        b = broadcast(targets)
        for item in ("a", "b"):
            b.send(item)
        self.assertEqual(order, ["a", "a", "a", "b", "b", "b"])
        self.assertFalse(any(c.is_set() for c in closed))
        b.close()
        self.assertTrue(all(c.is_set() for c in closed))


class Threaded(unittest.TestCase):
    def test_items_arrive_in_order_from_another_thread_and_close_joins(self):
        got, threads, closed = [], set(), threading.Event()
        target = collector(got, threads, closed)  # held here: only close() can close it
        t = threaded(target, capacity=8)
        items = list(range(1000))
        for item in items:
            t.send(item)
        t.close()  # returns only once everything reached the target and it was closed
        self.assertEqual(got, items)
        self.assertTrue(closed.is_set())
        self.assertEqual(len(threads), 1)
        self.assertNotIn(threading.get_ident(), threads)

    def test_the_queue_is_bounded_a_fast_sender_waits(self):
        got, gate = [], threading.Event()
        t = threaded(collector(got, gate=gate), capacity=3)
        sent = []

        def sender():
            for item in range(50):
                t.send(item)
                sent.append(item)

        s = threading.Thread(target=sender)
        s.start()
        try:
            # The target holds item 0 at the gate and 3 wait in the queue: the sender has
            # put 4 and must wait for room for the 5th.
            wait_until(lambda: len(sent) == 4, "the sender to fill the queue")
            s.join(0.3)
            self.assertTrue(s.is_alive())
            self.assertEqual(len(sent), 4)
        finally:
            gate.set()
            s.join(DEADLINE)
        t.close()
        self.assertEqual(got, list(range(50)))

    def test_a_failing_target_is_raised_in_the_sender_and_never_blocks_it(self):
        got = []
        t = threaded(collector(got, fail_at=5), capacity=2)
        with self.assertRaises(KeyError) as caught:
            for item in range(10_000):  # far more than the queue holds
                t.send(item)
            t.close()
        self.assertEqual(caught.exception.args, ("route",))
        self.assertEqual(got, [0, 1, 2, 3, 4])  # what came before the failure arrived
        with self.assertRaises(StopIteration):
            t.send("after")  # like any coroutine that raised: finished

    def test_a_failure_at_the_last_item_comes_out_of_close(self):
        got = []
        t = threaded(collector(got, fail_at="last"))
        t.send("first")
        t.send("last")
        with self.assertRaises(KeyError):
            t.close()
        self.assertEqual(got, ["first"])

    def test_close_flows_down_through_broadcast_into_threads(self):
        got = [[], []]
        closed = [threading.Event(), threading.Event()]
        b = broadcast([threaded(collector(got[n], closed=closed[n])) for n in range(2)])
        for item in "abc":
            b.send(item)
        b.close()
        self.assertEqual(got, [list("abc"), list("abc")])
        self.assertTrue(all(c.is_set() for c in closed))

    def test_nested_threads_pass_everything_on_and_close(self):
        # threaded(threaded(target)), the inner queue small: the outer thread waits for room
        # in it, and closing the outer one closes the inner one from the outer thread. Each
        # time the waiting thread must let the other one send.
        got, closed = [], threading.Event()
        target = collector(got, closed=closed)
        outer = threaded(threaded(target, capacity=2), capacity=8)

        def send_and_close():
            for item in range(500):
                outer.send(item)
            outer.close()

        closer = threading.Thread(target=send_and_close)
        closer.start()
        closer.join(DEADLINE)
        self.assertFalse(closer.is_alive(), "the nested threads waited for each other")
        self.assertEqual(got, list(range(500)))
        self.assertTrue(closed.is_set())

    def test_a_failing_stage_drains_nested_threads_outermost_first(self):
        # threaded(threaded(target)): the inner queue holds 2 and the target is held at a
        # gate, so most items wait in the outer queue. Draining (what a failing stage does
        # before its last delivery) must pass them all on, through the inner thread, and
        # leave the target open (no end of stream after a failure).
        from copipe.threaded import drain_all

        got, gate, closed = [], threading.Event(), threading.Event()
        target = collector(got, gate=gate, closed=closed)
        outer = threaded(threaded(target, capacity=2), capacity=100)
        for item in range(50):
            outer.send(item)
        drainer = threading.Thread(target=drain_all)
        drainer.start()
        gate.set()
        drainer.join(DEADLINE)
        self.assertFalse(drainer.is_alive(), "drain_all did not finish")
        self.assertEqual(got, list(range(50)))
        self.assertFalse(closed.is_set())

    def test_capacity_below_one_is_refused(self):
        with self.assertRaises(ValueError):
            threaded(collector([]), capacity=0)


STAGE = """
import sys
sys.path.insert(0, %r)
from copipe import LINES, coroutine, stage, threaded

@coroutine
def upper(target):
    while True:
        target.send((yield).upper())

stage(lambda target: threaded(upper(target)), input=LINES, output=LINES)
"""


class InAStage(unittest.TestCase):
    def test_what_a_thread_sent_is_flushed_while_the_input_is_idle(self):
        # A stage flushes its output when its input has nothing more for now: what its
        # thread was given must be out too, not left in the thread's queue or its writer's
        # batch until more input comes.
        # A directory of its own: the script's directory comes first on sys.path.
        scratch = tempfile.TemporaryDirectory()
        self.addCleanup(scratch.cleanup)
        script = os.path.join(scratch.name, "upper_stage.py")
        with open(script, "w") as f:
            f.write(STAGE % PACKAGE)
        proc = subprocess.Popen(
            [sys.executable, script], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )
        try:
            events = queue.Queue()
            reader = threading.Thread(
                target=lambda: [events.put(e) for e in FrameReader(proc.stdout)], daemon=True
            )
            reader.start()
            writer = FrameWriter(proc.stdin, "lines")
            for line in ("python", "generators"):
                writer.write(line)
                writer.flush()  # and no more input for now
                self.assertEqual(events.get(timeout=DEADLINE), line.upper())
            writer.close()
            proc.stdin.close()
            self.assertEqual(proc.wait(DEADLINE), 0)
            reader.join(DEADLINE)
            self.assertTrue(events.empty())
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdin.close()
            proc.stdout.close()


if __name__ == "__main__":
    unittest.main()
