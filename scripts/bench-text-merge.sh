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
if ! pkg-config --exists libgit2; then
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq libgit2-dev >/dev/null
fi
cc -O2 -o "$WORK/libgit2_merge_file" scripts/libgit2_merge_file.c $(pkg-config --cflags --libs libgit2)

python3 - "$WORK" <<'PY'
import os, random, sys
work = sys.argv[1]
def write(case, base, ours, theirs):
    os.makedirs(f"{work}/{case}")
    for name, lines in (("base", base), ("ours", ours), ("theirs", theirs)):
        with open(f"{work}/{case}/{name}", "w") as f:
            f.write("".join(lines))
# The 50-line case of `trellis bench merge` (MergeWorkload.fiftyLines).
base = [f"Line {n} of a fifty-line note, with some words in it.\n" for n in range(50)]
ours = list(base); ours[8] = "Line 8 was rewritten on our side.\n"; ours.insert(21, "A line we inserted after line 20.\n")
theirs = list(base); theirs[40] = "Line 40 was rewritten on their side.\n"; del theirs[45]
write("50-lines", base, ours, theirs)
# 2,000 lines, 30 edits a side in alternate 33-line stripes, so they never touch.
rng = random.Random(16)
base = [f"{n:04d} " + " ".join(rng.choice(["alpha", "beta", "gamma", "delta", "node", "edge"]) for _ in range(6)) + "\n" for n in range(2000)]
ours, theirs = list(base), list(base)
for stripe in range(60):
    side = ours if stripe % 2 == 0 else theirs
    at = stripe * 33 + rng.randrange(0, 30)
    side[at] = f"{at:04d} changed on {'our' if side is ours else 'their'} side\n"
write("2000-lines", base, ours, theirs)
# 200 lines where both sides rewrote the same 20 lines differently: the word pass and markers.
base = [f"Item {n}: status open, owner ann, points {n % 7}\n" for n in range(200)]
ours, theirs = list(base), list(base)
for n in range(0, 200, 10):
    ours[n] = f"Item {n}: status done, owner ann, points {n % 7}\n"
    theirs[n] = f"Item {n}: status open, owner bob, points {n % 7 + 1}\n" if n % 20 else f"Item {n} was dropped\n"
write("200-lines-overlapping", base, ours, theirs)
PY

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
