# Sourced by the bench-*.sh scripts: `bench_setup NAME [setup.sh options]` installs what the
# machine lacks, builds the release `trellis`, and sets T (its path) and WORK (a scratch
# directory under /tmp, removed when the script exits).
bench_setup() {
  local name=$1
  shift
  scripts/setup.sh "$@"
  swift build -c release --product trellis >/dev/null
  T=$PWD/.build/release/trellis
  WORK=$(mktemp -d "/tmp/trellis-bench-$name.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
}
