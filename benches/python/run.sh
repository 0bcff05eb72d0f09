#!/usr/bin/env bash
# just bench-python: records per second through Python, copipe's link beside the seed's.
#
#   1. the seed's process link, Python to Python: sendto/recvfrom with pickle per record,
#      flushed per record (benches/python/link.py pickle);
#   2. the same harness over a copipe link: python/copipe's sendto/recvfrom, batched frames
#      (benches/python/link.py copipe);
#   3. a Python pass-through stage between Rust stages, as a graph runs it:
#      co-... records | python3 python/tests/passthrough.py | (read by a Rust stage).
#
# All on the same bus records (co-gen-buses | co-xml | co-buses). Each prints wall time and
# CPU time (user + system of the Python processes): on a loaded machine wall time mostly
# measures the other load, CPU time is the fair comparison. A benchmark, not a test: it
# prints numbers and ratios and never fails on them.
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
