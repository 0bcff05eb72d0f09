"""The framing of a link, as shared/link/frame.rs writes and reads it.

::

    header   b"\\xC0PIPE"  version:u8 (2)  kind:u8  reserved:u8 (0)         8 bytes
    frame    length:u32le  events:u32le  crc32:u32le  payload[length]   one or more events
    end      length = 0, events = 0, crc32 = 0                          written by close()

``crc32`` is ``zlib.crc32(payload, zlib.crc32(events as 4 bytes little-endian))``: the
event count and the payload. Streams of one kind written back to back read as one;
anything else after an end marker is an error.

Writers batch events into frames of about 32 KiB and hand them to the OS only when a batch
fills, on ``flush()`` (a stage flushes when it is about to wait for input) and at ``close()``.
Lines and records are also *encoded* a batch at a time (up to 256 events, fewer when events
are large): a ``write()`` only queues its event, so an event that cannot be encoded is
reported by the ``write()`` that completes its batch, or by ``flush()`` or ``close()``; the
message shows the event, and the events queued before and after it are kept.
Readers bound every frame before reading it and tell a stream that ends without the end
marker (a failed upstream) from one that was closed.
"""

import os
import struct
import zlib

from . import codec, errors, kinds

MAGIC = b"\xc0PIPE"
VERSION = 2
HEADER_LEN = 8
FRAME_HEADER_LEN = 12
DEFAULT_MAX_FRAME = 16 << 20
BATCH_BYTES = 32 << 10
WRITE_CHUNK = 64 << 10
MAX_BATCH_EVENTS = 256
BATCH_TARGET = 64 << 10  # bytes one batch of encoding aims at
READ_CHUNK = 256 << 10
END = bytes(FRAME_HEADER_LEN)

_FRAME_HEADER = struct.Struct("<III")
_COUNT = struct.Struct("<I")


def checksum(events, payload):
    """The CRC-32 of the event count (4 bytes, little-endian) followed by the payload."""
    return zlib.crc32(payload, zlib.crc32(_COUNT.pack(events)))


def header(kind):
    """The 8-byte stream header for ``kind`` events."""
    return MAGIC + bytes([VERSION, kinds.tag(kind), 0])


def _read_function(source):
    """A ``read(n)`` that returns at most ``n`` bytes, ``b""`` at end of input."""
    if isinstance(source, int):
        return lambda n: os.read(source, n)
    return getattr(source, "read1", None) or source.read


def _write_functions(sink):
    """``(write_all(data), flush())`` for a descriptor or a binary file object."""
    if isinstance(sink, int):

        def write_all(data):
            view = memoryview(data)
            while view:
                view = view[os.write(sink, view) :]

        return write_all, lambda: None
    return sink.write, sink.flush


def _check_header(head, offset):
    """The kind a stream header (``head``: what arrived of it, at ``offset``) announces."""
    n = min(len(head), len(MAGIC))
    if head[:n] != MAGIC[:n]:
        raise errors.not_copipe(head)
    if len(head) < HEADER_LEN:
        raise errors.truncated(offset)
    if head[5] != VERSION:
        raise errors.version(head[5], VERSION)
    kind = kinds.from_tag(head[6])
    if kind is None:
        raise errors.unknown_kind(head[6])
    if head[7] != 0:
        raise errors.reserved(offset + 7, head[7])
    return kind


