# copipe's everyday commands. `just --list` shows them.
# (Install just with `cargo install just` or `apt-get install just`; every recipe is a plain
# shell command you can also run by hand.)

# Run the seed's bus pipeline through the launcher on the shipped data.
run-bus-pipeline:
    cargo build --release
    target/release/copipe run examples/bus.pipe

# The same pipeline composed by hand with Unix pipes.
run-bus-pipe-by-hand:
    cargo build --release
    target/release/co-xml examples/data/allroutes.xml | target/release/co-buses | target/release/co-filter route=22 | target/release/co-filter "direction=North Bound" | target/release/co-bus-locations

# Every test (what CI runs, with fmt and clippy: see .ci/run).
test:
    cargo test

# Formatting and lints, as CI checks them.
lint:
    cargo fmt --all -- --check
    cargo clippy --all-targets -- -D warnings

# Everything CI runs.
ci:
    bash .ci/run

# Link throughput: events/s and MB/s through three stages, beside cat | cat | cat.
bench-links:
    bash benches/links/run.sh

# The bus pipeline on ~200 MB: processes, inline, threaded, bare quick-xml, Python.
bench-bus:
    bash benches/bus/run.sh

# The launcher's overhead: copipe run vs a shell pipe, and a 10-stage start/stop.
bench-launch:
    bash benches/launch/run.sh

# co-follow's latency from an appended line to the printer.
bench-follow:
    bash benches/follow/run.sh

# The coroutine OS: task switches/s, 1M spawns, echo server req/s, vs the Python scheduler.
bench-sched:
    bash benches/sched/run.sh

# Micro-benchmarks of the hot paths (frame writing, decoding in recv_from, BusesToDicts).
bench-micro:
    cargo bench --bench micro

# The record stages' MB/s (co-from-json, co-to-csv, co-from-csv) beside jq and Python's json/csv.
bench-records:
    bash benches/records/run.sh

# Python stages: records/s through a copipe link and a Python pass-through stage, beside the
# seed's pickle link; then the record stages' MB/s beside jq and Python's json and csv.
bench-python:
    bash benches/python/run.sh
    bash benches/records/run.sh

# Mutation fuzzing of every frame-reading stage (issue 15): INPUTS mutated streams, printing
# inputs tried, panics, hangs and wrong accepts. Not part of `cargo test`; run it niced.
soak inputs="10000000" seed="1":
    cargo build --release --example soak
    nice target/release/examples/soak {{inputs}} {{seed}}

# What watching costs: a chain by hand, under copipe run, with copipe top attached, with a tap.
bench-observe:
    bash benches/observe/run.sh

# A JetStream link on loopback beside a pipe: small events/s, MB/s, the bus pipeline split.
bench-nats:
    bash benches/nats/run.sh

# Stages on another host: the bus pipeline on ~200 MB with two stages on a loopback
# sshd (the tests' harness), beside the all-local run: MB/s, the ratio, CPU by side, ciphers.
bench-remote:
    cargo build --release --quiet --bins --example bench-remote
    target/release/examples/bench-remote
