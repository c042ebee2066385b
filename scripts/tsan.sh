#!/usr/bin/env bash
# Runs the whole test suite under ThreadSanitizer (a separate build in .build-tsan).
# Usage: scripts/tsan.sh [swift test options, e.g. --filter StorageTests]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --python
swift build --build-path .build-tsan --build-tests -Xswiftc -sanitize=thread
# The CLI tests run the `trellis` binary of the same build.
# Suppressions name only third-party frames (scripts/tsan-suppressions.txt says why).
TSAN_OPTIONS=${TSAN_OPTIONS:-"halt_on_error=0 second_deadlock_stack=1 suppressions=$PWD/scripts/tsan-suppressions.txt"} \
  TRELLIS_BIN=$PWD/.build-tsan/debug/trellis \
  swift test --build-path .build-tsan --skip-build "$@"
