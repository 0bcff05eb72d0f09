#!/usr/bin/env python3
"""The measurements of benches/python/run.sh (see there). Prints records/s and ratios."""

import os
import resource
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(HERE, "..", "..")
RUNS = int(os.environ.get("RUNS", "3"))


def link(mode, records):
    """Best of RUNS: (records, wall seconds, CPU seconds) of link.py MODE."""
    best = None
    for _ in range(RUNS):
        out = subprocess.run(
            [sys.executable, os.path.join(HERE, "link.py"), mode, records],
            check=True, capture_output=True, text=True,
        ).stdout.split()
        n, wall, cpu = int(out[0]), float(out[1]), float(out[2])
        if best is None or cpu < best[2]:
            best = (n, wall, cpu)
    return best


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def passthrough_stage(records, bin_dir):
    """Best of RUNS: (records, wall, CPU of the Python stage) for
    ``cat records | passthrough.py | co-filter`` (a Rust stage reads what Python wrote)."""
    n = count_records(records, bin_dir)
    best = None
    for _ in range(RUNS):
        with open(records, "rb") as src:
            wall, cpu = stage_run(src, bin_dir)
        if best is None or cpu < best[2]:
            best = (n, wall, cpu)
    return best


def stage_start(records, bin_dir):
    """Best of RUNS: (wall, CPU) of the same pipe carrying an empty stream (the header of the
    records' stream and its end marker): what starting the stage costs, once per run."""
    with open(records, "rb") as f:
        empty = f.read(8) + bytes(12)
    best = None
    for _ in range(RUNS):
        with tempfile.TemporaryFile() as src:
            src.write(empty)
            src.seek(0)
            got = stage_run(src, bin_dir)
        if best is None or got[1] < best[1]:
            best = got
    return best


def stage_run(src, bin_dir):
    """(wall, CPU of the Python process) of ``passthrough.py < src | co-filter``."""
    stage = [sys.executable, os.path.join(ROOT, "python", "tests", "passthrough.py")]
    consumer = [os.path.join(bin_dir, "co-filter"), "no-such-field=x"]
    return pipe_run(src, stage, consumer)


def pipe_run(src, stage, consumer):
    """(wall, CPU of the stage process) of ``stage < src | consumer > /dev/null``."""
    with open(os.devnull, "wb") as null:
        before = children_cpu()
        start = time.perf_counter()
        py = subprocess.Popen(stage, stdin=src, stdout=subprocess.PIPE)
        sink = subprocess.Popen(consumer, stdin=py.stdout, stdout=null)
        py.stdout.close()
        assert py.wait() == 0
        py_cpu = children_cpu() - before
        assert sink.wait() == 0
        return time.perf_counter() - start, py_cpu


def pickle_stage(records, n):
    """Best of RUNS: (records, wall, CPU of the Python stage) for the seed's process-link
    stage, ``recvfrom(stdin, sendto(stdout))`` (pickle per record, flushed per record),
    reading the same records pickled into a file (made untimed) and writing to ``cat``.
    Like (3), the time includes starting the Python process."""
    stage = [sys.executable, os.path.join(HERE, "link.py"), "pickle-stage"]
    with tempfile.NamedTemporaryFile(suffix=".pickle") as pickled:
        subprocess.run(
            [sys.executable, os.path.join(HERE, "link.py"), "pickle-file", records, pickled.name],
            check=True,
        )
        with open(pickled.name, "rb") as src:  # untimed: every record comes out, as it went in
            out = subprocess.run(stage, stdin=src, check=True, capture_output=True).stdout
        with open(pickled.name, "rb") as src:
            assert out == src.read(), "the seed's stage did not pass every record on"
        best = None
        for _ in range(RUNS):
            with open(pickled.name, "rb") as src:
                wall, cpu = pipe_run(src, stage, ["cat"])
            if best is None or cpu < best[2]:
                best = (n, wall, cpu)
    return best


def count_records(records, bin_dir):
    out = subprocess.run(
        [os.path.join(bin_dir, "co-dump"), "--input", records],
        check=True, capture_output=True,
    ).stdout
    return out.count(b"\n")


def show(label, result, bases=()):
    """One line: records/s wall and CPU, then the ratio to each ``(name, base)``."""
    n, wall, cpu = result
    line = "%-58s %8.0f rec/s wall %8.0f rec/s CPU" % (label, n / wall, n / cpu)
    for name, base in bases:
        line += "   %.2fx / %.2fx %s" % (base[1] / wall, base[2] / cpu, name)
    print(line)


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def main(records, bin_dir):
    """Every line is the best of RUNS (by CPU time), records per second by wall time and by
    CPU time of the Python processes (user + system), and each ratio is wall / CPU."""
    size = os.path.getsize(records)
    print(load())
    pickle_link = link("pickle", records)
    n = pickle_link[0]
    print("%d bus records (%.1f MB as a copipe stream), best of %d runs" % (n, size / 1e6, RUNS))
    show("(1) the seed's link: pickle per record, sendto/recvfrom", pickle_link)
    one = [("(1)", pickle_link)]
    show("(2) copipe link: python/copipe sendto/recvfrom", link("copipe", records), one)
    seed_stage = pickle_stage(records, n)
    show("(1b) the seed's link through a Python stage, pickle", seed_stage, one)
    show("(3) Python pass-through stage between Rust stages",
         passthrough_stage(records, bin_dir), one + [("(1b)", seed_stage)])
    wall, cpu = stage_start(records, bin_dir)
    print("    (3) includes starting the stage once: %.0f ms wall, %.0f ms CPU "
          "(an empty stream through the same pipe)" % (wall * 1e3, cpu * 1e3))
    show("(0) for scale: C pickle, dumps+loads, 256 at a time",
         link("pickle-batches", records), one)
    print(load())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
