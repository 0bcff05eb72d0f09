#!/usr/bin/env bash
# `just bench-launch`: what the launcher costs.
#
# 1. The bus pipeline on a generated snapshot (BUSES buses, 100000 by default: about the
#    seed's 56 MB file), through `copipe run` and as a plain shell pipe of the same stages,
#    same file, runs interleaved. Aim: the launcher adds under 5%.
# 2. Start and stop of a 10-stage graph on empty input, through `copipe run` and as a shell
#    pipe. Aim: the launcher adds under 50 ms.
# 3. Start-up at scale (issue 15, point 9): a chain of N stages (co-lines /dev/null, N-2
#    co-chaos, co-printer) on empty input, start to exit, for N in SIZES (1000 2000 5000
#    10000), under the usual soft limit of 1024 descriptors. Aim: 10,000 stages under 5 s,
#    growing linearly (time per stage flat).
#
# Prints medians of RUNS runs (5 by default) and the ratios. Timings only; nothing asserted.
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-5}
SIZES=${SIZES:-1000 2000 5000 10000}
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

# A chain of $1 stages, as a spec file.
chain_spec() {
    local n=$1 i
    {
        printf 'co-lines /dev/null'
        for ((i = 2; i < n; i++)); do printf ' | co-chaos'; done
        printf ' | co-printer\n'
    } >"$WORK/chain-$n.pipe"
}
# The floor: what starting one stage process costs on this machine, without the launcher
# (a shell starting co-chaos --version 500 times, one after the other).
floor_s=$( (TIMEFORMAT='%R'; time (for _ in $(seq 500); do "$B/co-chaos" --version >/dev/null; done)) 2>&1 | tail -1)
floor_ms=$(awk -v t="$floor_s" 'BEGIN { printf "%.3f", 1000 * t / 500 }')
# Every stage runs 3 threads, each taking a process id: a size that would leave fewer than
# 500 of kernel.pid_max free (with the threads running now) is skipped, not run into the
# limit (where every fork on the machine fails).
pid_max=$(cat /proc/sys/kernel/pid_max)
echo "chains of N stages on empty input, start to exit, soft limit 1024 descriptors (load: $(cut -d' ' -f1-3 /proc/loadavg)):"
echo "  floor: a shell starts one co-chaos --version in ${floor_ms} ms"
printf '  %6s %9s %12s %14s %10s %9s\n' N wall_s ms_per_stage "cpu_s(u+s)" "x_first" "x_floor"
first=""
for n in $SIZES; do
    tasks=$(ps -eL --no-headers | wc -l)
    if [ $((n * 3 + tasks + 500)) -gt "$pid_max" ]; then
        echo "  $n: skipped: 3 threads a stage and the $tasks running now need more than kernel.pid_max ($pid_max)"
        continue
    fi
    chain_spec "$n"
    t=$( (
        ulimit -Sn 1024
        TIMEFORMAT='%R %U %S'
        { time "$B/copipe" run "$WORK/chain-$n.pipe" >/dev/null; } 2>&1
    ) | tail -1)
    read -r wall user sys <<<"$t"
    [ -z "$first" ] && first=$(awk -v w="$wall" -v n="$n" 'BEGIN { print w / n }')
    awk -v n="$n" -v w="$wall" -v u="$user" -v s="$sys" -v f="$first" -v fl="$floor_ms" 'BEGIN {
        printf "  %6d %9.2f %12.3f %14.2f %10.2f %9.2f\n", n, w, 1000 * w / n, u + s, (w / n) / f, 1000 * w / n / fl }'
done
echo "  (x_first: time per stage against the first size, 1.0 is linear; x_floor: against the"
echo "  floor, one process started by a shell. Aim: 10000 stages < 5 s.)"
