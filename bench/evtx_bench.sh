#!/usr/bin/env bash
# EVTX decode benchmark: spoor's EVTX source against the evtx crate's own JSON dump.
#
#   bench/evtx_bench.sh [EVTX_DIR]       # default: ../shared/corpus/evtx-mitre beside the repository
#
# Rows, on one core (taskset -c 0) and on both cores:
#   evtx crate   records_json() into a sink (bench/evtx-ref; --threads 1, then 2: the crate's
#                rayon pipeline over each file's chunks)
#   spoor        the sources crate's decode example over the WindowsEvent table: every column, and
#                no column (render + parse + row count only); --threads 1, then 2 (threads take
#                files from one list, as the engine's partitions do)
# Each runs once to warm the page cache, then $RUNS times; the table shows the median wall time,
# MB/s (bytes of the .evtx files / median wall, MB = 10^6 bytes), records/s and the largest peak
# RSS of the timed runs (/usr/bin/time -v). The record counts of all rows must agree.
#
# Environment:
#   DECODE_BIN   spoor's decode example (default $CARGO_TARGET_DIR or /work/target, release/examples/decode;
#                built with `cargo build --release -p spoor-sources --example decode` when missing)
#   REF_BIN      the reference (default bench/evtx-ref/target/release/evtx-ref; built when missing)
#   RUNS         timed runs per row (default 5)
#   COPIES       read this many copies of the folder (default 1)
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
DATA="${1:-${SPOOR_CORPUS:-$ROOT/../shared/corpus}/evtx-mitre}"
TARGET="${CARGO_TARGET_DIR:-/work/target}"
DECODE_BIN="${DECODE_BIN:-$TARGET/release/examples/decode}"
REF_BIN="${REF_BIN:-$HERE/evtx-ref/target/release/evtx-ref}"
RUNS="${RUNS:-5}"

say() { printf '%s\n' "$*" >&2; }

[ -d "$DATA" ] || { say "error: no EVTX folder at $DATA (pass one, or set SPOOR_CORPUS)"; exit 2; }
[ -x /usr/bin/time ] || { say "error: /usr/bin/time (GNU time) is missing: apt-get install time"; exit 2; }
command -v taskset >/dev/null || { say "error: taskset is missing (util-linux)"; exit 2; }

if [ ! -x "$DECODE_BIN" ]; then
    say "building spoor's decode example (release) into $TARGET"
    (cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p spoor-sources --example decode) ||
        { say "error: build failed"; exit 2; }
fi
if [ ! -x "$REF_BIN" ]; then
    say "building the evtx crate reference (release)"
    (cd "$HERE/evtx-ref" && cargo build --release -q) || { say "error: build failed"; exit 2; }
fi

BYTES=$(find "$DATA" -type f -iname '*.evtx' -printf '%s\n' | awk '{s+=$1} END {print s+0}')
NFILES=$(find "$DATA" -type f -iname '*.evtx' | wc -l)
say "data: $DATA, $NFILES files, $BYTES bytes; load average: $(cut -d' ' -f1-3 /proc/loadavg)"

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# COPIES=N reads N copies of the folder (made in a temporary folder): on a small set, process
# start and the timer's 10 ms resolution weigh on every row.
COPIES="${COPIES:-1}"
if [ "$COPIES" -gt 1 ]; then
    mkdir -p "$TMP/data"
    for i in $(seq "$COPIES"); do cp -r "$DATA" "$TMP/data/copy$i"; done
    DATA="$TMP/data"
    BYTES=$((BYTES * COPIES))
    say "reading $COPIES copies: $BYTES bytes"
fi

# The rows: a name, then the command. Each runs once to warm up; then the timed runs go round
# the rows RUNS times (interleaved, so that a slow spell of a shared machine falls on every row
# alike rather than on one).
NAMES=(
    "evtx crate records_json, 1 thread, one core"
    "spoor WindowsEvent, all columns, 1 thread, one core"
    "spoor WindowsEvent, no column, 1 thread, one core"
    "evtx crate records_json, 2 threads"
    "spoor WindowsEvent, all columns, 2 threads"
    "spoor WindowsEvent, no column, 2 threads"
)
COMMANDS=(
    "taskset -c 0 '$REF_BIN' --threads 1 '$DATA'"
    "taskset -c 0 '$DECODE_BIN' --threads 1 '$DATA' WindowsEvent"
    "taskset -c 0 '$DECODE_BIN' --threads 1 '$DATA' WindowsEvent -"
    "'$REF_BIN' --threads 2 '$DATA'"
    "'$DECODE_BIN' --threads 2 '$DATA' WindowsEvent"
    "'$DECODE_BIN' --threads 2 '$DATA' WindowsEvent -"
)
for i in "${!COMMANDS[@]}"; do
    bash -c "${COMMANDS[$i]}" >"$TMP/out.$i" 2>/dev/null
done
for _ in $(seq "$RUNS"); do
    for i in "${!COMMANDS[@]}"; do
        /usr/bin/time -v bash -c "exec ${COMMANDS[$i]}" >"$TMP/out.$i" 2>"$TMP/time"
        awk -F': ' '/Elapsed \(wall clock\)/ {n=split($2,a,":"); s=0; for(i=1;i<=n;i++) s=s*60+a[i]; print s}' \
            "$TMP/time" >>"$TMP/walls.$i"
        awk -F': ' '/Maximum resident set size/ {print $2}' "$TMP/time" >>"$TMP/rss.$i"
    done
done

echo
echo "| decoder | wall s (median) | MB/s | records/s | peak RSS MiB | records |"
echo "|---|---|---|---|---|---|"
for i in "${!COMMANDS[@]}"; do
    # records: the reference says "records N", spoor's decode example "N rows".
    records=$(grep -oE 'records [0-9]+' "$TMP/out.$i" | awk '{print $2}')
    [ -n "$records" ] || records=$(grep -oE '^[0-9]+ rows' "$TMP/out.$i" | awk '{print $1}')
    median=$(sort -g "$TMP/walls.$i" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
    rss=$(sort -g "$TMP/rss.$i" | tail -1)
    awk -v n="${NAMES[$i]}" -v w="$median" -v b="$BYTES" -v r="$records" -v m="$rss" 'BEGIN {
        printf "| %s | %.2f | %.1f | %.0f | %.0f | %s |\n", n, w, b/1e6/w, r/w, m/1024, r }'
    echo "$records" >>"$TMP/counts"
done
echo
if [ "$(sort -u "$TMP/counts" | wc -l)" = 1 ]; then
    echo "record counts agree: YES ($(head -1 "$TMP/counts"))"
else
    echo "record counts agree: NO ($(sort -u "$TMP/counts" | tr '\n' ' '))"
    exit 1
fi
say "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
