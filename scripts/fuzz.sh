#!/usr/bin/env bash
# Runs the libFuzzer harnesses of Sources/trellis-fuzz (docs/fuzzing.md), each for SECONDS
# (default 60), starting from seed inputs made from real files and messages. New inputs that
# reach new code are kept in .build-fuzz/corpus/TARGET; crashes are saved as
# .build-fuzz/crash-TARGET-* and make the script exit 1.
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
# FUZZ_RUNS=N runs N inputs per target instead, from seed FUZZ_SEED (default 1): the same
# inputs every time, which is what CI runs (scripts/test.sh).
# Targets: json commit value sync server bundle pack index checkpoint log
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
SECONDS_EACH=${1:-60}
shift || true
TARGETS=("$@")
if [ ${#TARGETS[@]} -eq 0 ]; then TARGETS=(json commit value sync server bundle pack index checkpoint log); fi

# Seeds come from the normal build; the fuzzing build instruments every module it links.
swift build --product trellis-fuzz >/dev/null
rm -rf .build-fuzz/seeds
.build/debug/trellis-fuzz seeds .build-fuzz/seeds
swift build --build-path .build-fuzz --product trellis-fuzz \
  -Xswiftc -sanitize=fuzzer,address -Xswiftc -parse-as-library -Xswiftc -DFUZZING >/dev/null
BIN=.build-fuzz/debug/trellis-fuzz

status=0
SCRATCH=$(mktemp -d /dev/shm/trellis-fuzz.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$SCRATCH"' EXIT
export TRELLIS_FUZZ_SCRATCH=$SCRATCH
for t in "${TARGETS[@]}"; do
  mkdir -p ".build-fuzz/corpus/$t"
  log=".build-fuzz/$t.log"
  if [ -n "${FUZZ_RUNS:-}" ]; then limit=(-runs="$FUZZ_RUNS" -seed="${FUZZ_SEED:-1}"); else limit=(-max_total_time="$SECONDS_EACH"); fi
  if ASAN_OPTIONS=detect_leaks=0 TRELLIS_FUZZ_TARGET=$t "$BIN" "${limit[@]}" -print_final_stats=1 -rss_limit_mb=4096 -detect_leaks=0 \
       -artifact_prefix=".build-fuzz/crash-$t-" ".build-fuzz/corpus/$t" ".build-fuzz/seeds/$t" >"$log" 2>&1; then
    result=ok
  else
    result="FAILED (see $log)"
    status=1
  fi
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o "[0-9]*$" | tail -1 || echo "?")
  if [ -n "${FUZZ_RUNS:-}" ]; then how="(seed ${FUZZ_SEED:-1})"; else how="in ${SECONDS_EACH}s"; fi
  echo "$t: $runs executions $how, corpus $(ls ".build-fuzz/corpus/$t" | wc -l) inputs: $result"
done
exit $status