class FrameReader:
    """Reads a stream: checks its header, then hands out whole frames.

    ``source`` is a file descriptor or a binary file object; ``label`` names it in errors.
    """

    def __init__(self, source, label="standard input", max_frame=DEFAULT_MAX_FRAME):
        self._read = _read_function(source)
        self.label = label
        self.max_frame = max(1, max_frame)
        self._buf = b""
        self._pos = 0
        self._eof = False
        self.offset = 0
        self.ended = False
        self.events = 0
        self.bytes = 0
        self.kind = self._read_header()

    def _fill(self, want):
        """Makes ``want`` bytes available unless the input ends; returns how many are."""
        have = len(self._buf) - self._pos
        while have < want and not self._eof:
            try:
                chunk = self._read(max(READ_CHUNK, want - have))
            except OSError as e:
                if isinstance(e, BrokenPipeError):
                    raise
                raise errors.io_error("reading %s" % self.label, e) from None
            if not chunk:
                self._eof = True
                break
            self._buf = self._buf[self._pos :] + chunk if have else chunk
            self._pos = 0
            have = len(self._buf)
        return min(have, want)

    def _take(self, n):
        out = self._buf[self._pos : self._pos + n]
        self._pos += n
        self.offset += n
        return out

    def _read_header(self):
        have = self._fill(HEADER_LEN)
        if have == 0:
            raise errors.empty_input()
        kind = _check_header(self._buf[self._pos : self._pos + have], 0)
        self._take(HEADER_LEN)
        return kind

    def expect_kind(self, stage, expected):
        """Fails unless the stream carries ``expected`` events; ``stage`` names the reader."""
        if self.kind != expected:
            raise errors.wrong_kind(stage, expected, self.kind)

    def would_block(self):
        """True when nothing is buffered: the next frame needs a read that may wait. The
        moment to flush what this stage has written."""
        return self._pos == len(self._buf) and not self._eof

    def next_frame(self):
        """``(offset, events, payload)`` of the next frame, or ``None`` after the end marker."""
        while not self.ended:
            offset = self.offset
            have = self._fill(FRAME_HEADER_LEN)
            if have == 0:
                raise errors.missing_end(offset)
            if have < FRAME_HEADER_LEN:
                raise errors.truncated(offset)
            length, events, crc = _FRAME_HEADER.unpack_from(self._buf, self._pos)
            if length == 0:
                self._end_marker(offset, events, crc)
                continue
            if length > self.max_frame:
                raise errors.frame_too_large(offset, length, self.max_frame)
            if events == 0 or events > length:
                raise errors.undecodable(
                    offset, "frame of %d bytes claims %d events" % (length, events)
                )
            total = FRAME_HEADER_LEN + length
            if self._fill(total) < total:
                raise errors.truncated(offset)
            start = self._pos + FRAME_HEADER_LEN
            payload = self._buf[start : self._pos + total]  # one copy, not two
            self._pos += total
            self.offset += total
            found = checksum(events, payload)
            if found != crc:
                raise errors.checksum(offset, crc, found)
            self.events += events
            self.bytes += total
            return offset, events, payload
        return None

    def _end_marker(self, offset, events, crc):
        """Consumes an end marker; past it, end of input ends the stream, a header of the
        same kind continues it, anything else is an error."""
        self._take(FRAME_HEADER_LEN)
        if events:
            raise errors.undecodable(offset, "empty frame claims %d events" % events)
        if crc:
            raise errors.undecodable(offset, "end marker carries checksum 0x%08x, not 0" % crc)
        after = self.offset
        have = self._fill(HEADER_LEN)
        if have == 0:
            self.ended = True
            return
        head = self._buf[self._pos : self._pos + have]
        if head[0] != MAGIC[0]:
            raise errors.after_end(after, head)
        kind = _check_header(head, after)
        if kind != self.kind:
            raise errors.appended_kind(after, self.kind, kind)
        self._take(HEADER_LEN)

    def __iter__(self):
        """Every event of the stream, in order (raises on a bad stream)."""
        decode = codec.decoder(self.kind)
        while True:
            frame = self.next_frame()
            if frame is None:
                return
            offset, count, payload = frame
            events, fault = decode(payload, count)
            yield from events
            if fault:
                raise errors.undecodable(offset, fault)


