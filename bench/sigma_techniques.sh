#!/usr/bin/env bash
# The SigmaHQ rule sets over each technique folder of evtx-mitre: which rules fire where.
#
#   bench/sigma_techniques.sh [EVTX_MITRE_DIR] [RULE_DIR...]
#
# Defaults: ../shared/corpus/evtx-mitre and the three SigmaHQ rule sets of ../shared/corpus/sigma.
# Runs `spoor query --lang sigma -f RULE_DIR FOLDER --format json` once per technique folder
# (TAxxxx-*/Txxxx-*) and prints a markdown table: folder, rules that fired, hits, the technique
# ids in the tags of the rules that fired (attack.tXXXX), and whether the folder's own technique
# is among them. The total wall time is printed at the end.
# SPOOR_BIN: the spoor binary (default $CARGO_TARGET_DIR or /work/target, release/spoor).
set -uo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
CORPUS="${SPOOR_CORPUS:-$ROOT/../shared/corpus}"
DATA="${1:-$CORPUS/evtx-mitre}"
shift || true
RULES=("$@")
[ ${#RULES[@]} -gt 0 ] || RULES=("$CORPUS/sigma/rules" "$CORPUS/sigma/rules-emerging-threats" "$CORPUS/sigma/rules-threat-hunting")
BIN="${SPOOR_BIN:-${CARGO_TARGET_DIR:-/work/target}/release/spoor}"
[ -x "$BIN" ] || { echo "error: no spoor binary at $BIN (cargo build --release)" >&2; exit 2; }

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# One folder holding every rule set (query -f takes one folder).
mkdir -p "$TMP/rules"
for r in "${RULES[@]}"; do ln -s "$r" "$TMP/rules/$(basename "$r")"; done

start=$(date +%s.%N)
echo "| technique folder | rules fired | hits | techniques in the tags of the rules that fired | own technique found |"
echo "|---|---|---|---|---|"
find "$DATA" -mindepth 2 -maxdepth 2 -type d -name 'T*' | sort | while read -r dir; do
    name="$(basename "$dir")"
    own="$(echo "$name" | grep -oE '^T[0-9]+(\.[0-9]+)?' | tr 'A-Z' 'a-z')"
    "$BIN" query --lang sigma -q -f "$TMP/rules" "$dir" --format json 2>/dev/null >"$TMP/out.json"
    python3 - "$TMP/out.json" "$name" "$own" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
name, own = sys.argv[2], sys.argv[3]
rules = {r["title"] for r in rows}
hits = sum(r["hits"] for r in rows)
techs = sorted({t.split(".", 1)[1].upper() for r in rows for t in r.get("tags") or []
                if t.startswith("attack.t")})
# The folder's technique, or its parent technique, among the tags.
base = own.split(".")[0].upper()
found = "yes" if any(t == own.upper() or t.split(".")[0] == base for t in techs) else "no"
print(f"| {name} | {len(rules)} | {hits} | {', '.join(techs[:8])}{' ...' if len(techs) > 8 else ''} | {found} |")
PY
done
end=$(date +%s.%N)
echo
awk -v s="$start" -v e="$end" 'BEGIN { printf "wall time: %.1f s\n", e - s }'
