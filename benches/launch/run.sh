#!/usr/bin/env bash
# `just bench-launch`: what the launcher costs.
#
# 1. The bus pipeline on a generated snapshot (BUSES buses, 100000 by default: about the
#    seed's 56 MB file), through `copipe run` and as a plain shell pipe of the same stages,
#    same file, runs interleaved. Aim: the launcher adds under 5%.
# 2. Start and stop of a 10-stage graph on empty input, through `copipe run` and as a shell
#    pipe. Aim: the launcher adds under 50 ms.
#
# Prints medians of RUNS runs (5 by default) and the ratios. Timings only; nothing asserted.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-5}
BUSES=${BUSES:-100000}
cargo build --release --quiet
B=$PWD/target/release
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$B/co-gen-buses" --buses "$BUSES" --seed 7 --output "$WORK/buses.xml"
XML=$WORK/buses.xml

# Milliseconds taken by a command (output discarded).
ms() {
    local start end
    start=$(date +%s%N)
    "$@" >/dev/null
    end=$(date +%s%N)
    echo $(((end - start) / 1000000))
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

bus_shell() {
    "$B/co-xml" "$XML" | "$B/co-buses" | "$B/co-filter" route=22 |
        "$B/co-filter" "direction=North Bound" | "$B/co-bus-locations"
}
bus_copipe() {
    "$B/copipe" run -e "co-xml $XML | co-buses | co-filter route=22 | co-filter 'direction=North Bound' | co-bus-locations"
}
TEN="co-lines /dev/null | co-grep a | co-chaos | co-grep b | co-dump | co-lines | co-grep c | co-chaos | co-grep d | co-printer"
ten_shell() {
    "$B/co-lines" /dev/null | "$B/co-grep" a | "$B/co-chaos" | "$B/co-grep" b | "$B/co-dump" |
        "$B/co-lines" | "$B/co-grep" c | "$B/co-chaos" | "$B/co-grep" d | "$B/co-printer"
}
ten_copipe() { "$B/copipe" run -e "$TEN"; }

# Same output, or the comparison means nothing.
cmp <(bus_shell) <(bus_copipe) || { echo "outputs differ" >&2; exit 1; }

: >"$WORK/bus_shell"; : >"$WORK/bus_copipe"; : >"$WORK/ten_shell"; : >"$WORK/ten_copipe"
for _ in $(seq "$RUNS"); do
    ms bus_shell >>"$WORK/bus_shell"
    ms bus_copipe >>"$WORK/bus_copipe"
done
for _ in $(seq $((RUNS * 4))); do
    ms ten_shell >>"$WORK/ten_shell"
    ms ten_copipe >>"$WORK/ten_copipe"
done

bs=$(median <"$WORK/bus_shell"); bc=$(median <"$WORK/bus_copipe")
ts=$(median <"$WORK/ten_shell"); tc=$(median <"$WORK/ten_copipe")
size=$(du -m "$XML" | cut -f1)
echo "bus pipeline, $BUSES buses ($size MB), median of $RUNS:"
echo "  shell pipe    ${bs} ms"
echo "  copipe run    ${bc} ms"
awk -v s="$bs" -v c="$bc" 'BEGIN { printf "  ratio         %.3f  (launcher adds %+.1f%%; aim < 5%%)\n", c / s, (c - s) * 100 / s }'
echo "10-stage graph on empty input, median of $((RUNS * 4)):"
echo "  shell pipe    ${ts} ms"
echo "  copipe run    ${tc} ms"
echo "  launcher adds $((tc - ts)) ms  (aim < 50 ms)"
