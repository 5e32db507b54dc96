#!/bin/sh
# Regenerates spoor's built-in ATT&CK table (crates/detections/data/attack.tsv) from a STIX
# catalog: a bundle file such as enterprise-attack.json from mitre/cti, or a folder of bundles.
#   scripts/update-attack-table.sh [STIX_FILE_OR_FOLDER]
# Default: the corpus copy at ../shared/corpus/attack/enterprise-attack.
set -eu
cd "$(dirname "$0")/.."
source="${1:-../shared/corpus/attack/enterprise-attack}"
cargo run -q -p spoor-cli -- attack update "$source" --out crates/detections/data/attack.tsv
