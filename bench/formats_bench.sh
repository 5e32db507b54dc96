#!/usr/bin/env bash
# Decode benchmark of the log formats: per format, one count-by query with spoor (both cores and
# one core) and with DuckDB (both threads and one), side by side.
#
#   bench/formats_bench.sh                 # generates the data first if it is missing
#
# Formats: k8s-audit, suricata-eve, azure-signin (Azure Monitor diagnostic records), syslog,
# access-log, zeek-conn (bench/gen_formats.py writes about 128 MB of each). The query groups the
# records by one field that spoor's decoder has to find in each record:
#
#   k8s-audit     KubeAudit | summarize count() by verb
#   suricata-eve  SuricataEve | summarize count() by alert_signature
#   azure-signin  SigninLogs | summarize count() by UserPrincipalName     (9 in 10 records)
#   syslog        Syslog | summarize count() by ProcessName
#   access-log    AppServiceHTTPLogs | summarize count() by ScStatus
#   zeek-conn     Zeek_conn | summarize count() by proto
#
# DuckDB runs the same query (bench/duckdb_formats.py): read_json with the needed columns declared
# for the JSON formats, read_csv for Zeek's TSV, and read_csv of whole lines plus a regular
# expression for syslog and access logs, which DuckDB cannot parse otherwise.
#
# Each run is timed warm (one warm-up, then $RUNS runs, median). Reported per tool: wall seconds,
# MB/s (input bytes / wall, MB = 10^6 bytes), records/s (records in the result / wall), peak RSS
# (/usr/bin/time -v). One core means `taskset -c 0` for both tools (and DuckDB `SET threads = 1`).
# The results of spoor and DuckDB are compared key by key; a difference exits 1.
#
# Environment:
#   SPOOR_BIN   spoor binary (default /work/target/release/spoor)
#   BENCH_DIR   data folder (default /tmp/spoor-bench); the data lives in $BENCH_DIR/formats
#   RUNS        timed runs per tool (default 3)
#   MB          size of each format's file when it is generated (default 128)
#   ONLY        space-separated formats to run (default: all)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SPOOR_BIN="${SPOOR_BIN:-/work/target/release/spoor}"
BENCH_DIR="${BENCH_DIR:-/tmp/spoor-bench}"
DATA="$BENCH_DIR/formats"
RUNS="${RUNS:-3}"
MB="${MB:-128}"
FORMATS=(${ONLY:-k8s-audit suricata-eve azure-signin syslog access-log zeek-conn})

say() { printf '%s\n' "$*" >&2; }

declare -A KQL=(
    [k8s-audit]='KubeAudit | summarize count() by verb'
    [suricata-eve]='SuricataEve | summarize count() by alert_signature'
    [azure-signin]='SigninLogs | summarize count() by UserPrincipalName'
    [syslog]='Syslog | summarize count() by ProcessName'
    [access-log]='AppServiceHTTPLogs | summarize count() by ScStatus'
    [zeek-conn]='Zeek_conn | summarize count() by proto'
)

# ---------------------------------------------------------------- tools
for tool in python3 taskset; do
    command -v "$tool" >/dev/null || { say "error: $tool is missing"; exit 2; }
done
[ -x /usr/bin/time ] || { say "error: /usr/bin/time (GNU time) is missing: apt-get install time"; exit 2; }
if ! python3 -c 'import duckdb' 2>/dev/null; then
    say "python duckdb not found, installing it (pip install duckdb)"
    python3 -m pip install -q duckdb >/dev/null 2>&1 ||
        python3 -m pip install -q --user duckdb >/dev/null 2>&1 ||
        { say "error: duckdb could not be installed (pip install duckdb)"; exit 2; }
fi
if [ ! -x "$SPOOR_BIN" ]; then
    say "error: no spoor binary at $SPOOR_BIN (cargo build --release, or set SPOOR_BIN)"
    exit 2
fi

