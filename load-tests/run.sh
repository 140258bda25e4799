#!/usr/bin/env bash
# Runs one load-test scenario against servers this script starts, and stops them all on exit.
#
#   load-tests/run.sh SCENARIO [--mode embedded|redis|two-nodes] [loadtest flags...]
#
# SCENARIO: ttft, ttft-serial, fanout, resume, interrupt, soak (see load-tests/README.md).
# Modes:
#   embedded   one Server process (in-memory stores, in-process worker)            [default]
#   redis      redis-server + one Server + one Worker, all with RealtimeAgents__Redis
#   two-nodes  redis-server + two Servers + two Workers; virtual users spread over both URLs
# The report goes to load-tests/results/<timestamp>-<scenario>/ (report.md, metrics.csv,
# report.json, chart.svg, and the servers' logs). The exit code is the harness's: 0 when every
# threshold was met, 1 when one was missed, 2 for bad flags, 3 when the run did not finish.
#
# Environment: LOADTEST_ARTIFACTS (build output, default artifacts/loadtest), WORKER_CONCURRENCY
# (tasks each worker runs at once, default 2000: the product default of 64 would queue a
# 1,000-stream test behind itself and measure the queue, not the hub), LOADTEST_NICE (e.g. -10:
# run servers, workers and the harness at that nice level, so other work on a shared machine
# disturbs the figures less; negative values need root), LOADTEST_NO_BUILD=1 (use the last build),
# LOADTEST_GEN0 (the harness's gen0 GC budget, default 0x10000000 = 256 MB; 0 = the runtime's).
set -euo pipefail

usage() { sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; }
if [ $# -lt 1 ] || [[ "$1" == -* ]]; then usage; exit 2; fi
scenario=$1; shift
mode=embedded
pass=()
while [ $# -gt 0 ]; do
  case "$1" in
    --mode) mode=${2:?--mode needs a value}; shift 2 ;;
    --mode=*) mode=${1#--mode=}; shift ;;
    *) pass+=("$1"); shift ;;
  esac
done
case "$mode" in embedded|redis|two-nodes) ;; *) echo "unknown mode '$mode' (embedded, redis or two-nodes)"; exit 2 ;; esac

root=$(cd "$(dirname "$0")/.." && pwd)
artifacts=${LOADTEST_ARTIFACTS:-$root/artifacts/loadtest}
results="$root/load-tests/results/$(date -u +%Y%m%d-%H%M%S)-$scenario"
mkdir -p "$results"

pids=()
stop_all() {
  local pid
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
}
trap stop_all EXIT

free_port() {
  local port
  for _ in $(seq 1 50); do
    port=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then echo "$port"; return; fi
  done
  echo "no free port found" >&2; exit 3
}

wait_http() { # url pid name
  for _ in $(seq 1 150); do
    if curl -fsS -o /dev/null "$1" 2>/dev/null; then return; fi
    if ! kill -0 "$2" 2>/dev/null; then echo "$3 exited during start-up; its log:"; tail -30 "$results/$3.log"; exit 3; fi
    sleep 0.2
  done
  echo "$3 did not answer $1 within 30 s"; exit 3
}

build() {
  if [ -n "${LOADTEST_NO_BUILD:-}" ]; then return; fi
  echo "== dotnet build -c Release $*"
  for project in "$@"; do
    dotnet build "$root/$project" -c Release -nologo -v quiet --artifacts-path "$artifacts" >>"$results/build.log" 2>&1 \
      || { echo "build of $project failed:"; tail -30 "$results/build.log"; exit 3; }
  done
}

dll() { echo "$artifacts/bin/$1/release/$1.dll"; }
run=()
if [ -n "${LOADTEST_NICE:-}" ]; then run=(nice -n "$LOADTEST_NICE"); fi

export Logging__LogLevel__Default=Warning
export Logging__LogLevel__Microsoft__Hosting__Lifetime=Information
export RealtimeAgents__Worker__Concurrency=${WORKER_CONCURRENCY:-2000}

start_server() { # name [redis]
  local port; port=$(free_port)
  ( cd "$results" && exec "${run[@]}" dotnet "$(dll RealtimeAgents.Server)" --urls "http://127.0.0.1:$port" ) >"$results/$1.log" 2>&1 &
  local pid=$!
  pids+=("$pid"); server_pids+=("$pid")
  wait_http "http://127.0.0.1:$port/healthz" "$pid" "$1"
  urls+=("http://127.0.0.1:$port/hubs/agents")
  echo "$1: pid $pid on http://127.0.0.1:$port"
}

start_worker() { # name
  ( cd "$results" && exec "${run[@]}" dotnet "$(dll RealtimeAgents.Worker)" ) >"$results/$1.log" 2>&1 &
  local pid=$!
  pids+=("$pid"); server_pids+=("$pid")
  sleep 1
  if ! kill -0 "$pid" 2>/dev/null; then echo "$1 exited during start-up; its log:"; tail -30 "$results/$1.log"; exit 3; fi
  echo "$1: pid $pid"
}

server_pids=()
redis_pid=
urls=()
projects=(src/RealtimeAgents.Server load-tests/RealtimeAgents.LoadTests)
if [ "$mode" != embedded ]; then
  if [ ! -f "$root/src/RealtimeAgents.Worker/RealtimeAgents.Worker.csproj" ]; then
    echo "mode '$mode' needs the worker process (src/RealtimeAgents.Worker), which this checkout does not have yet"; exit 3
  fi
  command -v redis-server >/dev/null || { echo "mode '$mode' needs redis-server (apt-get install redis-server)"; exit 3; }
  projects+=(src/RealtimeAgents.Worker)
fi
build "${projects[@]}"

if [ "$mode" != embedded ]; then
  redis_port=$(free_port)
  "${run[@]}" redis-server --port "$redis_port" --bind 127.0.0.1 --save "" --appendonly no >"$results/redis.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 1 50); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done
  redis-cli -p "$redis_port" ping >/dev/null || { echo "redis-server did not start"; tail "$results/redis.log"; exit 3; }
  redis_pid=${pids[-1]}
  echo "redis-server: pid $redis_pid on port $redis_port"
  export RealtimeAgents__Redis="127.0.0.1:$redis_port"
fi

case "$mode" in
  embedded) start_server server ;;
  redis) start_server server; start_worker worker ;;
  two-nodes) start_server server1; start_server server2; start_worker worker1; start_worker worker2 ;;
esac

args=("$scenario" --mode "$mode" --out "$results")
for u in "${urls[@]}"; do args+=(--url "$u"); done
# Sampled from /proc and reported as server1, server2, …: the hubs, then the workers, then redis-server.
for p in "${server_pids[@]}" ${redis_pid:-}; do args+=(--server-pid "$p"); done
set +e
# The harness allocates for every event it receives: with the default gen0 budget it spent 4-9 s
# of a 30-60 s run of 1,000 streams or viewers in GC pauses, and every pause went into the
# latencies it measured. A 256 MB gen0 budget (the harness's alone) keeps that near 1 s.
LOADTEST_COMMIT=$(git -C "$root" describe --always --dirty --abbrev=12 2>/dev/null || echo unknown) \
  DOTNET_GCgen0size=${LOADTEST_GEN0:-0x10000000} "${run[@]}" dotnet "$artifacts/bin/RealtimeAgents.LoadTests/release/loadtest.dll" "${args[@]}" "${pass[@]}"
status=$?
set -e
echo "results: $results"
exit $status
