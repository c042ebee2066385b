#!/usr/bin/env bash
# Merge throughput in one run: `trellis bench merge` (in-process, single-threaded), then the
# 50-line text case merged by `git merge-file -p` and by `trellis merge-file`, one process per
# merge, so the two tools are compared the same way. Prints medians.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
# Static Swift runtime: halves process start-up, which dominates one-merge-per-process runs.
swift build -c release --product trellis --static-swift-stdlib --scratch-path .build-static >/dev/null
swift build -c release --product trellis-merge-file --static-swift-stdlib --scratch-path .build-static >/dev/null
bin="$(swift build -c release --static-swift-stdlib --scratch-path .build-static --show-bin-path)"
trellis="$bin/trellis"
cases="$(mktemp -d)"
trap 'rm -rf "$cases"' EXIT

echo "== trellis bench merge (in-process)"
"$trellis" bench merge --write-cases "$cases" --runs "${RUNS:-5}"

n=${PROCESSES:-500}
per_process() {  # prints merges per second for one batch of $n process runs of "$@"
  local start end
  start=$(date +%s%N)
  for _ in $(seq "$n"); do "$@" >/dev/null; done
  end=$(date +%s%N)
  echo $(( n * 1000000000 / (end - start) ))
}
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "== 50-line text case, one process per merge, $n merges x 3 batches"
git_rate=$(for _ in 1 2 3; do per_process git merge-file -p "$cases/ours" "$cases/base" "$cases/theirs"; done | median)
mine_rate=$(for _ in 1 2 3; do per_process "$trellis" merge-file "$cases/ours" "$cases/base" "$cases/theirs"; done | median)
small_rate=$(for _ in 1 2 3; do per_process "$bin/trellis-merge-file" "$cases/ours" "$cases/base" "$cases/theirs"; done | median)
echo "git merge-file -p: $git_rate merges/s"
echo "trellis merge-file: $mine_rate merges/s"
echo "trellis-merge-file: $small_rate merges/s ($(awk -v a="$small_rate" -v b="$git_rate" 'BEGIN {printf "%.2f", a / b}')x git)"
cmp <(git merge-file -p "$cases/ours" "$cases/base" "$cases/theirs") <("$trellis" merge-file "$cases/ours" "$cases/base" "$cases/theirs") \
  && cmp <(git merge-file -p "$cases/ours" "$cases/base" "$cases/theirs") <("$bin/trellis-merge-file" "$cases/ours" "$cases/base" "$cases/theirs") \
  && echo "outputs identical"
