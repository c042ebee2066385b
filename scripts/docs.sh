#!/usr/bin/env bash
# Builds the DocC documentation of the Trellis module (Sources/Trellis/Trellis.docc), failing on
# any warning (a broken symbol link, an unknown article). CI runs it from scripts/test.sh.
# Usage: scripts/docs.sh            (the archive lands in .build/plugins/Swift-DocC/outputs)
set -euo pipefail
cd "$(dirname "$0")/.."
swift package generate-documentation --target Trellis --warnings-as-errors
