#!/usr/bin/env bash
# Verification throughput (docs/benchmarks.md §Verification): a first-contact sync of the
# storage workload (scripts/storage_workload.py, imported and repacked) into an empty store, and
# `fsck` of the repacked store, in a format 1 store (every commit's signature kept and checked)
# against a format 2 store (covered signatures: one check per uncovered commit), same binary,
# same run. Times are whole processes; commits/s counts every commit received or checked.
# Usage: scripts/bench-verify.sh [RECORDS] [REVISIONS]      (defaults: 100000 10)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
RECORDS=${1:-100000}
REVISIONS=${2:-10}
bench_setup verify
python3 scripts/storage_workload.py jsonl "$RECORDS" "$REVISIONS" > "$WORK/revisions.jsonl"

now() { date +%s.%N; }
fresh() {  # DIR FORMAT
  "$T" init "$1" >/dev/null
  [ "$2" = 1 ] && printf 'trellis-store 1\n' > "$1/.trellis/FORMAT"
  return 0
}
results=()
for format in 1 2; do
  fresh "$WORK/a$format" "$format"
  "$T" import --store "$WORK/a$format" bench "$WORK/revisions.jsonl" >/dev/null
  "$T" repack --store "$WORK/a$format" >/dev/null
  fresh "$WORK/b$format" "$format"
  s=$(now); "$T" sync --store "$WORK/b$format" "$WORK/a$format" >/dev/null; e=$(now)
  sync_s=$(python3 -c "print(float('$e') - float('$s'))")
  s=$(now); "$T" fsck --store "$WORK/a$format" >/dev/null; e=$(now)
  fsck_s=$(python3 -c "print(float('$e') - float('$s'))")
  sigs=$("$T" stats --store "$WORK/b$format" --json | python3 -c "import json,sys; s=json.load(sys.stdin)[0]; print(s['signatures'], s['commits'])")
  results+=("$format $sync_s $fsck_s $sigs")
done
python3 - "${results[@]}" <<'PY'
import sys
rows = [r.split() for r in sys.argv[1:]]
by = {r[0]: (float(r[1]), float(r[2]), int(r[3]), int(r[4])) for r in rows}
n = by["2"][3]
print(f"{n:,} commits; whole processes, one run")
print("| | format 1 (every signature) | format 2 (covered signatures) | format 2 / format 1 |")
print("| --- | --- | --- | --- |")
for i, name in [(0, "first-contact sync into an empty store"), (1, "`fsck` of the repacked store")]:
    a, b = by["1"][i], by["2"][i]
    print(f"| {name} | {a:.1f} s = {n / a:,.0f} commits/s | {b:.1f} s = **{n / b:,.0f} commits/s** | {a / b:.2f}x faster |")
print(f"signatures stored by the receiver: format 1 {by['1'][2]:,}, format 2 {by['2'][2]:,}")
PY
