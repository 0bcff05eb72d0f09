#!/usr/bin/env python3
"""The measurements of benches/records/run.sh (see there): the record stages beside jq and
Python's json and csv modules, wall and CPU time, best of RUNS, and the ratios the issue's
aims name. Prints numbers; never fails on them.

    bench.py BIN_DIR JSON_LINES RECORDS_STREAM CSV_7_COLUMNS CSV_ALL_COLUMNS
"""

import os
import resource
import shutil
import subprocess
import sys
import time

RUNS = int(os.environ.get("RUNS", "3"))

PY_JSON = """
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    json.loads(line)
"""
# The rows are loaded first, untimed: only csv.DictWriter's work is measured, by the script's
# own clocks, so the figure is generous to Python. gc.freeze(): the loaded rows are not
# scanned by the garbage collector while it writes (with 150,000 rows alive, collections
# otherwise double the time, a cost of holding the rows, not of the csv module).
PY_CSV_OUT = """
import csv, gc, json, sys, time
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
gc.freeze()
out = open("/dev/null", "w", newline="")
best = None
for _ in range(3):
    w0, c0 = time.perf_counter(), time.process_time()
    w = csv.DictWriter(out, list(rows[0]), restval="", extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    out.flush()
    run = (time.perf_counter() - w0, time.process_time() - c0)
    best = run if best is None else (min(best[0], run[0]), min(best[1], run[1]))
print(best[0], best[1])
"""
PY_CSV_IN = """
import csv, sys
for row in csv.DictReader(open(sys.argv[1], encoding="utf-8", newline="")):
    pass
"""


def children_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def best(argv, stdin=None):
    """(wall, CPU) seconds, each the best of RUNS runs of ``argv``, output thrown away."""
    walls, cpus = [], []
    for _ in range(RUNS):
        with open(stdin or os.devnull, "rb") as f:
            c0, w0 = children_cpu(), time.perf_counter()
            subprocess.run(argv, stdin=f, stdout=subprocess.DEVNULL, check=True)
            walls.append(time.perf_counter() - w0)
            cpus.append(children_cpu() - c0)
    return min(walls), min(cpus)


def in_script(code, path):
    out = subprocess.run([sys.executable, "-c", code, path], check=True, capture_output=True)
    wall, cpu = out.stdout.split()
    return float(wall), float(cpu)


def main(bin_dir, json_lines, records, csv7, csv_all):
    mb = {p: os.path.getsize(p) / 1e6 for p in (json_lines, csv7, csv_all)}
    print("data: JSON lines %.1f MB, CSV %.1f MB (all columns), %.1f MB (7 columns); best of %d"
          % (mb[json_lines], mb[csv_all], mb[csv7], RUNS))
    print("load average: %.1f" % os.getloadavg()[0])
    print()
    print("%-36s %9s %9s %9s %9s" % ("what", "wall s", "CPU s", "MB/s wall", "MB/s CPU"))
    rows = {}

    def row(name, times, size):
        rows[name] = times
        print("%-36s %9.3f %9.3f %9.1f %9.1f"
              % (name, times[0], times[1], size / times[0], size / max(times[1], 1e-9)))

    co = os.path.join
    row("co-from-json", best([co(bin_dir, "co-from-json"), json_lines]), mb[json_lines])
    if shutil.which("jq"):
        row("jq -c .", best(["jq", "-c", ".", json_lines]), mb[json_lines])
    row("python3 json.loads per line", best([sys.executable, "-c", PY_JSON, json_lines]),
        mb[json_lines])
    row("co-to-csv", best([co(bin_dir, "co-to-csv")], stdin=records), mb[csv_all])
    row("python3 csv.DictWriter (in memory)", in_script(PY_CSV_OUT, json_lines), mb[csv_all])
    row("co-from-csv", best([co(bin_dir, "co-from-csv"), csv7]), mb[csv7])
    row("python3 csv.DictReader", best([sys.executable, "-c", PY_CSV_IN, csv7]), mb[csv7])
    print()

    def ratio(rust, other, aim=""):
        a, b = rows[other], rows[rust]
        print("%-14s %5.1fx %s in wall time, %5.1fx in CPU time%s"
              % (rust + ":", a[0] / b[0], other, a[1] / max(b[1], 1e-9), aim))

    ratio("co-from-json", "python3 json.loads per line", "  (aim >= 5x)")
    if "jq -c ." in rows:
        ratio("co-from-json", "jq -c .")
    ratio("co-to-csv", "python3 csv.DictWriter (in memory)", "  (aim >= 5x)")
    ratio("co-from-csv", "python3 csv.DictReader")


if __name__ == "__main__":
    main(*sys.argv[1:])
