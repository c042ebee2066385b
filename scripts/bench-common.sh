# Sourced by the bench-*.sh scripts: `bench_setup NAME [setup.sh options]` installs what the
# machine lacks, builds the release `trellis`, and sets T (its path) and WORK (a scratch
# directory under /tmp, removed when the script exits). `bench_apt PACKAGE...` installs the
# Debian packages given (callers pass only the missing ones; none is a no-op).
bench_apt() {
  [ $# -gt 0 ] || return 0
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null
}

bench_setup() {
  local name=$1
  shift
  scripts/setup.sh "$@"
  swift build -c release --product trellis >/dev/null
  T=$PWD/.build/release/trellis
  WORK=$(mktemp -d "/tmp/trellis-bench-$name.XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
}
