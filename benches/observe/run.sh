#!/usr/bin/env bash
# just bench-observe: what watching a graph costs.
#   by hand     co-lines F | co-grep "" | co-printer > /dev/null          (no launcher)
#   launcher    copipe run -e '...'                  (live counters on, nobody watching)
#   watched     the same, with `copipe top --json --interval 0.2` attached for the whole run
#   tapped      the same, with `copipe tap` on the middle link, its output to /dev/null (on
#               2 cores the tap's own decoding and printing compete with the stages for CPU)
#   stopped     the same, with a tap attached and then stopped (SIGSTOP, as Ctrl-Z does): the
#               stage's copies fill a bounded queue, then whole batches are dropped
# Best of 3 each, on the same 40-byte-line file. A benchmark: numbers and ratios, never fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet --bins
bin=$PWD/target/release
data=${BENCH_DATA:-bench-data}
mkdir -p "$data"
file=$data/observe-lines.txt
mb=${OBSERVE_MB:-200}
if [ ! -s "$file" ]; then
  python3 - "$file" "$mb" <<'PY'
import sys
path, mb = sys.argv[1], int(sys.argv[2])
n = mb * 1_000_000 // 40
with open(path, "w") as f:
    for i in range(0, n, 1000):
        f.write("".join(f"{j:012d} python coroutine pipes, in rust"[:39] + "\n" for j in range(i, min(n, i + 1000))))
PY
fi
runtime=$(mktemp -d)
trap 'rm -rf "$runtime"' EXIT
export XDG_RUNTIME_DIR=$runtime
spec="co-lines $file | co-grep '' | co-printer"

now() { date +%s.%N; }
by_hand() { "$bin/co-lines" "$file" | "$bin/co-grep" "" | "$bin/co-printer" > /dev/null; }
launched() { "$bin/copipe" run -e "$spec" > /dev/null; }
watched() {
  "$bin/copipe" run -e "$spec" > /dev/null &
  local pid=$!
  until "$bin/copipe" ps --json | grep -q "\"pid\":$pid"; do sleep 0.01; done
  "$bin/copipe" top --json --interval 0.2 > /dev/null &
  wait "$pid"; wait
}
graph_id() { # launcher pid: waits until its graph is listed with its stages started
  local id=
  until id=$("$bin/copipe" ps --json | python3 -c 'import json,sys
for l in sys.stdin:
    g = json.loads(l)
    if g["pid"] == '"$1"' and g["stages"][0]["pid"]: print(g["id"])') && [ -n "$id" ]; do sleep 0.01; done
  echo "$id"
}
tapped() {
  "$bin/copipe" run -e "$spec" > /dev/null &
  local pid=$!
  local id
  id=$(graph_id "$pid")
  "$bin/copipe" tap "$id" "2->3" > /dev/null 2>&1 &
  wait "$pid"; wait
}
stopped_tap() {
  "$bin/copipe" run -e "$spec" > /dev/null &
  local pid=$!
  local id
  id=$(graph_id "$pid")
  "$bin/copipe" tap "$id" "2->3" > /dev/null 2>&1 &
  local tap=$!
  kill -STOP "$tap"
  wait "$pid"
  kill -CONT "$tap"; wait "$tap" || true
}
best() { # command: best wall time of 3
  local best=
  for _ in 1 2 3; do
    local t0 t1 t
    t0=$(now); "$1"; t1=$(now)
    t=$(awk "BEGIN{print $t1 - $t0}")
    best=$(awk -v a="$best" -v b="$t" 'BEGIN{print (a == "" || b < a) ? b : a}')
  done
  echo "$best"
}
h=$(best by_hand); l=$(best launched); w=$(best watched); t=$(best tapped); s=$(best stopped_tap)
size=$(stat -c %s "$file")
printf '%-10s %8s %10s %8s\n' run seconds "MB/s" ratio
for row in "by-hand $h" "launcher $l" "watched $w" "tapped $t" "stopped $s"; do
  set -- $row
  awk -v n="$1" -v s="$2" -v b="$size" -v base="$l" 'BEGIN{printf "%-10s %8.3f %10.1f %8.3f\n", n, s, b/s/1e6, s/base}'
done
echo "(ratio: time over the launcher's unwatched run; the tap misses what it cannot keep up with)"
