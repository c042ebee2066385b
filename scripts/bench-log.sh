#!/usr/bin/env bash
# History-read benchmark (docs/benchmarks.md §History reads): RECORDS x REVISIONS revisions
# imported with `trellis import` (frames of 1,000 commits), then `trellis log REPO` timed on
# three copies of the same history: right after the import, after a bundle of it was applied
# to an empty store, and after `trellis repack`. Medians of RUNS runs each.
# Usage: scripts/bench-log.sh [RECORDS] [REVISIONS] [RUNS]      (defaults: 10000 5 3)
# BUILD=debug uses the debug build (default release). BASELINE=/path/to/trellis also times
# another build (for example the previous main's) on the same stores, in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
RECORDS=${1:-10000}
REVISIONS=${2:-5}
RUNS=${3:-3}
BUILD=${BUILD:-release}
swift build -c "$BUILD" --product trellis >/dev/null
T=$PWD/.build/$BUILD/trellis
WORK=$(mktemp -d /tmp/trellis-bench-log.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

python3 - "$RECORDS" "$REVISIONS" > "$WORK/in.jsonl" <<'PY'
import json, sys
records, revisions = int(sys.argv[1]), int(sys.argv[2])
for r in range(revisions):
    for k in range(records):
        print(json.dumps({"key": f"k{k}", "doc": {"title": f"task {k}", "rev": r, "done": r % 2 == 0}}))
PY
for s in imported bundled repacked; do "$T" init "$WORK/$s" >/dev/null; done
"$T" import tasks "$WORK/in.jsonl" --store "$WORK/imported/.trellis" >/dev/null
"$T" bundle create "$WORK/all.bundle" tasks --store "$WORK/imported/.trellis" >/dev/null
"$T" bundle apply "$WORK/all.bundle" --store "$WORK/bundled/.trellis" >/dev/null
"$T" import tasks "$WORK/in.jsonl" --store "$WORK/repacked/.trellis" >/dev/null
"$T" repack --store "$WORK/repacked/.trellis" >/dev/null

median() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.2f}')" "$@"; }
timed() {  # timed BINARY STATE ARGS...: the median of RUNS runs of `log`, in seconds
  local bin=$1 state=$2; shift 2
  local times=()
  for _ in $(seq "$RUNS"); do
    start=$(date +%s.%N)
    "$bin" log tasks "$@" --store "$WORK/$state/.trellis" >/dev/null
    times+=("$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")")
  done
  median "${times[@]}"
}
for s in imported bundled repacked; do
  for args in "" "-n 50"; do
    # shellcheck disable=SC2086
    line="$s log ${args:-(all $((RECORDS * REVISIONS)) commits)}: $(timed "$T" "$s" $args) s"
    # shellcheck disable=SC2086
    if [ -n "${BASELINE:-}" ]; then line="$line (baseline $(timed "$BASELINE" "$s" $args) s)"; fi
    echo "$line"
  done
done
