#!/usr/bin/env bash
# Text merges in process, Trellis against libgit2, in one run (docs/benchmarks.md §Text merge).
# Compiles scripts/libgit2_merge_file.c against Debian's libgit2-dev, writes three cases (the
# 50-line case of `trellis bench merge`, 2,000 lines with 30 scattered edits a side, 200 lines
# both sides rewrote in places), then alternates one run of `trellis bench text-merge` and one
# of the libgit2 harness, ROUNDS times per case, and prints medians and their ratio. Clean
# cases must merge to identical bytes in both.
# Usage: scripts/bench-text-merge.sh [ROUNDS] [SECONDS]   (defaults: 5 1)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/bench-common.sh
ROUNDS=${1:-5}
SECONDS_PER_RUN=${2:-1}
bench_setup text
pkg-config --exists libgit2 || bench_apt libgit2-dev
cc -O2 -o "$WORK/libgit2_merge_file" scripts/libgit2_merge_file.c $(pkg-config --cflags --libs libgit2)

python3 scripts/text_merge_cases.py "$WORK"

median() { python3 -c "import statistics, sys; print(f'{statistics.median(map(float, sys.argv[1:])):.0f}')" "$@"; }
echo "text merges in process, medians of $ROUNDS alternating runs of ${SECONDS_PER_RUN}s ($(date -u +%F), $(nproc) cores)"
for case in 50-lines 2000-lines 200-lines-overlapping; do
  d="$WORK/$case"
  mine=() theirs=()
  for _ in $(seq "$ROUNDS"); do
    mine+=("$("$T" bench text-merge "$d/ours" "$d/base" "$d/theirs" --runs 1 --seconds "$SECONDS_PER_RUN" --json | python3 -c "import json, sys; print(json.load(sys.stdin)['merges_per_second'])")")
    theirs+=("$("$WORK/libgit2_merge_file" "$d/ours" "$d/base" "$d/theirs" "$SECONDS_PER_RUN" 1)")
  done
  m=$(median "${mine[@]}") g=$(median "${theirs[@]}")
  same=""
  if "$T" merge-file "$d/ours" "$d/base" "$d/theirs" > "$d/mine.out"; then
    MERGED="$d/git.out" "$WORK/libgit2_merge_file" "$d/ours" "$d/base" "$d/theirs" 0.001 1 >/dev/null
    cmp -s "$d/mine.out" "$d/git.out" && same=", outputs identical" || same=", OUTPUTS DIFFER"
  else
    same=", conflicts (outputs not compared)"
  fi
  printf '%-24s trellis %8s/s  libgit2 %8s/s  %sx%s\n' "$case" "$m" "$g" "$(python3 -c "print(f'{$m / $g:.2f}')")" "$same"
done