# ---------------------------------------------------------------- data
for f in "${FORMATS[@]}"; do
    if ! ls "$DATA/$f"/* >/dev/null 2>&1; then
        say "no data in $DATA/$f: generating $MB MB"
        python3 "$HERE/gen_formats.py" --out "$DATA" --mb "$MB" --only "$f" >&2 || { say "error: generation failed"; exit 2; }
    fi
done

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# time_runs OUT COMMAND...: warm-up + $RUNS runs; sets MEDIAN (s) and RSS (KiB); stdout to OUT.
time_runs() {
    local out="$1"
    shift
    local walls=() i t0 t1 kb
    RSS=0
    for ((i = 0; i <= RUNS; i++)); do
        t0=$(date +%s%N)
        if ! /usr/bin/time -v -o "$WORK/time" "$@" >"$out" 2>"$WORK/err"; then
            say "   failed: $*"
            tail -n 10 "$WORK/err" | sed 's/^/     /' >&2
            MEDIAN=""
            return 1
        fi
        t1=$(date +%s%N)
        [ "$i" = 0 ] && continue
        walls+=("$((t1 - t0))")
        kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$WORK/time")
        [ "$kb" -gt "$RSS" ] && RSS=$kb
    done
    MEDIAN=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m / 1e9}')
}

# spoor's CSV (header, then key,count; a key may hold commas) to key<TAB>count, sorted.
norm_spoor() { tail -n +2 | sed -E 's/^"?(.*[^"])?"?,([0-9]+)$/\1\t\2/' | LC_ALL=C sort; }

printf '%-13s %-16s %8s %9s %12s %9s\n' format tool "wall s" "MB/s" "records/s" "RSS MiB" >"$WORK/table"
STATUS=0
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
for f in "${FORMATS[@]}"; do
    file=$(ls "$DATA/$f"/* | head -n 1)
    bytes=$(wc -c <"$file")
    say "== $f: $bytes bytes"
    for cores in 2 1; do
        pin=()
        [ "$cores" = 1 ] && pin=(taskset -c 0)
        if time_runs "$WORK/spoor.out" "${pin[@]}" "$SPOOR_BIN" query -q --format csv "${KQL[$f]}" "$file"; then
            norm_spoor <"$WORK/spoor.out" >"$WORK/spoor.norm"
            records=$(awk -F'\t' '{n += $2} END {print n + 0}' "$WORK/spoor.norm")
            awk -v f="$f" -v t="spoor $cores core" -v w="$MEDIAN" -v b="$bytes" -v r="$records" -v k="$RSS" \
                'BEGIN {printf "%-13s %-16s %8.3f %9.0f %12.0f %9.0f\n", f, t, w, b / 1e6 / w, r / w, k / 1024}' >>"$WORK/table"
        else
            STATUS=1
        fi
        if time_runs "$WORK/duck.out" "${pin[@]}" python3 "$HERE/duckdb_formats.py" --threads "$cores" "$f" "$file"; then
            LC_ALL=C sort "$WORK/duck.out" >"$WORK/duck.norm"
            records=$(awk -F'\t' '{n += $2} END {print n + 0}' "$WORK/duck.norm")
            awk -v f="$f" -v t="duckdb $cores thread" -v w="$MEDIAN" -v b="$bytes" -v r="$records" -v k="$RSS" \
                'BEGIN {printf "%-13s %-16s %8.3f %9.0f %12.0f %9.0f\n", f, t, w, b / 1e6 / w, r / w, k / 1024}' >>"$WORK/table"
        else
            STATUS=1
        fi
        if [ "$cores" = 2 ]; then
            if cmp -s "$WORK/spoor.norm" "$WORK/duck.norm"; then
                say "   results agree: $(wc -l <"$WORK/duck.norm") keys"
            else
                say "   results DIFFER:"
                diff "$WORK/spoor.norm" "$WORK/duck.norm" | head -n 10 >&2
                STATUS=1
            fi
        fi
    done
done
say ""
say "load average: start $LOAD_START, end $(cut -d' ' -f1-3 /proc/loadavg)"
cat "$WORK/table"
exit $STATUS
