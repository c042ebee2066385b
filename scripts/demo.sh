#!/usr/bin/env bash
# A short tour on a temporary store: put, edit, get, log, diff.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift build --product trellis >/dev/null
trellis="$(swift build --show-bin-path)/trellis"

dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
export TRELLIS_STORE="$dir"
step() { printf '\n\033[1m$ trellis %s\033[0m\n' "$*"; "$trellis" "$@"; }

step init "$dir"
step put tasks t1 --create --json '{"title": "Write the docs", "done": false, "tags": {"$set": ["docs"]}, "notes": {"$text": "outline\ndraft\n"}}'
step put tasks t1 done:=true 'notes:={"$text": "outline\ndraft\nreview\n"}' owner=ann
step get tasks t1
step log tasks t1
step diff tasks t1
