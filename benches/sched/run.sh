#!/usr/bin/env bash
# Benchmark of the coroutine OS (copipe::sched) against the seed's scheduler in Python
# (benches/sched/pyos.py). Wired to `just bench-sched`. Arguments go to the benchmark
# (e.g. --switches 5000000 --spawn 200000 --secs 2 --no-python).
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --example bench_sched --example echo_server
exec "${CARGO_TARGET_DIR:-target}/release/examples/bench_sched" "$@"
