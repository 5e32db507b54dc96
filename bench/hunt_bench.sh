#!/usr/bin/env bash
# `spoor hunt` speed: the pack's CloudTrail rules over generated CloudTrail JSON lines, beside
# the cost of reading the data once (spoor tables, DuckDB) and a row-at-a-time baseline (jq).
#
#   bench/hunt_bench.sh          # generates 256 MiB of data first if it is missing
#
# Rows of the table:
#   spoor tables            one pass over every file (rows and time range per table): the floor
#                           under any hunt
#   spoor hunt              the pack's rules in rules/aws (about 45 KQL plans), the tables they
#                           share decoded once and kept in memory
#   spoor hunt --no-cache   the same, each rule reading the evidence again
#   DuckDB one read         read_json of the files and a filter on the event names the rules
#                           look at: what one pass of a columnar engine costs
#   jq baseline             jq selecting the events whose eventName the rules look at: a
#                           row-at-a-time first pass, before any rule logic
# Each runs once to warm the page cache, then $RUNS times; the median wall time, MB/s and the
# largest peak RSS (/usr/bin/time -v) are shown, with the output's row count (findings for spoor
# hunt, matching events for the others: the outputs are not the same thing).
#
# Environment: SPOOR_BIN (default /work/target/release/spoor), BENCH_DIR (/tmp/spoor-bench),
# RUNS (3), TOTAL_MB (256), THREADS (DuckDB, nproc).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
SPOOR_BIN="${SPOOR_BIN:-/work/target/release/spoor}"
BENCH_DIR="${BENCH_DIR:-/tmp/spoor-bench}"
TOTAL_MB="${TOTAL_MB:-256}"
DATA="$BENCH_DIR/cloudtrail-${TOTAL_MB}"
RUNS="${RUNS:-3}"
THREADS="${THREADS:-$(nproc)}"
say() { printf '%s\n' "$*" >&2; }

