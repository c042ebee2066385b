#!/usr/bin/env bash
# Concurrent-sync benchmark (docs/benchmarks.md §Concurrent syncs): one `trellis serve --open`
# holding RECORDS records, and CLIENTS fresh stores with 5 records each of their own that all
# start `trellis sync` at the same instant. Each client pulls the server's records (and the
# other clients' that arrived first) and pushes its own. Reports per-session wall time (p50,
# p99, max), sessions per second over the whole run, and where the CPU time went: the server
# process against all the client processes together.
# Usage: scripts/bench-syncs.sh [CLIENTS] [RECORDS]      (defaults: 200 1000)
# BUILD=debug uses the debug build (default release); TRELLIS=/path/to/trellis runs another
# build instead (the previous main's, say), for a ratio measured on the same machine. PERF=FILE records the server with
# `perf record -g` during the run (then `perf report -i FILE --no-children --sort dso,symbol`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
CLIENTS=${1:-200}
RECORDS=${2:-1000}
BUILD=${BUILD:-release}
if [ -n "${TRELLIS:-}" ]; then T=$TRELLIS; else
  swift build -c "$BUILD" --product trellis >/dev/null
  T=$PWD/.build/$BUILD/trellis
fi
WORK=$(mktemp -d /tmp/trellis-bench-syncs.XXXXXX)
SERVER_PID=
cleanup() { [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT

ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # user + system CPU, in clock ticks

"$T" init "$WORK/server" >/dev/null
python3 -c "
import json
for k in range($RECORDS): print(json.dumps({'key': f'k{k}', 'doc': {'title': f'task {k}', 'done': k % 3 == 0}}))
" > "$WORK/server.jsonl"
"$T" import r "$WORK/server.jsonl" --store "$WORK/server/.trellis" >/dev/null
for i in $(seq "$CLIENTS"); do
  "$T" init "$WORK/c$i" >/dev/null
  for k in 1 2 3 4 5; do echo "{\"key\": \"c$i-$k\", \"doc\": {\"title\": \"from client $i\"}}"; done > "$WORK/c$i.jsonl"
  "$T" import r "$WORK/c$i.jsonl" --store "$WORK/c$i/.trellis" >/dev/null
done

"$T" serve --open --port 0 --log-level error --store "$WORK/server/.trellis" > "$WORK/serve.out" &
SERVER_PID=$!
for _ in $(seq 200); do grep -q listening "$WORK/serve.out" 2>/dev/null && break; sleep 0.05; done
URL=$(sed -n 's/^listening on //p' "$WORK/serve.out")
server_before=$(ticks "$SERVER_PID")

# Every client waits for the same go signal, so the sessions really overlap.
mkfifo "$WORK/go"
for i in $(seq "$CLIENTS"); do
  (
    read -r _ < "$WORK/go"
    start=$(date +%s%N)
    if /usr/bin/env time -f "%U %S" -o "$WORK/c$i.cpu" "$T" sync "$URL" r --store "$WORK/c$i/.trellis" > /dev/null 2> "$WORK/c$i.err"; then
      echo "$(( ($(date +%s%N) - start) / 1000000 ))" > "$WORK/c$i.ms"
    else
      echo "failed" > "$WORK/c$i.ms"
    fi
  ) &
done
sleep 1
PERF_PID=
if [ -n "${PERF:-}" ]; then perf record -F 999 -g -o "$PERF" -p "$SERVER_PID" 2>/dev/null & PERF_PID=$!; sleep 0.5; fi
run_start=$(date +%s%N)
# Opening the fifo for writing releases every reader at once; each reads the one line.
python3 -c "
import os, sys
fd = os.open('$WORK/go', os.O_WRONLY)
os.write(fd, b'go\n' * $CLIENTS)
os.close(fd)
"
wait $(jobs -p | grep -v -e "^$SERVER_PID\$" -e "^${PERF_PID:-none}\$") 2>/dev/null || true
run_ms=$(( ($(date +%s%N) - run_start) / 1000000 ))
server_ticks=$(( $(ticks "$SERVER_PID") - server_before ))
if [ -n "$PERF_PID" ]; then kill -INT "$PERF_PID"; wait "$PERF_PID" 2>/dev/null || true; fi

python3 - "$WORK" "$CLIENTS" "$run_ms" "$server_ticks" "$(getconf CLK_TCK)" "$RECORDS" <<'PY'
import os, statistics, sys
work, clients, run_ms, server_ticks, hz, records = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
times, failed, cpu = [], 0, 0.0
for i in range(1, clients + 1):
    text = open(f"{work}/c{i}.ms").read().strip()
    if text == "failed":
        failed += 1
        print(f"client {i} failed: " + open(f"{work}/c{i}.err").read().strip().splitlines()[-1:][0] if open(f"{work}/c{i}.err").read().strip() else f"client {i} failed")
        continue
    times.append(int(text))
    user, system = open(f"{work}/c{i}.cpu").read().split()[-2:]
    cpu += float(user) + float(system)
times.sort()
def pct(p): return times[min(len(times) - 1, int(round(p / 100 * (len(times) - 1))))] / 1000
print(f"{clients} clients x 5 records against a server of {records} records, all started at once")
print(f"sessions: {len(times)} succeeded, {failed} failed, in {run_ms / 1000:.2f} s: {len(times) / (run_ms / 1000):.1f} sessions/s")
if times:
    print(f"session wall time: p50 {pct(50):.2f} s, p99 {pct(99):.2f} s, max {times[-1] / 1000:.2f} s")
print(f"CPU: server {server_ticks / hz:.2f} s, clients {cpu:.2f} s in all ({cpu / max(1, len(times)) * 1000:.0f} ms each)")
PY
