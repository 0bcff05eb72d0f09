#!/usr/bin/env python3
"""The measurements of benches/python/run.sh (see there). Prints records/s and ratios."""

import os
import resource
import subprocess
import sys
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
    stage = os.path.join(ROOT, "python", "tests", "passthrough.py")
    n = count_records(records, bin_dir)
    best = None
    for _ in range(RUNS):
        with open(records, "rb") as src, open(os.devnull, "wb") as null:
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
            wall = time.perf_counter() - start
        if best is None or py_cpu < best[2]:
            best = (n, wall, py_cpu)
    return best


def count_records(records, bin_dir):
    out = subprocess.run(
        [os.path.join(bin_dir, "co-dump"), "--input", records],
        check=True, capture_output=True,
    ).stdout
    return out.count(b"\n")


def show(label, result, base=None):
    n, wall, cpu = result
    line = "%-58s %9.0f records/s wall  %9.0f records/s CPU" % (label, n / wall, n / cpu)
    if base:
        line += "   %.2fx / %.2fx the pickle link" % (base[1] / wall, base[2] / cpu)
    print(line)


def main(records, bin_dir):
    size = os.path.getsize(records)
    pickle_link = link("pickle", records)
    print("%d bus records (%.1f MB as a copipe stream), best of %d runs" % (
        pickle_link[0], size / 1e6, RUNS))
    show("the seed's link: pickle per record, sendto/recvfrom", pickle_link)
    show("copipe link: python/copipe sendto/recvfrom", link("copipe", records), pickle_link)
    show("Python pass-through stage between Rust stages (decode+encode)",
         passthrough_stage(records, bin_dir), pickle_link)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
