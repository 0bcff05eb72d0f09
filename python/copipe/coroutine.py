"""The seed's coroutine API: ``@coroutine``, ``sendto(f)``, ``recvfrom(f, target)``.

The seed pickles one item at a time to a pipe and flushes after each. Here the same two
functions speak a copipe link instead, so the process on the other side may be a Rust stage:
``sendto`` batches events into frames and ``recvfrom`` decodes a frame at a time. Close still
flows down: ``recvfrom`` calls ``target.close()`` at the end-of-stream marker, and closing a
``sendto`` writes that marker.
"""

import contextlib
import functools
import signal
import threading

from . import errors, kinds
from .wire import DEFAULT_MAX_FRAME, FrameReader, FrameWriter
from . import codec

# Writers that recvfrom flushes when it is about to wait for input, so events never sit in a
# buffer while the pipeline is idle (and bulk pipelines still write whole batches).
_open_writers = []
_stop = [False]
class _IoLock:
    """A re-entrant lock that its holder can set aside while it waits for something another
    holder must do first (``with io_lock.aside():``): a ``threaded`` worker whose target is
    another ``threaded`` waits for room in that one's queue, and the thread that empties it
    needs the lock to send."""

    def __init__(self):
        self._lock = threading.RLock()
        self._held = threading.local()  # how many times this thread holds it

    def __enter__(self):
        self._lock.acquire()
        self._held.n = getattr(self._held, "n", 0) + 1

    def __exit__(self, *exc):
        self._held.n -= 1
        self._lock.release()

    @contextlib.contextmanager
    def aside(self):
        held = getattr(self._held, "n", 0)
        for _ in range(held):
            self._lock.release()
        self._held.n = 0
        try:
            yield
        finally:
            for _ in range(held):
                self._lock.acquire()
            self._held.n = held


# Held while a stage's output is touched from outside the main thread's own sends: by a
# ``threaded`` worker around each send, and by ``flush_writers`` and a failing stage's last
# delivery, so a writer is never flushed in the middle of a worker's write.
io_lock = _IoLock()


def coroutine(func):
    """The seed's decorator: calls the generator function and primes it with ``next()``."""

    @functools.wraps(func)
    def start(*args, **kwargs):
        cr = func(*args, **kwargs)
        next(cr)
        return cr

    return start


# Called by flush_writers before it flushes: threaded's waits until its workers have sent
# on everything queued, so what a thread writes is flushed too.
_before_flush = []


def flush_writers():
    """Pushes out what every open ``sendto`` has batched (and any printed text)."""
    import sys

    for wait in _before_flush:
        wait()  # not holding io_lock: a worker takes it to send
    with io_lock:
        for writer in _open_writers:
            writer.flush()
        sys.stdout.flush()


@coroutine
def broadcast(targets):
    """The seed's ``broadcast(targets)``: sends every item to each target in turn. Closing it
    closes every target (the seed's never closes them, so close would not flow down)."""
    try:
        while True:
            item = (yield)
            for target in targets:
                target.send(item)
    except GeneratorExit:
        for target in targets:
            target.close()


def _infer_kind(event):
    if isinstance(event, str):
        return kinds.LINES
    if isinstance(event, dict):
        return kinds.RECORDS
    return kinds.XML


@coroutine
def sendto(f, kind=None, label=None, max_frame=DEFAULT_MAX_FRAME):
    """The seed's ``sendto(f)``: every item sent is written to ``f`` as one event.

    ``f`` is a binary file object or a file descriptor. ``kind`` (``'lines'``, ``'xml'``,
    ``'records'``) is named in the stream header; left out, it is taken from the first item
    (a ``str``, a ``tuple``, a ``dict``), and a stream closed before any item says ``lines``.
    ``close()`` writes the end-of-stream marker.
    """
    label = label or _label(f, "output")
    writer = None if kind is None else FrameWriter(f, kind, label, max_frame)
    if writer:
        _open_writers.append(writer)
    try:
        if writer is None:
            item = yield
            writer = FrameWriter(f, _infer_kind(item), label, max_frame)
            _open_writers.append(writer)
            writer.write(item)
        queue = writer.queue()
        if queue is None:
            write = writer.write
            while True:
                write((yield))
        # Lines and records: queued here, encoded a batch at a time by the writer.
        events, encode, size = queue
        append = events.append
        batch = size()
        while True:
            append((yield))
            if len(events) >= batch:
                encode()
                batch = size()
    except GeneratorExit:
        if writer is None:
            writer = FrameWriter(f, kinds.LINES, label, max_frame)
        else:
            _open_writers.remove(writer)
        writer.close()


def recvfrom(f, target, kind=None, stage=None, max_frame=DEFAULT_MAX_FRAME):
    """The seed's ``recvfrom(f, target)``: sends every event read from ``f`` to ``target``
    and closes ``target`` at the end-of-stream marker.

    ``f`` is a binary file object, a file descriptor or a ``FrameReader``. With ``kind``, a
    stream of another kind is refused (``stage`` names the reader in that message). A stream
    that ends without its end marker, or that is damaged, raises ``CopipeError`` after the
    events before the damage were sent: ``target`` is then not closed, as a failed upstream
    must not look like a finished one.
    """
    reader = f if isinstance(f, FrameReader) else FrameReader(f, _label(f, "input"), max_frame)
    if kind is not None:
        reader.expect_kind(stage or "recvfrom", kind)
    decode = codec.decoder(reader.kind)
    send = target.send
    while True:
        if reader.would_block():
            flush_writers()
        if _stop[0]:
            break
        frame = reader.next_frame()
        if frame is None:
            break
        offset, count, payload = frame
        events, fault = decode(payload, count)
        for event in events:
            send(event)
        if fault:
            raise errors.undecodable(offset, fault)
    target.close()


def stop_on_interrupt():
    """Makes SIGINT and SIGTERM end ``recvfrom`` cleanly at the next frame (a stage reading
    a file is a source, and a source stops cleanly), instead of raising mid-event."""

    def stop(signum, frame):
        _stop[0] = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def _label(f, what):
    if isinstance(f, int):
        return {0: "standard input", 1: "standard output"}.get(f, "descriptor %d" % f)
    name = getattr(f, "name", None)
    if name in (0, "<stdin>"):
        return "standard input"
    if name in (1, "<stdout>"):
        return "standard output"
    return str(name) if name is not None else what