[ -x "$SPOOR_BIN" ] || { say "error: no spoor binary at $SPOOR_BIN (cargo build --release)"; exit 2; }
[ -x /usr/bin/time ] || { say "error: GNU time is missing (apt-get install time)"; exit 2; }
if ! ls "$DATA"/*.jsonl >/dev/null 2>&1; then
    say "no data in $DATA: generating $TOTAL_MB MiB"
    python3 "$HERE/gen_cloudtrail.py" --out "$DATA" --total-mb "$TOTAL_MB" --file-mb 64 >&2 ||
        { say "error: data generation failed"; exit 2; }
fi
FILES=("$DATA"/*.jsonl)
BYTES=$(cat "${FILES[@]}" | wc -c)
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# The event names the CloudTrail rules compare EventName with.
python3 - "$ROOT/rules/aws" >"$WORK/names.txt" <<'PY'
import re, sys, pathlib
names = set()
for f in pathlib.Path(sys.argv[1]).glob("*.yml"):
    text = f.read_text()
    for m in re.finditer(r'EventName\s*(?:==|in~?|=~)\s*\(?([^)\n|]*)', text):
        names.update(re.findall(r'"([A-Za-z0-9:]+)"', m.group(1)))
print("\n".join(sorted(names)))
PY
NAMES=$(wc -l <"$WORK/names.txt")
say "data: ${#FILES[@]} files, $BYTES bytes; the rules look at $NAMES event names"

RESULTS="$WORK/results.tsv"
: >"$RESULTS"
run_tool() { # run_tool NAME COUNT_COMMAND COMMAND...
    local name="$1" count="$2"
    shift 2
    local walls=() rss=0 i t0 t1 kb
    say "== $name"
    for ((i = 0; i <= RUNS; i++)); do
        t0=$(date +%s%N)
        /usr/bin/time -v -o "$WORK/time" "$@" >"$WORK/out" 2>"$WORK/err" || {
            say "   failed:"; tail -5 "$WORK/err" >&2; printf '%s\tfailed\n' "$name" >>"$RESULTS"; return; }
        t1=$(date +%s%N)
        kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time")
        [ "$i" = 0 ] && continue
        walls+=("$((t1 - t0))")
        [ "$kb" -gt "$rss" ] && rss=$kb
        say "   run $i: $(awk -v n="$((t1 - t0))" 'BEGIN {printf "%.2f s", n / 1e9}')"
    done
    local median rows
    median=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m/1e9}')
    rows=$(bash -c "$count" <"$WORK/out")
    printf '%s\tok\t%s\t%s\t%s\n' "$name" "$median" "$rss" "$rows" >>"$RESULTS"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
run_tool "spoor tables" "grep -c AWSCloudTrail" "$SPOOR_BIN" tables -q --format json "$DATA"
run_tool "spoor hunt" "wc -l" "$SPOOR_BIN" hunt -q --no-builtin --rules "$ROOT/rules/aws" --format json --sample 0 "$DATA"
run_tool "spoor hunt --no-cache" "wc -l" "$SPOOR_BIN" hunt -q --no-cache --no-builtin --rules "$ROOT/rules/aws" --format json --sample 0 "$DATA"
if python3 -c 'import duckdb' 2>/dev/null; then
    cat >"$WORK/duckdb_read.py" <<'PY'
import duckdb, sys
data, names, threads = sys.argv[1], open(sys.argv[2]).read().split(), sys.argv[3]
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
q = (f"SELECT count(*) FROM read_json('{data}/*.jsonl', format='newline_delimited', "
     "columns={eventName: 'VARCHAR', eventSource: 'VARCHAR', eventTime: 'VARCHAR', "
     "userIdentity: 'JSON', requestParameters: 'JSON', errorCode: 'VARCHAR'}) "
     "WHERE eventName IN (SELECT unnest(?))")
print(con.execute(q, [names]).fetchone()[0])
PY
    run_tool "DuckDB one read" "cat" python3 "$WORK/duckdb_read.py" "$DATA" "$WORK/names.txt" "$THREADS"
else
    printf 'DuckDB one read\tskipped (pip install duckdb)\n' >>"$RESULTS"
fi
if command -v jq >/dev/null; then
    JQ_NAMES=$(jq -R -s -c 'split("\n") | map(select(length > 0))' "$WORK/names.txt")
    run_tool "jq baseline" "wc -l" jq -c --argjson names "$JQ_NAMES" 'select(.eventName as $e | $names | index($e)) | .eventName' "${FILES[@]}"
else
    printf 'jq baseline\tskipped (apt-get install jq)\n' >>"$RESULTS"
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$RESULTS" "$BYTES" "${#FILES[@]}" "$RUNS" "$LOAD_START" "$LOAD_END" "$NAMES" <<'PY'
import sys
path, nbytes, nfiles, runs, l0, l1, names = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
print(f"\nspoor hunt over CloudTrail JSON lines: {nbytes/1e6:,.0f} MB in {nfiles} files; median of {runs} warm runs")
print(f"load average at start {l0}, at end {l1}; the rules look at {names} event names\n")
print(f"{'tool':<24}{'wall s':>9}{'MB/s':>9}{'peak RSS MiB':>14}{'rows':>9}")
walls = {}
for line in open(path):
    f = line.rstrip("\n").split("\t")
    if f[1] != "ok":
        print(f"{f[0]:<24}{f[1]:>9}"); continue
    wall = float(f[2]); walls[f[0]] = wall
    print(f"{f[0]:<24}{wall:>9.2f}{nbytes/1e6/wall:>9.0f}{int(f[3])/1024:>14.0f}{f[4].strip():>9}")
print()
if "spoor hunt" in walls and "spoor tables" in walls:
    print(f"spoor hunt / one decode (spoor tables): x{walls['spoor hunt']/walls['spoor tables']:.2f}")
if "spoor hunt --no-cache" in walls and "spoor hunt" in walls:
    print(f"the shared-table cache saves x{walls['spoor hunt --no-cache']/walls['spoor hunt']:.2f}")
for ref in ("DuckDB one read", "jq baseline"):
    if ref in walls and "spoor hunt" in walls:
        print(f"spoor hunt / {ref}: x{walls['spoor hunt']/walls[ref]:.2f} wall")
PY
