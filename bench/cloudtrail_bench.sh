#!/usr/bin/env bash
# CloudTrail JSON-lines benchmark: the same filter + group-by with spoor, DuckDB and jq.
#
#   bench/cloudtrail_bench.sh            # generates the data first if it is missing
#
# Query: count the events whose errorCode is "AccessDenied", per eventSource.
# Each tool runs once to warm the page cache, then $RUNS times; the table shows the median wall
# time, MB/s (input bytes / median wall, MB = 10^6 bytes), the largest peak RSS of the timed runs
# (/usr/bin/time -v, "Maximum resident set size") and the result's row count. The results of all
# tools are compared group by group.
#
# Environment:
#   SPOOR_BIN    spoor binary (default /work/target/release/spoor; skipped if missing)
#   BENCH_DIR    where the data lives (default /tmp/spoor-bench); data in $BENCH_DIR/cloudtrail
#   RUNS         timed runs per tool (default 3)
#   THREADS      DuckDB threads (default: all cores, nproc)
#   GEN_ARGS     extra arguments for gen_cloudtrail.py when the data is generated
#   SKIP_AUTO=1  skip the extra DuckDB read_json_auto row
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
SPOOR_BIN="${SPOOR_BIN:-/work/target/release/spoor}"
BENCH_DIR="${BENCH_DIR:-/tmp/spoor-bench}"
DATA="$BENCH_DIR/cloudtrail"
RUNS="${RUNS:-3}"
THREADS="${THREADS:-$(nproc)}"
NOW="2023-08-10T00:00:00Z"
KQL='AWSCloudTrail | where ErrorCode == "AccessDenied" | summarize count() by EventSource'
KQL_NO_PREFILTER='AWSCloudTrail | where ErrorCode in ("AccessDenied", "NoSuchErrorCode") | summarize count() by EventSource'
JQ_FILTER='select(.errorCode=="AccessDenied") | .eventSource'

say() { printf '%s\n' "$*" >&2; }

