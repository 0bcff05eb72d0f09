#!/bin/sh
# Append-to-printer latency through `co-follow FILE | co-grep x | co-printer`, with inotify
# and with 100 ms polling (see examples/bench_follow.rs). Arguments go to the benchmark,
# e.g. `benches/follow/run.sh --samples 500`.
set -eu
cd "$(dirname "$0")/../.."
cargo build --release --quiet --bin co-follow --bin co-grep --bin co-printer --example bench_follow
exec target/release/examples/bench_follow "$@"
