"""``threaded(target)``: the seed's coroutine that runs its target in a thread (Part 3,
cothread.py), with the manners of the Rust ``stage::Threaded``.

The seed's version has three sharp edges, each smoothed here:

* its queue has no bound, so a fast sender fills memory; here it holds ``capacity`` items and
  a sender waits for room;
* ``close()`` returns before the thread has sent everything on; here it joins the thread, so
  when it returns every item has reached the target and the target is closed;
* an exception in the target kills the thread with a traceback nobody handles, and the sender
  goes on putting items that nobody takes (with a bound, it would wait for ever); here the
  thread keeps taking items and drops them, and the exception is raised in the sender, at its
  next ``send`` or at ``close``, so a stage reports it on one line like any other error.

The thread sends while holding ``io_lock``, so the stage driver's flushes of the outputs
(when the input is idle, and on a failure) never interleave with a write of the thread's
(a thread that waits on another one, ``threaded(f(threaded(g)))``, sets the lock aside while
it waits, or the two would wait for each other); and
before the driver flushes because its input is idle, it waits until every thread has sent on
what it was given, so nothing sits in a queue while the pipeline waits.
"""

import queue
import threading

from .coroutine import _before_flush, coroutine, io_lock

DEFAULT_CAPACITY = 1024

_CLOSE = object()  # send everything queued, then close the target
_DRAIN = object()  # send everything queued, leave the target open (the stage failed)
_live = []  # the workers not closed yet: a failing stage drains them before it delivers


@coroutine
def threaded(target, capacity=DEFAULT_CAPACITY):
    """Sends every item to ``target`` from a thread of its own, through a queue of at most
    ``capacity`` items. ``close()`` waits until the thread has sent everything and closed the
    target; an exception raised by the target comes out of the next ``send`` or ``close``."""
    worker = _Worker(target, capacity)
    try:
        while True:
            worker.put((yield))
    except GeneratorExit:
        worker.finish(_CLOSE)
    except BaseException:  # the target failed (raised here by put): end the thread too
        worker.finish(_DRAIN, reraise=False)
        raise


def close_all():
    """Closes every worker still open, as if its sender had been closed: what a stage does
    once its input has ended (a chain of the seed's coroutines closes what follows it only
    when the garbage collector finalises it). Raises the first failure not raised yet."""
    first = None
    for worker in _outermost_first():
        try:
            worker.finish(_CLOSE)
        except BaseException as e:
            first = first or e
    if first is not None:
        raise first


def _wait_all():
    """Waits until every live worker has sent on what was queued so far. The stage driver
    flushes its outputs after this when its input is idle, so an item never waits in a
    thread's queue while the pipeline is idle."""
    for worker in _outermost_first():
        worker.queue.join()


_before_flush.append(_wait_all)


def drain_all():
    """Lets every live worker send what it has queued, without closing its target: what a
    failing stage calls before it delivers what was produced (no end-of-stream marker)."""
    for worker in _outermost_first():
        worker.finish(_DRAIN, reraise=False)


def _outermost_first():
    """The live workers, the last made first. A worker's target may hold another worker
    (``threaded(f(threaded(g)))``), made before it: ending or waiting for the outer one
    first lets what it still holds reach the inner one while that one still runs."""
    return list(reversed(_live))


class _Worker:
    def __init__(self, target, capacity):
        if capacity < 1:
            raise ValueError("threaded: capacity must be at least 1, not %r" % (capacity,))
        self.target = target
        self.queue = queue.Queue(capacity)
        self.failure = None  # what the target raised; the thread drops what comes after it
        self.raised = False  # the failure has been raised in the sender (once, not again)
        # A daemon: a worker never closed (its sender forgotten) does not hold the
        # interpreter at exit; recvfrom and stage() always close theirs.
        self.thread = threading.Thread(target=self._run, name="copipe-threaded", daemon=True)
        _live.append(self)
        self.thread.start()

    def _run(self):
        get, send = self.queue.get, self.target.send
        done = self.queue.task_done
        while True:
            item = get()
            if item is _CLOSE or item is _DRAIN:
                break
            if self.failure is None:
                try:
                    with io_lock:
                        send(item)
                except BaseException as e:  # raised in the sender instead
                    self.failure = e
            done()
        if item is _CLOSE and self.failure is None:
            try:
                with io_lock:
                    self.target.close()
            except BaseException as e:
                self.failure = e

    def put(self, item):
        if self.failure is not None and not self.raised:
            self._raise()
        try:
            self.queue.put_nowait(item)
        except queue.Full:
            with io_lock.aside():  # the thread that makes room may need it to send
                self.queue.put(item)

    def finish(self, how, reraise=True):
        """Ends the thread after what is queued (``how``: close the target or not)."""
        if self in _live:
            _live.remove(self)
            with io_lock.aside():  # the thread needs it to send what is queued
                self.queue.put(how)
                self.thread.join()
        if reraise and self.failure is not None and not self.raised:
            self._raise()

    def _raise(self):
        self.raised = True
        raise self.failure