# ---------------------------------------------------------------- tools
APT_UPDATED=0
apt_install() { # apt_install PACKAGE: installs it if we are root and apt-get exists
    if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
        return 1
    fi
    if [ "$APT_UPDATED" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || true
        APT_UPDATED=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1
}

if ! command -v python3 >/dev/null; then
    apt_install python3 || { say "error: python3 is missing (needed to generate data and run DuckDB)"; exit 2; }
fi
if [ ! -x /usr/bin/time ]; then
    apt_install time || { say "error: /usr/bin/time (GNU time) is missing: apt-get install time"; exit 2; }
fi
HAVE_JQ=1
if ! command -v jq >/dev/null; then
    say "jq not found, installing it (apt-get install jq)"
    apt_install jq || { say "jq is missing and could not be installed: jq rows skipped"; HAVE_JQ=0; }
fi
HAVE_DUCKDB=1
if ! python3 -c 'import duckdb' 2>/dev/null; then
    say "python duckdb not found, installing it (pip install duckdb)"
    python3 -m pip --version >/dev/null 2>&1 || apt_install python3-pip || true
    # plain, then per user, then past a distribution's "externally managed" guard (PEP 668)
    python3 -m pip install -q duckdb >/dev/null 2>&1 ||
        python3 -m pip install -q --user duckdb >/dev/null 2>&1 ||
        python3 -m pip install -q --break-system-packages duckdb >/dev/null 2>&1 ||
        { say "duckdb is missing and could not be installed (pip install duckdb): DuckDB rows skipped"; HAVE_DUCKDB=0; }
fi
HAVE_SPOOR=1
if [ ! -x "$SPOOR_BIN" ]; then
    say "spoor binary not found at $SPOOR_BIN (build it with: cargo build --release): spoor row skipped"
    HAVE_SPOOR=0
fi

# ---------------------------------------------------------------- data
if ! ls "$DATA"/*.jsonl >/dev/null 2>&1; then
    say "no data in $DATA: generating it (about 20 s)"
    # shellcheck disable=SC2086
    python3 "$HERE/gen_cloudtrail.py" --out "$DATA" ${GEN_ARGS:-} >&2 || { say "error: data generation failed"; exit 2; }
fi
FILES=("$DATA"/*.jsonl)
BYTES=$(cat "${FILES[@]}" | wc -c)
say "data: ${#FILES[@]} files, $BYTES bytes in $DATA"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
RESULTS="$WORK/results.tsv" # name, status, median wall, max rss kB, rows, normalized result file
: >"$RESULTS"

# ---------------------------------------------------------------- runner
# run_tool NAME NORMALIZER COMMAND...
#   The command's stdout is the raw result; NORMALIZER (a shell function) turns it into sorted
#   "source<TAB>count" lines.
run_tool() {
    local name="$1" norm="$2"
    shift 2
    local slug="${name//[^A-Za-z0-9]/_}"
    local out="$WORK/$slug.out" err="$WORK/$slug.err" tv="$WORK/$slug.time"
    local walls=() rss=0 i t0 t1 kb rc
    say "== $name: warm-up + $RUNS runs"
    for ((i = 0; i <= RUNS; i++)); do
        t0=$(date +%s%N)
        /usr/bin/time -v -o "$tv" "$@" >"$out" 2>"$err"
        rc=$?
        t1=$(date +%s%N)
        if [ "$rc" != 0 ]; then
            say "   $name failed (exit $rc):"
            tail -n 15 "$err" | sed 's/^/     /' >&2
            printf '%s\tfailed\t\t\t\t\n' "$name" >>"$RESULTS"
            return
        fi
        kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tv")
        if [ "$i" = 0 ]; then
            say "   warm-up: $(awk -v n="$((t1 - t0))" 'BEGIN {printf "%.2f s", n / 1e9}')"
            continue
        fi
        walls+=("$((t1 - t0))")
        [ "$kb" -gt "$rss" ] && rss=$kb
        say "   run $i: $(awk -v n="$((t1 - t0))" 'BEGIN {printf "%.2f s", n / 1e9}'), peak RSS $((kb / 1024)) MiB"
    done
    "$norm" <"$out" | LC_ALL=C sort >"$WORK/$slug.norm"
    local median
    median=$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR] = $1} END {m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.3f", m / 1e9}')
    printf '%s\tok\t%s\t%s\t%s\t%s\n' "$name" "$median" "$rss" "$(wc -l <"$WORK/$slug.norm")" "$WORK/$slug.norm" >>"$RESULTS"
}

norm_csv() { tail -n +2 | awk -F, 'NF >= 2 {print $1 "\t" $NF}'; }        # spoor: header, then source,count
norm_plain_csv() { awk -F, 'NF >= 2 {print $1 "\t" $NF}'; }                # duckdb script: source,count
norm_uniq() { awk '{n = $1; $1 = ""; sub(/^ /, ""); gsub(/"/, ""); print $0 "\t" n}'; } # uniq -c of jq -c

# ---------------------------------------------------------------- the runs
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
if [ "$HAVE_SPOOR" = 1 ]; then
    run_tool "spoor" norm_csv "$SPOOR_BIN" query --now "$NOW" --format csv "$KQL" "$DATA"
    # The same result without the literal prefilter (a two-value `in` is not pushed to the
    # decoder; DataFusion turns a one-value `in` into `==`, which is): every
    # event is parsed, which shows what the prefilter is worth.
    run_tool "spoor, every event parsed" norm_csv "$SPOOR_BIN" query --now "$NOW" --format csv "$KQL_NO_PREFILTER" "$DATA"
else
    printf '%s\tskipped\t\t\t\t\n' "spoor" >>"$RESULTS"
fi
if [ "$HAVE_DUCKDB" = 1 ]; then
    run_tool "DuckDB read_json" norm_plain_csv python3 "$HERE/duckdb_cloudtrail.py" --threads "$THREADS" "$DATA"
    if [ "${SKIP_AUTO:-0}" != 1 ]; then
        run_tool "DuckDB read_json_auto" norm_plain_csv python3 "$HERE/duckdb_cloudtrail.py" --auto --threads "$THREADS" "$DATA"
    fi
else
    printf '%s\tskipped\t\t\t\t\n' "DuckDB read_json" >>"$RESULTS"
fi
if [ "$HAVE_JQ" = 1 ]; then
    # One jq process over all files (jq is single-threaded), as a user would type it.
    printf -v JQ_CMD 'jq -c %q' "$JQ_FILTER"
    printf -v JQ_FILES ' %q' "${FILES[@]}"
    run_tool "jq" norm_uniq bash -c "set -o pipefail; $JQ_CMD$JQ_FILES | sort | uniq -c"
else
    printf '%s\tskipped\t\t\t\t\n' "jq" >>"$RESULTS"
fi

# ---------------------------------------------------------------- report
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null)
python3 - "$RESULTS" "$BYTES" "${#FILES[@]}" "$RUNS" "$THREADS" "$LOAD_START" "$LOAD_END" <<'PY'
import sys, filecmp, os, datetime
path, nbytes, nfiles, runs, threads = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
load_start, load_end = sys.argv[6], sys.argv[7]
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
print()
print(f"CloudTrail JSON lines: {nbytes / 1e6:,.0f} MB in {nfiles} files; median of {runs} warm runs; "
      f"DuckDB threads={threads}")
print("query: AccessDenied events per eventSource")
print(f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, {os.cpu_count()} cores, "
      f"load average at start {load_start}, at end {load_end} (other work on the machine skews times)")
print()
hdr = ("tool", "wall s", "MB/s", "peak RSS MiB", "rows")
print(f"{hdr[0]:<24}{hdr[1]:>9}{hdr[2]:>9}{hdr[3]:>14}{hdr[4]:>6}")
ok = {}
for name, status, wall, rss, nrows, norm in rows:
    if status != "ok":
        print(f"{name:<24}{status:>9}")
        continue
    wall = float(wall)
    ok[name] = (wall, nbytes / 1e6 / wall, int(rss) / 1024, norm)
    print(f"{name:<24}{wall:>9.2f}{nbytes / 1e6 / wall:>9.0f}{int(rss) / 1024:>14.0f}{nrows:>6}")
print()
if "spoor" in ok:
    for other in ("DuckDB read_json", "jq"):
        if other in ok:
            s, o = ok["spoor"], ok[other]
            print(f"spoor/{other.split()[0]}: throughput x{s[1] / o[1]:.2f} (wall {s[0]:.2f} s vs {o[0]:.2f} s), "
                  f"peak RSS x{s[2] / o[2]:.2f}")
else:
    print("spoor/DuckDB, spoor/jq: not measured (no spoor binary)")
names = list(ok)
if len(names) >= 2:
    ref = names[0]
    same = all(filecmp.cmp(ok[ref][3], ok[n][3], shallow=False) for n in names[1:])
    print(f"results agree ({', '.join(names)}): {'YES' if same else 'NO'}")
    for n in names:
        print(f"  {n}: " + "; ".join(l.strip().replace("\t", " ") for l in open(ok[n][3])))
    sys.exit(0 if same else 1)
PY