class FrameWriter:
    """Writes a stream: header, batched frames, end marker.

    ``sink`` is a file descriptor or a binary file object; ``label`` names it in errors.
    """

    def __init__(self, sink, kind, label="standard output", max_frame=DEFAULT_MAX_FRAME):
        self._write_all, self._flush = _write_functions(sink)
        self.kind = kind
        self.label = label
        self.max_frame = max(1, max_frame)
        self._encode = codec.encoder(kind)
        self._encode_batch = codec.batch_encoder(kind)
        self._queue = []
        self._batch = MAX_BATCH_EVENTS if self._encode_batch else 0
        self._buf = bytearray(header(kind))
        self._start = 0
        self._count = 0
        self.closed = False
        self.events = 0
        self.bytes = 0

    def write(self, event):
        """Appends one event to the stream (queued, for the kinds encoded in batches)."""
        if self.closed:
            raise errors.CopipeError("write to %s after its stream was closed" % self.label)
        if self._batch:
            self._queue.append(event)
            if len(self._queue) >= self._batch:
                self._encode_queue()
            return
        self._write_one(event)

    def queue(self):
        """``(events, encode, size)`` for a producer that queues events itself, as ``sendto``
        does (one Python call less per event): append to ``events`` and call ``encode()``
        once it holds ``size()`` events. ``None`` for a kind encoded event by event."""
        if not self._batch:
            return None
        return self._queue, self._encode_queue, lambda: self._batch

    def _encode_queue(self, skip_bad=False):
        """Encodes the queued events into the stream, in order. On an event that cannot be
        encoded: delivers what came before it, keeps what came after it queued, and raises
        (or, with ``skip_bad``, drops it and goes on: a failing stage's last delivery)."""
        while self._queue:
            events = self._queue[:]
            self._queue.clear()  # the same list: sendto appends to it directly
            data = self._encode_batch(events)
            if data is not None and len(data) <= self.max_frame:
                self._append_encoded(data, len(events))
                # Large events, smaller batches: the queue holds about BATCH_TARGET bytes.
                per_event = len(data) // len(events) + 1
                self._batch = max(1, min(MAX_BATCH_EVENTS, BATCH_TARGET // per_event))
                return
            for k, event in enumerate(events):
                try:
                    self._write_one(event)
                except errors.CopipeError:
                    self._queue[:] = events[k + 1 :]
                    if not skip_bad:
                        self._finish_frame()
                        self._write_pending()
                        raise
            return

    def _append_encoded(self, data, count):
        """Appends ``count`` events already encoded as ``data`` (at most ``max_frame`` bytes)."""
        buf = self._buf
        if self._count and len(buf) - self._start - FRAME_HEADER_LEN + len(data) > self.max_frame:
            self._finish_frame()
        if not self._count:
            self._start = len(buf)
            buf += END
        buf += data
        self._count += count
        if len(buf) - self._start - FRAME_HEADER_LEN >= BATCH_BYTES:
            self._finish_frame()
            if len(buf) >= WRITE_CHUNK:
                self._write_pending()

    def _write_one(self, event):
        """Encodes one event into the current frame."""
        buf = self._buf
        if not self._count:
            self._start = len(buf)
            buf += END
        before = len(buf)
        try:
            self._encode(buf, event)
        except (AttributeError, TypeError, ValueError) as e:
            # Leave nothing of the event behind (nor the header of a frame it opened).
            del buf[before if self._count else self._start :]
            raise codec.encode_error(self.kind, event, e) from None
        payload = len(buf) - self._start - FRAME_HEADER_LEN
        if payload > self.max_frame:
            self._split_oversized(before)
        self._count += 1
        if payload >= BATCH_BYTES:
            self._finish_frame()
            if len(buf) >= WRITE_CHUNK:
                self._write_pending()

    def _split_oversized(self, event_start):
        """The frame grew past the limit with the event at ``event_start``: refuse an event
        too large on its own, else move it to a frame of its own."""
        buf = self._buf
        size = len(buf) - event_start
        if size > self.max_frame or not self._count:
            del buf[event_start:]
            if not self._count:
                del buf[self._start :]
            raise errors.event_too_large(size, self.max_frame)
        event = bytes(buf[event_start:])
        del buf[event_start:]
        self._finish_frame()
        self._start = len(buf)
        buf += END
        buf += event

    def _finish_frame(self):
        if not self._count:
            return
        length = len(self._buf) - self._start - FRAME_HEADER_LEN
        crc = checksum(self._count, memoryview(self._buf)[self._start + FRAME_HEADER_LEN :])
        _FRAME_HEADER.pack_into(self._buf, self._start, length, self._count, crc)
        self.events += self._count
        self.bytes += length + FRAME_HEADER_LEN
        self._count = 0

    def _write_pending(self):
        if self._buf:
            try:
                self._write_all(self._buf)
            except OSError as e:
                self.abandon()  # the output is gone: never try it again
                if isinstance(e, BrokenPipeError):
                    raise
                raise errors.io_error("writing to %s" % self.label, e) from None
            self._buf = bytearray()

    def flush(self, skip_bad=False):
        """Sends everything written so far on its way. ``skip_bad``: drop events that cannot
        be encoded instead of raising (a failing stage delivering what it can)."""
        if self.closed and not self._buf:
            return
        self._encode_queue(skip_bad)
        self._finish_frame()
        self._write_pending()
        try:
            self._flush()
        except BrokenPipeError:
            raise
        except OSError as e:
            raise errors.io_error("writing to %s" % self.label, e) from None

    def abandon(self):
        """Gives up the stream without its end-of-stream marker: after a failure, so that the
        reader reports a failed upstream instead of a finished one. Later writes, flushes and
        closes do nothing (a generator closed by the garbage collector must not end the
        stream cleanly)."""
        self.closed = True
        self._count = 0
        self._queue.clear()
        self._buf = bytearray()

    def close(self):
        """Ends the stream with the end-of-stream marker and flushes. Idempotent."""
        if self.closed:
            return
        self._encode_queue()
        self._finish_frame()
        self._buf += END
        self.closed = True
        self.flush()
