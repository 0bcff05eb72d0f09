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
    stage = os.path.join(ROOT, "python", "tests", "passthrough.py")
    with open(os.devnull, "wb") as null:
        before = children_cpu()
        start = time.perf_counter()
        py = subprocess.Popen([sys.executable, stage], stdin=src, stdout=subprocess.PIPE)
        rust = subprocess.Popen(
            [os.path.join(bin_dir, "co-filter"), "no-such-field=x"],
            stdin=py.stdout, stdout=null,
        )
        py.stdout.close()
        assert py.wait() == 0
        py_cpu = children_cpu() - before
        assert rust.wait() == 0
        return time.perf_counter() - start, py_cpu


def count_records(records, bin_dir):
    out = subprocess.run(
        [os.path.join(bin_dir, "co-dump"), "--input", records],
        check=True, capture_output=True,
    ).stdout
    return out.count(b"\n")


def show(label, result, base=None):
    n, wall, cpu = result
    line = "%-56s %9.0f records/s wall  %9.0f records/s CPU" % (label, n / wall, n / cpu)
    if base:
        line += "   %.2fx / %.2fx the pickle link" % (base[1] / wall, base[2] / cpu)
    print(line)


def load():
    return "load average %.2f %.2f %.2f" % os.getloadavg()


def main(records, bin_dir):
    size = os.path.getsize(records)
    print(load())
    pickle_link = link("pickle", records)
    print("%d bus records (%.1f MB as a copipe stream), best of %d runs" % (
        pickle_link[0], size / 1e6, RUNS))
    show("(1) the seed's link: pickle per record, sendto/recvfrom", pickle_link)
    show("(2) copipe link: python/copipe sendto/recvfrom", link("copipe", records), pickle_link)
    show("(3) Python pass-through stage between Rust stages",
         passthrough_stage(records, bin_dir), pickle_link)
    wall, cpu = stage_start(records, bin_dir)
    print("    (3) includes starting the stage once: %.0f ms wall, %.0f ms CPU "
          "(an empty stream through the same pipe)" % (wall * 1e3, cpu * 1e3))
    print(load())


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
