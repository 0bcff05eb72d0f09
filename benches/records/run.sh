#!/usr/bin/env bash
# just bench-records: MB/s of the record stages beside jq and Python's json and csv modules,
# on the same data (the bus records of a synthetic snapshot, as JSON lines and as CSV).
#   JSON in:  co-from-json FILE        vs  jq -c . FILE   vs  python3: json.loads per line
#   CSV out:  co-to-csv < records      vs  python3: csv.DictWriter, rows already in memory
#   CSV in:   co-from-csv FILE         vs  python3: csv.DictReader
# MB/s are of the text side (the JSON or CSV bytes). Each figure is the best of 3 runs, in
# wall time and in CPU time (user + system): on a loaded machine the CPU figures are the fair
# comparison, on a quiet one the two agree.
# A benchmark, not a test: it prints numbers and ratios and never fails on them.
set -euo pipefail
cd "$(dirname "$0")/../.."
cargo build --release --quiet --bin co-gen-buses --bin co-xml --bin co-buses --bin co-dump \
  --bin co-from-json --bin co-to-csv --bin co-from-csv
bin=target/release
data=${BENCH_DATA:-bench-data}
buses=${BUSES:-150000}
mkdir -p "$data"
json=$data/records-$buses.jsonl
csv=$data/records-$buses.csv
records=$data/records-$buses.copipe
if [ ! -s "$json" ]; then
  "$bin/co-gen-buses" --buses "$buses" | "$bin/co-xml" | "$bin/co-buses" | "$bin/co-dump" --json > "$json"
fi
[ -s "$records" ] || "$bin/co-from-json" "$json" > "$records"
[ -s "$csv" ] || "$bin/co-to-csv" --fields id,route,direction,latitude,longitude,finalStop,operator < "$records" > "$csv"

# co-to-csv writes every column of the first record: its MB/s are of what it writes.
full_csv=$data/records-$buses-full.csv
[ -s "$full_csv" ] || "$bin/co-to-csv" < "$records" > "$full_csv"
exec python3 benches/records/bench.py "$bin" "$json" "$records" "$csv" "$full_csv"
