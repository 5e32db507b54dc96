#!/usr/bin/env bash
# One hunt in every language spoor reads, over generated VPC flow logs: the playbook's "SSH
# brute force" (rejected or accepted connections to port 22, counted by source, most first),
# written in KQL (AWSVPCFlow), Athena SQL (vpc_flow_logs), and Logs Insights (the vpcflow log
# group). Beside them, DuckDB reading the same files once (read_csv with spaces) and awk as the
# row-at-a-time baseline. Every tool must give the same number of sources.
#
#   bench/languages_bench.sh        # generates 128 MiB of flow logs first if they are missing
#
# Each runs once to warm the page cache, then $RUNS times; the median wall time, MB/s and the
# largest peak RSS (/usr/bin/time -v) are shown.
#
# Environment: SPOOR_BIN (default /work/target/release/spoor), BENCH_DIR (/tmp/spoor-bench),
# RUNS (3), TOTAL_MB (128), THREADS (DuckDB, nproc).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SPOOR_BIN="${SPOOR_BIN:-/work/target/release/spoor}"
BENCH_DIR="${BENCH_DIR:-/tmp/spoor-bench}"
TOTAL_MB="${TOTAL_MB:-128}"
DATA="$BENCH_DIR/vpcflow-${TOTAL_MB}"
RUNS="${RUNS:-3}"
THREADS="${THREADS:-$(nproc)}"
say() { printf '%s\n' "$*" >&2; }

[ -x "$SPOOR_BIN" ] || { say "error: no spoor binary at $SPOOR_BIN (cargo build --release)"; exit 2; }
[ -x /usr/bin/time ] || { say "error: GNU time is missing (apt-get install time)"; exit 2; }
if ! ls "$DATA"/*.log >/dev/null 2>&1; then
    say "no data in $DATA: generating $TOTAL_MB MiB"
    python3 "$HERE/gen_vpcflow.py" --out "$DATA" --total-mb "$TOTAL_MB" >&2 || { say "error: generation failed"; exit 2; }
fi
FILES=("$DATA"/*.log)
BYTES=$(cat "${FILES[@]}" | wc -c)
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
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
    done
    local median rows
    median=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END {m=(NR%2)?a[(NR+1)/2]:(a[NR/2]+a[NR/2+1])/2; printf "%.3f", m/1e9}')
    rows=$(bash -c "$count" <"$WORK/out")
    printf '%s\tok\t%s\t%s\t%s\n' "$name" "$median" "$rss" "$rows" >>"$RESULTS"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
run_tool "spoor KQL" "wc -l" "$SPOOR_BIN" query -q --format csv \
    'AWSVPCFlow | where DstPort == 22 | summarize total = count() by SrcAddr | sort by total desc' "$DATA"
run_tool "spoor SQL (Athena)" "wc -l" "$SPOOR_BIN" query -q --lang sql --format csv \
    'SELECT sourceaddress, count(*) AS total FROM vpc_flow_logs WHERE destinationport = 22 GROUP BY DISTINCT sourceaddress ORDER BY total DESC' "$DATA"
run_tool "spoor Logs Insights" "wc -l" "$SPOOR_BIN" query -q --lang cwl --log-group vpcflow --format csv \
    'filter dstPort=22 | stats count(*) as total by srcAddr as source | sort total desc' "$DATA"
if python3 -c 'import duckdb' 2>/dev/null; then
    cat >"$WORK/duckdb_ssh.py" <<'PY'
import duckdb, sys
data, threads = sys.argv[1], sys.argv[2]
con = duckdb.connect()
con.execute(f"SET threads = {threads}")
rows = con.execute(
    f"SELECT srcaddr, count(*) AS total FROM read_csv('{data}/*.log', delim=' ', header=true, "
    "columns={'version': 'INT', 'account-id': 'VARCHAR', 'interface-id': 'VARCHAR', 'srcaddr': 'VARCHAR', "
    "'dstaddr': 'VARCHAR', 'srcport': 'VARCHAR', 'dstport': 'VARCHAR', 'protocol': 'VARCHAR', 'packets': 'VARCHAR', "
    "'bytes': 'VARCHAR', 'start': 'BIGINT', 'end': 'BIGINT', 'action': 'VARCHAR', 'log-status': 'VARCHAR'}) "
    "WHERE dstport = '22' GROUP BY srcaddr ORDER BY total DESC").fetchall()
print("srcaddr,total")
for r in rows:
    print(f"{r[0]},{r[1]}")
PY
    run_tool "DuckDB read_csv" "wc -l" python3 "$WORK/duckdb_ssh.py" "$DATA" "$THREADS"
else
    printf 'DuckDB read_csv\tskipped (pip install duckdb)\n' >>"$RESULTS"
fi
run_tool "awk baseline" "wc -l" sh -c "awk 'FNR > 1 && \$7 == \"22\" { n[\$4]++ } END { print \"src,total\"; for (s in n) print s \",\" n[s] }' \"\$@\" | sort -t, -k2 -nr" sh "${FILES[@]}"
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

python3 - "$RESULTS" "$BYTES" "${#FILES[@]}" "$RUNS" "$LOAD_START" "$LOAD_END" <<'PY'
import sys
path, nbytes, nfiles, runs, l0, l1 = sys.argv[1], int(sys.argv[2]), *sys.argv[3:]
print(f"\nSSH brute-force hunt over VPC flow logs: {nbytes/1e6:,.0f} MB in {nfiles} files; median of {runs} warm runs")
print(f"load average at start {l0}, at end {l1}; rows = sources found + the header line\n")
print(f"{'tool':<22}{'wall s':>9}{'MB/s':>9}{'peak RSS MiB':>14}{'rows':>7}")
walls, rows = {}, set()
for line in open(path):
    f = line.rstrip("\n").split("\t")
    if f[1] != "ok":
        print(f"{f[0]:<22}{f[1]:>9}"); continue
    wall = float(f[2]); walls[f[0]] = wall; rows.add(f[4].strip())
    print(f"{f[0]:<22}{wall:>9.2f}{nbytes/1e6/wall:>9.0f}{int(f[3])/1024:>14.0f}{f[4].strip():>7}")
print()
if len(rows) > 1:
    print(f"WARNING: the tools found different numbers of rows: {sorted(rows)}")
for ref in ("DuckDB read_csv", "awk baseline"):
    for lang in ("spoor KQL", "spoor SQL (Athena)", "spoor Logs Insights"):
        if ref in walls and lang in walls:
            print(f"{lang} / {ref}: x{walls[lang]/walls[ref]:.2f} wall")
PY
