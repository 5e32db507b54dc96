#!/usr/bin/env bash
# KQL against the same queries in DataFusion SQL: filter + group-by, two joins, make-series.
#
#   bench/kql_vs_sql.sh            # generates the CloudTrail data first if it is missing
#
# Both forms run on one engine over the same evidence (crates/cli/examples/kql_vs_sql.rs), so
# the difference is what spoor's KQL planning makes of a query next to DataFusion's own SQL
# planner. Prints the median wall time of each (after a warm-up) and their ratio; the example
# fails if the two return different rows.
#
# Environment:
#   BENCH_DIR   where the data lives (default /tmp/spoor-bench); data in $BENCH_DIR/cloudtrail
#   RUNS        timed runs per query (default 3)
#   GEN_ARGS    extra arguments for gen_cloudtrail.py when the data is generated
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
BENCH_DIR="${BENCH_DIR:-/tmp/spoor-bench}"
DATA="$BENCH_DIR/cloudtrail"
RUNS="${RUNS:-3}"
TARGET="${CARGO_TARGET_DIR:-/work/target}"

if ! ls "$DATA"/*.jsonl >/dev/null 2>&1; then
    echo "no data in $DATA: generating it (about 20 s)" >&2
    # shellcheck disable=SC2086
    python3 "$HERE/gen_cloudtrail.py" --out "$DATA" ${GEN_ARGS:-} >&2
fi
echo "building the kql_vs_sql example (release) into $TARGET" >&2
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build --release -q -p spoor-cli --example kql_vs_sql)
echo "data: $(ls "$DATA"/*.jsonl | wc -l) files, $(cat "$DATA"/*.jsonl | wc -c) bytes; load average: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
"$TARGET/release/examples/kql_vs_sql" "$DATA" "$RUNS"
