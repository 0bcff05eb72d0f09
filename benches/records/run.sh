#!/usr/bin/env bash
# just bench-records: MB/s of the record stages beside jq and Python's json and csv modules,
# on the same data (the bus records of a synthetic snapshot, as JSON lines and as CSV).
#   JSON in:  co-from-json FILE        vs  jq -c . FILE   vs  python3: json.loads per line
#   CSV out:  co-to-csv < records      vs  python3: csv.DictWriter, rows already in memory
#   CSV in:   co-from-csv FILE         vs  python3: csv.DictReader
# MB/s are of the text side (the JSON or CSV bytes). Each figure is the best of 3 runs.
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

# Seconds of the best of 3 runs of a command (its output thrown away).
best() {
  python3 - "$@" <<'PY'
import subprocess, sys, time
times = []
for _ in range(3):
    t0 = time.perf_counter()
    subprocess.run(sys.argv[1:], check=True, stdout=subprocess.DEVNULL)
    times.append(time.perf_counter() - t0)
print(f"{min(times):.4f}")
PY
}

py_json='
import json, sys
for line in open(sys.argv[1], encoding="utf-8"):
    json.loads(line)
'
# The rows are loaded first (untimed): only csv.DictWriter's work is measured, its own
# clock in the script, so the figure is generous to Python.
py_csv_out='
import csv, json, sys, time
rows = [json.loads(l) for l in open(sys.argv[1], encoding="utf-8")]
fields = list(rows[0])
out = open("/dev/null", "w", newline="")
best = 1e9
for _ in range(3):
    t0 = time.perf_counter()
    w = csv.DictWriter(out, fields, restval="", extrasaction="ignore")
    w.writeheader()
    w.writerows(rows)
    out.flush()
    best = min(best, time.perf_counter() - t0)
print(f"{best:.4f}")
'
py_csv_in='
import csv, sys
for row in csv.DictReader(open(sys.argv[1], encoding="utf-8", newline="")):
    pass
'

mb() { awk "BEGIN{printf \"%.1f\", $(stat -c %s "$1") / 1000000}"; }
rate() { awk "BEGIN{printf \"%.1f\", $1 / $2}"; }
row() { printf '%-34s %9s %9s\n' "$@"; }

json_mb=$(mb "$json")
# co-to-csv writes every column of the first record: measure MB/s of what it writes.
full_csv=$data/records-$buses-full.csv
"$bin/co-to-csv" < "$records" > "$full_csv"
full_mb=$(mb "$full_csv")
csv_mb=$(mb "$csv")
echo "data: $buses bus records; JSON lines $json_mb MB, CSV (all columns) $full_mb MB, CSV (7 columns) $csv_mb MB"
echo
row "what" "seconds" "MB/s"

t_from_json=$(best "$bin/co-from-json" "$json")
row "co-from-json" "$t_from_json" "$(rate "$json_mb" "$t_from_json")"
if command -v jq > /dev/null; then
  t_jq=$(best jq -c . "$json")
  row "jq -c ." "$t_jq" "$(rate "$json_mb" "$t_jq")"
else
  t_jq=""
  echo "(jq not installed: skipped)"
fi
t_py_json=$(best python3 -c "$py_json" "$json")
row "python3 json.loads per line" "$t_py_json" "$(rate "$json_mb" "$t_py_json")"

t_to_csv=$(python3 - "$bin/co-to-csv" "$records" <<'PY'
import subprocess, sys, time
times = []
for _ in range(3):
    with open(sys.argv[2], "rb") as f:
        t0 = time.perf_counter()
        subprocess.run([sys.argv[1]], stdin=f, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
print(f"{min(times):.4f}")
PY
)
row "co-to-csv" "$t_to_csv" "$(rate "$full_mb" "$t_to_csv")"
t_py_csv_out=$(python3 -c "$py_csv_out" "$json")
row "python3 csv.DictWriter (in memory)" "$t_py_csv_out" "$(rate "$full_mb" "$t_py_csv_out")"

t_from_csv=$(best "$bin/co-from-csv" "$csv")
row "co-from-csv" "$t_from_csv" "$(rate "$csv_mb" "$t_from_csv")"
t_py_csv_in=$(best python3 -c "$py_csv_in" "$csv")
row "python3 csv.DictReader" "$t_py_csv_in" "$(rate "$csv_mb" "$t_py_csv_in")"

echo
ratio() { awk "BEGIN{printf \"%.1f\", $1 / $2}"; }
echo "co-from-json: $(ratio "$t_py_json" "$t_from_json")x Python's json (aim >= 5x)${t_jq:+, $(ratio "$t_jq" "$t_from_json")x jq -c .}"
echo "co-to-csv:    $(ratio "$t_py_csv_out" "$t_to_csv")x Python's csv.DictWriter (aim >= 5x)"
echo "co-from-csv:  $(ratio "$t_py_csv_in" "$t_from_csv")x Python's csv.DictReader"
