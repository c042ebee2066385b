#!/usr/bin/env bash
# Builds Trellis and runs the whole test suite (Swift tests, the CLI end-to-end tests and the
# independent Python readers in Tests/verify, which the Swift tests call).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --python
swift build --build-tests
swift test --skip-build
# The DocC catalog, with its getting-started article; a warning fails the run.
scripts/docs.sh
# A short, deterministic fuzzing pass over every decoder (docs/fuzzing.md).
FUZZ_RUNS=${FUZZ_RUNS:-20000} scripts/fuzz.sh
# The whole suite again under ThreadSanitizer (about 13 minutes here, docs/architecture.md
# §Readers during writes); any race reported fails the run.
scripts/tsan.sh
