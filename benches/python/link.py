#!/usr/bin/env python3
"""One process link, Python to Python, timed: the seed's (pickle per record, flushed per
record) or copipe's (framed bincode, batched), carrying the same records.

    link.py pickle|copipe RECORDS.bin

Loads the records (a copipe records stream) into dicts first, untimed; then forks a
consumer running ``recvfrom(pipe, counter())`` and drives ``sendto(pipe)`` with every
record; prints ``records wall-seconds cpu-seconds`` (CPU of both processes) once the
consumer has counted them all.

Two more modes make the seed's own process-link *stage*, for the like-for-like baseline of
a copipe pass-through stage (one process doing both the reading and the writing):

    link.py pickle-file RECORDS.bin OUT.pickle   the records pickled one by one into a file,
                                                 as the seed's sendto writes them (untimed)
    link.py pickle-stage                         recvfrom(stdin, sendto(stdout)), the seed's
                                                 code with cPickle as pickle; timed outside
    link.py pickle-batches RECORDS.bin           for scale: C pickle dumps+loads of the
                                                 records 256 at a time, one process, timed
"""

import os
import pickle
import resource
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "python"))

import copipe  # noqa: E402
from copipe import coroutine  # noqa: E402


# The seed's process link (Part 3), in Python 3: cPickle is pickle.
@coroutine
def pickle_sendto(f):
    try:
        while True:
            item = (yield)
            pickle.dump(item, f)
            f.flush()
    except GeneratorExit:
        f.close()


def pickle_recvfrom(f, target):
    try:
        while True:
            item = pickle.load(f)
            target.send(item)
    except EOFError:
        target.close()


@coroutine
def counter(result_fd, cpu_start):
    n = 0
    try:
        while True:
            (yield)
            n += 1
    except GeneratorExit:
        os.write(result_fd, b"%d %f\n" % (n, cpu() - cpu_start))


def cpu():
    """CPU seconds of this process, user and system: on a loaded machine the fair measure
    (wall time depends on who else runs; this does not, much)."""
    r = resource.getrusage(resource.RUSAGE_SELF)  # microseconds, where os.times() has ticks
    return r.ru_utime + r.ru_stime


def main(mode, path):
    with open(path, "rb") as f:
        records = list(copipe.FrameReader(f))
    r, w = os.pipe()
    done_r, done_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        if mode == "pickle":
            pickle_recvfrom(os.fdopen(r, "rb"), counter(done_w, cpu()))
        else:
            copipe.recvfrom(r, counter(done_w, cpu()))
        os._exit(0)
    os.close(r)
    start = time.perf_counter()
    cpu_start = cpu()
    if mode == "pickle":
        target = pickle_sendto(os.fdopen(w, "wb"))
    else:
        target = copipe.sendto(w, copipe.RECORDS)
    for record in records:
        target.send(record)
    target.close()
    if mode != "pickle":
        os.close(w)
    sender_cpu = cpu() - cpu_start
    received, receiver_cpu = os.read(done_r, 64).split()
    elapsed = time.perf_counter() - start
    os.waitpid(pid, 0)
    assert int(received) == len(records), (received, len(records))
    print(received.decode(), "%.4f" % elapsed, "%.4f" % (sender_cpu + float(receiver_cpu)))


def pickle_file(path, out):
    """The records of a copipe stream, pickled one by one (as ``pickle_sendto`` writes them)."""
    with open(path, "rb") as f, open(out, "wb") as o:
        target = pickle_sendto(o)
        for record in copipe.FrameReader(f):
            target.send(record)
        target.close()


def pickle_batches(path):
    """For scale, not a link: the records pickled and unpickled 256 at a time, in one
    process, by CPython's C pickle with no Python code per record (``dumps`` of a list,
    ``loads`` of its bytes). The least a pure-Python stage could spend to take records in
    and send them on, were its wire format one that a standard-library C routine parses
    (copipe's length-prefixed bincode is not: finding its values takes code of ours)."""
    with open(path, "rb") as f:
        records = list(copipe.FrameReader(f))
    start = time.perf_counter()
    cpu_start = cpu()
    n = 0
    for i in range(0, len(records), 256):
        n += len(pickle.loads(pickle.dumps(records[i : i + 256], pickle.HIGHEST_PROTOCOL)))
    elapsed = time.perf_counter() - start
    print(n, "%.4f" % elapsed, "%.4f" % (cpu() - cpu_start))


def pickle_stage():
    """The seed's process link as a stage: every record from stdin to stdout, each one
    unpickled, then pickled and flushed, by the seed's own two coroutines."""
    pickle_recvfrom(sys.stdin.buffer, pickle_sendto(sys.stdout.buffer))


if __name__ == "__main__":
    if sys.argv[1] == "pickle-file":
        pickle_file(sys.argv[2], sys.argv[3])
    elif sys.argv[1] == "pickle-stage":
        pickle_stage()
    elif sys.argv[1] == "pickle-batches":
        pickle_batches(sys.argv[2])
    else:
        main(sys.argv[1], sys.argv[2])
