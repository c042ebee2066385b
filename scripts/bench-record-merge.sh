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

rate() {  # rate BINARY WORKLOAD-NAME: merges/s of one run
  "$1" bench merge --json --runs 1 --seconds "$seconds" |
    python3 -c 'import json,sys; print(next(int(r["merges_per_second"]) for r in json.load(sys.stdin) if r["workload"] == sys.argv[1]))' "$2"
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

for workload in "10-field record, disjoint edits" "sets and counters" "50-line text, non-overlapping edits"; do
  : > /tmp/trellis-now.$$; : > /tmp/trellis-old.$$
  for _ in $(seq "$rounds"); do
    rate "$now" "$workload" >> /tmp/trellis-now.$$
    rate "$old" "$workload" >> /tmp/trellis-old.$$
  done
  n=$(median < /tmp/trellis-now.$$); o=$(median < /tmp/trellis-old.$$)
  echo "$workload: $n merges/s against $o at $base_ref ($(awk -v a="$n" -v b="$o" 'BEGIN {printf "%.2f", a / b}')x)"
done
rm -f /tmp/trellis-now.$$ /tmp/trellis-old.$$

if [ "${ALLOCS:-0}" = 1 ]; then
  for tree in . "$base_dir"; do
    echo "== ordo-one Merge in $tree"
    (cd "$tree/Benchmarks" && swift package --allow-writing-to-package-directory benchmark --target Merge \
      --metric mallocCountTotal --metric wallClock --format markdown 2>&1 | grep -E '^\||^Merge|merge:' || true)
  done
fi
