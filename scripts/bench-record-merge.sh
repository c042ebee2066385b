#!/usr/bin/env bash
# Record merges per second against a build of an earlier main, in one run (issue 16): both
# `trellis bench merge` binaries run one after the other, ROUNDS times, and the medians and
# their ratio are printed. ALLOCS=1 also runs the ordo-one Merge target in both trees for
# allocations per merge (about 10 more minutes of building).
# Usage: scripts/bench-record-merge.sh [BASE_REF] [ROUNDS] [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/.."
base_ref=${1:-c45644f}  # main before issue 16's work began
rounds=${2:-5}
seconds=${3:-1}
scripts/setup.sh
base_dir=.build-base/src
if [ "$(cat .build-base/ref 2>/dev/null)" != "$(git rev-parse "$base_ref")" ]; then
  rm -rf "$base_dir" && mkdir -p "$base_dir"
  git archive "$base_ref" | tar -x -C "$base_dir"
  git rev-parse "$base_ref" > .build-base/ref
fi
swift build -c release --product trellis >/dev/null
(cd "$base_dir" && swift build -c release --product trellis --scratch-path ../build >/dev/null)
now="$(swift build -c release --show-bin-path)/trellis"
old="$(cd "$base_dir" && swift build -c release --scratch-path ../build --show-bin-path)/trellis"

# Each round runs every workload once in each binary, the two binaries one after the other.
runs=$(mktemp)
trap 'rm -f "$runs"' EXIT
for _ in $(seq "$rounds"); do
  for bin in "$now" "$old"; do
    { printf '%s ' "$bin"; "$bin" bench merge --json --runs 1 --seconds "$seconds"; } >> "$runs"
  done
done
python3 - "$runs" "$now" "$old" "$base_ref" <<'PY'
import json, statistics, sys
path, now, old, ref = sys.argv[1:]
rates = {now: {}, old: {}}
for line in open(path):
    binary, results = line.split(" ", 1)
    for r in json.loads(results):
        rates[binary].setdefault(r["workload"], []).append(r["merges_per_second"])
for workload, mine in rates[now].items():
    n, o = statistics.median(mine), statistics.median(rates[old][workload])
    print(f"{workload}: {n:.0f} merges/s against {o:.0f} at {ref} ({n / o:.2f}x)")
PY

if [ "${ALLOCS:-0}" = 1 ]; then
  for tree in . "$base_dir"; do
    echo "== ordo-one Merge in $tree"
    (cd "$tree/Benchmarks" && swift package --allow-writing-to-package-directory benchmark --target Merge \
      --metric mallocCountTotal --metric wallClock --format markdown 2>&1 | grep -E '^\||^Merge|merge:' || true)
  done
fi
