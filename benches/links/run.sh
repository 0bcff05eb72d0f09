#!/usr/bin/env bash
# just bench-links: events/s and MB/s through a chain of three stages
#   co-lines FILE | co-grep "" | co-printer > /dev/null
# for small (~40-byte) and large (64 KiB) lines, beside `cat | cat | cat` on the same bytes.
# A benchmark, not a test: it prints numbers and ratios and never fails on them.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet --bins
bin=target/release
data=${BENCH_DATA:-bench-data}
mkdir -p "$data"
small=$data/small-lines.txt
large=$data/large-lines.txt
small_mb=${SMALL_MB:-200}
large_mb=${LARGE_MB:-400}

if [ ! -s "$small" ]; then
  # 40-byte lines: 39 characters and a newline.
  python3 - "$small" "$small_mb" <<'PY'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
n = mb * 1_000_000 // 40
with open(path, "w") as f:
    for i in range(0, n, 1000):
        f.write("".join(f"{j:012d} python coroutine pipes, in rust"[:39] + "\n" for j in range(i, min(n, i + 1000))))
PY
fi
if [ ! -s "$large" ]; then
  python3 - "$large" "$large_mb" <<'PY'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
line = ("x" * 65535) + "\n"
with open(path, "w") as f:
    for i in range(mb * 1_000_000 // 65536):
        f.write(line)
PY
fi

now() { date +%s.%N; }
measure() { # label file command...
  local label=$1 file=$2; shift 2
  local t0 t1
  t0=$(now); "$@" < "$file" > /dev/null; t1=$(now)
  awk "BEGIN{print $t1 - $t0}"
}
chain() { "$bin/co-lines" | "$bin/co-grep" "" | "$bin/co-printer"; }
cats() { cat | cat | cat; }

printf '%-8s %10s %10s %12s %10s %12s %8s\n' lines MB events copipe_s "events/s" "MB/s" "cat MB/s"
for kind in small large; do
  file=$data/$kind-lines.txt
  bytes=$(stat -c %s "$file")
  events=$(wc -l < "$file")
  measure warm "$file" cat >/dev/null
  tc=$(measure copipe "$file" chain)
  tk=$(measure cat "$file" cats)
  mb=$(awk "BEGIN{print $bytes / 1000000}")
  printf '%-8s %10.0f %10d %12.3f %10.0f %12.1f %8.1f\n' "$kind" "$mb" "$events" "$tc" \
    "$(awk "BEGIN{print $events / $tc}")" "$(awk "BEGIN{print $mb / $tc}")" "$(awk "BEGIN{print $mb / $tk}")"
  echo "  $kind: copipe moves $(printf '%.2f' "$(awk "BEGIN{print $tk / $tc}")")x of cat|cat|cat's throughput"
done
echo "aims: >= 3,000,000 small events/s per link; large lines >= 0.5x of cat"

# What the link's safety nets cost (issue 15): the CRC-32 per frame and the 20 ms flush
# latency's clock read per event, as shares of a link's CPU time, measured in one run.
echo
cargo build --release --quiet --example link_costs
target/release/examples/link_costs
