#!/usr/bin/env bash
# The peer benchmark suite (docs/benchmarks.md §Against peers), in one go: Trellis against
# libgit2 (C harness, in process) and `git merge-file` (per process) for text merges; against
# Loro and pycrdt (PyPI) for record merges per second, ingest, bytes per revision and open time
# on the storage workload and on task records with growing notes; against `git fast-import` +
# `git gc --aggressive` for ingest and bytes; and `trellis sync` bytes and round trips against
# the ideal. Installs what it needs, builds release binaries, runs scripts/bench_peers.py,
# and rewrites the section of docs/benchmarks.md between its markers and docs/img/peers-*.png.
# Usage: scripts/bench-peers.sh [ROUNDS] [RECORDS] [REVISIONS]   (defaults: 3 20000 10)
# Other settings: SECONDS_PER_RUN (1), PROCESSES (200), TASKS (1000), TASK_REVISIONS (20),
# MARKDOWN (docs/benchmarks.md), PLOTS (docs/img).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
ROUNDS=${1:-3}
RECORDS=${2:-20000}
REVISIONS=${3:-10}
need=()
pkg-config --exists libgit2 2>/dev/null || need+=(libgit2-dev)
command -v git >/dev/null 2>&1 || need+=(git)
command -v cc >/dev/null 2>&1 || need+=(gcc)
bench_apt ${need[@]+"${need[@]}"}
python3 -c "import loro, pycrdt, matplotlib" 2>/dev/null || python3 -m pip install --quiet loro pycrdt matplotlib
bench_setup peers --python
swift build -c release --product trellis-merge-file >/dev/null
cc -O2 -o "$WORK/libgit2_merge_file" scripts/libgit2_merge_file.c $(pkg-config --cflags --libs libgit2)

python3 scripts/bench_peers.py --trellis "$T" --merge-file "$(dirname "$T")/trellis-merge-file" \
  --libgit2 "$WORK/libgit2_merge_file" --libgit2-version "$(pkg-config --modversion libgit2)" --work "$WORK" \
  --rounds "$ROUNDS" --records "$RECORDS" --revisions "$REVISIONS" --seconds "${SECONDS_PER_RUN:-1}" \
  --processes "${PROCESSES:-200}" --tasks "${TASKS:-1000}" --task-revisions "${TASK_REVISIONS:-20}" \
  --markdown "${MARKDOWN:-docs/benchmarks.md}" --plots "${PLOTS:-docs/img}" \
  --command "scripts/bench-peers.sh $ROUNDS $RECORDS $REVISIONS"
