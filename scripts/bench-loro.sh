#!/usr/bin/env bash
# Trellis against Loro (PyPI `loro`) in one run (docs/benchmarks.md §Bytes, ingest and open
# against Loro): the same revisions loaded into both, bytes per revision after `trellis repack`
# against Loro's snapshot, ingest time (`trellis import`, every commit signed and fsynced per
# batch, against Loro's Python load), and open time (a whole `trellis get` process against
# importing Loro's snapshot in process). Two workloads: the storage workload
# (scripts/storage_workload.py) and task records whose notes text grows with each revision.
# Medians of ROUNDS rounds.
# Usage: scripts/bench-loro.sh [RECORDS] [REVISIONS] [TASKS] [TASK_REVISIONS] [ROUNDS]
#        (defaults: 100000 10 1000 20 3)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
bench_setup loro --python
python3 -c "import loro" 2>/dev/null || python3 -m pip install --quiet loro
RECORDS=${1:-100000}
REVISIONS=${2:-10}
TASKS=${3:-1000}
TASK_REVISIONS=${4:-20}
ROUNDS=${5:-3}

run_round() {  # workload count revisions key -> one JSON line
  local mode=$1 count=$2 revisions=$3 key=$4 dir="$WORK/$1"
  rm -rf "$dir" && mkdir -p "$dir"
  local loro
  loro=$(cd scripts && python3 loro_compare.py "$mode" "$count" "$revisions" "$dir/revisions.jsonl")
  "$T" init "$dir/t" >/dev/null
  local s e
  s=$(date +%s.%N); "$T" import --store "$dir/t" bench "$dir/revisions.jsonl" >/dev/null; e=$(date +%s.%N)
  "$T" repack --store "$dir/t" >/dev/null
  "$T" stats --store "$dir/t" --json > "$dir/stats.json"
  local opens=()
  for _ in 1 2 3 4 5; do
    opens+=("$( { /usr/bin/time -f "%e %M" "$T" get --store "$dir/t" bench "$key" >/dev/null; } 2>&1 | tail -1)")
  done
  python3 - "$loro" "$dir/stats.json" "$s" "$e" "${opens[@]}" <<'PY'
import json, statistics, sys
loro, stats, start, end, opens = json.loads(sys.argv[1]), json.load(open(sys.argv[2]))[0], float(sys.argv[3]), float(sys.argv[4]), sys.argv[5:]
n = loro["revisions"]
print(json.dumps({"loro": loro, "trellis": {
    "import_s": end - start, "bytes_per_revision": stats["bytes_on_disk"] / n,
    "pack": stats["pack_bytes"] / n, "index": stats["index_bytes"] / n, "checkpoint": stats["checkpoint_bytes"] / n,
    "log": stats["log_bytes"] / n, "signatures": stats["signatures"], "commits": stats["commits"],
    "open_s": statistics.median(float(o.split()[0]) for o in opens),
    "open_kb": statistics.median(int(o.split()[1]) for o in opens)}}))
PY
}

for workload in "storage $RECORDS $REVISIONS rec-000001" "tasks $TASKS $TASK_REVISIONS task-00001"; do
  set -- $workload
  : > "$WORK/$1.rounds"
  for _ in $(seq "$ROUNDS"); do run_round "$1" "$2" "$3" "$4" >> "$WORK/$1.rounds"; done
  python3 - "$1" "$2" "$3" "$WORK/$1.rounds" <<'PY'
import json, statistics, sys
mode, count, revisions, path = sys.argv[1:]
rounds = [json.loads(l) for l in open(path)]
med = lambda f: statistics.median(f(r) for r in rounds)
t = lambda k: med(lambda r: r["trellis"][k])
l = lambda k: med(lambda r: r["loro"][k])
print(f"\n{mode}: {int(count):,} records x {revisions} revisions = {rounds[0]['loro']['revisions']:,} revisions; median of {len(rounds)} rounds")
print("| | Trellis | Loro | Trellis / Loro |")
print("| --- | --- | --- | --- |")
print(f"| bytes per revision (after repack / snapshot) | {t('bytes_per_revision'):.1f} B | {l('bytes_per_revision'):.1f} B | **{t('bytes_per_revision') / l('bytes_per_revision'):.2f}x** |")
print(f"| ingest (`trellis import` / Python load) | {t('import_s'):.2f} s | {l('load_s'):.2f} s | {t('import_s') / l('load_s'):.2f}x |")
print(f"| open (`trellis get` process / snapshot import) | {t('open_s'):.3f} s | {l('open_s'):.4f} s | {t('open_s') / l('open_s'):.1f}x |")
print(f"Trellis bytes per revision: pack {t('pack'):.1f}, index {t('index'):.1f}, checkpoint {t('checkpoint'):.1f}, log {t('log'):.1f};"
      f" {rounds[0]['trellis']['signatures']:,} signatures over {rounds[0]['trellis']['commits']:,} commits; open peak {t('open_kb') / 1024:.0f} MiB")
PY
done
