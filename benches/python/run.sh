#!/usr/bin/env bash
# just bench-python: records per second through Python, copipe's link beside the seed's.
#
#   1. the seed's process link, Python to Python: sendto/recvfrom with pickle per record,
#      flushed per record (benches/python/link.py pickle). The pickle work is split over two
#      processes, the sender dumping while the receiver loads, each on its own core;
#   2. the same harness over a copipe link: python/copipe's sendto/recvfrom, batched frames
#      (benches/python/link.py copipe);
#   1b. the seed's process link as a stage, like for like with 3: ONE Python process runs
#      the seed's recvfrom(stdin, sendto(stdout)), loading and dumping each record, flushed
#      per record, reading the records pickled into a file (made untimed) and writing to
#      `cat > /dev/null` (benches/python/link.py pickle-stage), its start included as in 3;
#   3. a Python pass-through stage between Rust stages, as a graph runs it: the records
#      stream in a file | python3 python/tests/passthrough.py | co-filter (a Rust stage
#      reads and decodes every frame the Python stage writes).
#
# All on the same bus records (co-gen-buses | co-xml | co-buses). Each line is the best of
# RUNS (default 3) and prints wall time and CPU time (user + system of the Python processes
# only: both processes in 1 and 2, the one stage in 1b and 3); on a loaded machine wall time
# mostly measures the other load, CPU time is the fair comparison. 3 is compared with 1 (the
# issue's aim) and with 1b. A benchmark, not a test: it prints numbers and ratios and never
# fails on them.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "${BUILD:-1}" = 0 ] || cargo build --release --quiet --bins
bin=target/release
data=${BENCH_DATA:-bench-data}
buses=${BUSES:-200000}
mkdir -p "$data"
records=$data/python-records-$buses.bin
if [ ! -s "$records" ]; then
  "$bin/co-gen-buses" --buses "$buses" --seed 7 | "$bin/co-xml" | "$bin/co-buses" > "$records"
fi
exec python3 benches/python/bench.py "$records" "$bin"
