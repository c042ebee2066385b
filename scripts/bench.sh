#!/usr/bin/env bash
# Runs the ordo-one/benchmark targets in Benchmarks/ (release build) and prints markdown tables.
# Usage: scripts/bench.sh [--target Storage] [other `swift package benchmark` options]
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cd Benchmarks
swift package --allow-writing-to-package-directory benchmark --format markdown "$@"
