#!/usr/bin/env bash
# History questions at scale (docs/benchmarks.md §History questions): RECORDS x REVISIONS
# revisions of the storage workload imported and repacked, then 100 more edits a second later.
# Times `log -n 20`, `log KEY`, `diff --stat` since just before the last edits (100 records)
# and since the beginning (every record), `blame KEY`, and `get --at` a past time, as whole
# processes, medians of RUNS runs. A time proportional to the output shows as small figures
# for small answers however large the history.
# Usage: scripts/bench-history.sh [RECORDS] [REVISIONS] [RUNS]   (defaults: 100000 10 5)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
RECORDS=${1:-100000}
REVISIONS=${2:-10}
RUNS=${3:-5}
bench_setup history
export TRELLIS_STORE=$WORK/.trellis TRELLIS_DURABILITY=batched

python3 scripts/storage_workload.py jsonl "$RECORDS" "$REVISIONS" > "$WORK/in.jsonl"
"$T" init "$WORK" >/dev/null
"$T" import tasks "$WORK/in.jsonl" >/dev/null
"$T" repack >/dev/null
sleep 1
CUT=$(python3 -c "import datetime; print(datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%f')[:-3] + 'Z')")
sleep 0.2
python3 - > "$WORK/late.jsonl" <<'PY'
import json
for k in range(0, 100):
    print(json.dumps({"key": f"rec-{k * 997:06d}", "doc": {"name": f"late edit {k}", "visits": k}}))
PY
"$T" import tasks "$WORK/late.jsonl" >/dev/null
KEY=rec-000000

median() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])) * 1000:.0f}')" "$@"; }
timed() {  # timed ARGS...: the median of RUNS runs of `trellis ARGS`, in milliseconds
  local times=()
  for _ in $(seq "$RUNS"); do
    start=$(date +%s.%N)
    "$T" "$@" >/dev/null
    times+=("$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")")
  done
  median "${times[@]}"
}
echo "history of $RECORDS records x $REVISIONS revisions (+100 late edits), medians of $RUNS runs, ms per process"
echo "get $KEY (process start-up and open, the floor):   $(timed get tasks "$KEY")"
echo "log -n 20:                                         $(timed log tasks -n 20 --no-pager)"
echo "log $KEY (its $REVISIONS+ commits):                      $(timed log tasks "$KEY" --no-pager)"
echo "log --since CUT (the 100 late commits):            $(timed log tasks --since "$CUT" --oneline --no-pager)"
echo "diff --stat since CUT (100 records):               $(timed diff tasks "$CUT" --stat --no-pager)"
echo "diff --stat since 2000-01-01 (all $RECORDS records):  $(timed diff tasks 2000-01-01 --stat --no-pager)"
echo "blame $KEY:                                        $(timed blame tasks "$KEY" --no-pager)"
echo "get $KEY --at CUT:                                 $(timed get tasks "$KEY" --at "$CUT")"
