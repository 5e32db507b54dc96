#!/usr/bin/env bash
# `spoor hunt` with the SigmaHQ rules (and the built-in pack) over each technique folder of
# evtx-mitre: the ATT&CK techniques found per folder, and whether the folder's own is among them.
#
#   bench/hunt_techniques.sh [EVTX_MITRE_DIR] [SIGMA_RULE_DIR...]
#
# Defaults: ../shared/corpus/evtx-mitre and ../shared/corpus/sigma/rules.
# Runs `spoor hunt --sigma DIR... FOLDER --format json` once per technique folder
# (TAxxxx-*/Txxxx-*) and prints a markdown table: folder, findings, hits, techniques found
# (from the findings' ATT&CK mapping), own technique found (the folder's technique or its
# parent). The total wall time is printed at the end.
# SPOOR_BIN: the spoor binary (default $CARGO_TARGET_DIR or /work/target, release/spoor).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CORPUS="${SPOOR_CORPUS:-$ROOT/../shared/corpus}"
DATA="${1:-$CORPUS/evtx-mitre}"
shift || true
RULES=("$@")
[ ${#RULES[@]} -gt 0 ] || RULES=("$CORPUS/sigma/rules")
BIN="${SPOOR_BIN:-${CARGO_TARGET_DIR:-/work/target}/release/spoor}"
[ -x "$BIN" ] || { echo "error: no spoor binary at $BIN (cargo build --release)" >&2; exit 2; }
SIGMA_ARGS=()
for r in "${RULES[@]}"; do SIGMA_ARGS+=(--sigma "$r"); done

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
start=$(date +%s.%N)
echo "| technique folder | findings | hits | techniques found | own technique found |"
echo "|---|---|---|---|---|"
find "$DATA" -mindepth 2 -maxdepth 2 -type d -name 'T*' | sort | while read -r dir; do
    name="$(basename "$dir")"
    own="$(echo "$name" | grep -oE '^T[0-9]+(\.[0-9]+)?')"
    "$BIN" hunt -q "${SIGMA_ARGS[@]}" --format json --sample 0 "$dir" 2>/dev/null >"$TMP/out.json"
    python3 - "$TMP/out.json" "$name" "$own" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
name, own = sys.argv[2], sys.argv[3]
hits = sum(r["hits"] for r in rows)
techs = sorted({t for r in rows for t in r["techniques"]})
base = own.split(".")[0]
found = "yes" if any(t == own or t.split(".")[0] == base for t in techs) else "no"
print(f"| {name} | {len(rows)} | {hits} | {', '.join(techs[:8])}{' ...' if len(techs) > 8 else ''} | {found} |")
PY
done
end=$(date +%s.%N)
echo
awk -v s="$start" -v e="$end" 'BEGIN { printf "wall time: %.1f s\n", e - s }'
