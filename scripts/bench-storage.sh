#!/usr/bin/env bash
# Storage benchmark (docs/benchmarks.md §Storage v2): RECORDS x REVISIONS revisions of small
# JSON-like documents, loaded into Trellis (`trellis import`, then `trellis repack`) and, in the
# same run, into git (`git fast-import`, then `git gc --aggressive`) as one file per record in a
# two-level fan-out, one git commit per PER_COMMIT revisions (default 1000, the import's batch).
# Also times opening the repacked store (a whole `trellis get` process) and its peak memory.
# Usage: scripts/bench-storage.sh [RECORDS] [REVISIONS]      (defaults: 100000 10)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
RECORDS=${1:-100000}
REVISIONS=${2:-10}
PER_COMMIT=${PER_COMMIT:-1000}
bench_setup storage

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }

python3 scripts/storage_workload.py jsonl "$RECORDS" "$REVISIONS" > "$WORK/revisions.jsonl"
python3 scripts/storage_workload.py fast-import "$RECORDS" "$REVISIONS" "$PER_COMMIT" > "$WORK/fast-import.stream"
JSONL_BYTES=$(stat -c %s "$WORK/revisions.jsonl")

# Trellis
"$T" init "$WORK/t" >/dev/null
S=$(now); "$T" import --store "$WORK/t" bench "$WORK/revisions.jsonl" >/dev/null; E=$(now)
T_IMPORT=$(elapsed "$S" "$E")
T_BEFORE=$(du -sb "$WORK/t/.trellis/repos" | cut -f1)
S=$(now); "$T" repack --store "$WORK/t" >/dev/null; E=$(now)
T_REPACK=$(elapsed "$S" "$E")
"$T" stats --store "$WORK/t" --json > "$WORK/stats.json"
read -r COMMITS RAW DISK CHAIN <<<"$(python3 -c "
import json,sys; s=json.load(open(sys.argv[1]))[0]
print(s['commits'], s['raw_bytes'], s['bytes_on_disk'], s['longest_chain'])" "$WORK/stats.json")"
OPENS=()
for _ in 1 2 3 4 5; do
  OPENS+=("$(/usr/bin/time -f "%e %M" "$T" get --store "$WORK/t" bench rec-000001 2>&1 >/dev/null | tail -1)")
done
read -r OPEN_S OPEN_KB <<<"$(printf '%s\n' "${OPENS[@]}" | sort -n | sed -n 3p)"

# git
git init -q --bare "$WORK/g"
S=$(now); git -C "$WORK/g" fast-import --quiet < "$WORK/fast-import.stream"; E=$(now)
G_IMPORT=$(elapsed "$S" "$E")
G_BEFORE=$(du -sb "$WORK/g/objects" | cut -f1)
S=$(now); git -C "$WORK/g" gc -q --aggressive; E=$(now)
G_GC=$(elapsed "$S" "$E")
G_DISK=$(du -sb "$WORK/g/objects" | cut -f1)

python3 - "$RECORDS" "$REVISIONS" "$PER_COMMIT" "$JSONL_BYTES" "$COMMITS" "$RAW" "$DISK" "$CHAIN" "$T_IMPORT" "$T_REPACK" \
  "$T_BEFORE" "$OPEN_S" "$OPEN_KB" "$G_IMPORT" "$G_GC" "$G_BEFORE" "$G_DISK" <<'PY'
import sys
(records, revisions, per_commit, jsonl, commits, raw, disk, chain, t_import, t_repack, t_before, open_s, open_kb,
 g_import, g_gc, g_before, g_disk) = sys.argv[1:]
mb = lambda b: f"{int(b) / 1e6:,.1f} MB"
print(f"workload: {int(records):,} records x {revisions} revisions = {int(commits):,} commits; JSON lines {mb(jsonl)}; git commit every {per_commit} revisions")
print()
print("| | Trellis | git | Trellis / git |")
print("| --- | --- | --- | --- |")
print(f"| ingest (`trellis import` / `git fast-import`) | {t_import} s | {g_import} s | {float(t_import) / float(g_import):.2f}x |")
print(f"| bytes on disk after ingest | {mb(t_before)} | {mb(g_before)} (loose pack) | {int(t_before) / int(g_before):.2f}x |")
print(f"| compaction (`trellis repack` / `git gc --aggressive`) | {t_repack} s | {g_gc} s | {float(t_repack) / float(g_gc):.2f}x |")
print(f"| bytes on disk after compaction | {mb(disk)} | {mb(g_disk)} | {int(disk) / int(g_disk):.2f}x |")
print(f"| raw canonical bytes (encodings + signatures) | {mb(raw)} ({int(raw) / int(disk):.2f}x the packed size) | | |")
print(f"| longest delta chain | {chain} | | |")
print(f"| open + one get, whole process (median of 5) | {open_s} s, {int(open_kb) / 1024:.0f} MiB peak RSS | | |")
PY
