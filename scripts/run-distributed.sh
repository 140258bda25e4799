#!/usr/bin/env bash
# The distributed topology from local processes, like docker-compose.yml but without Docker:
# redis-server (AOF on), two hub nodes, two workers, and nginx in front on 127.0.0.1:8080.
#
#   scripts/run-distributed.sh            start, print the URLs, run until Ctrl-C, then stop all
#   scripts/run-distributed.sh --smoke    start, run one task through nginx over REST + SSE, stop
#
# Everything binds to 127.0.0.1; logs and data go to artifacts/distributed/. Every process is
# stopped by its PID on exit. Needs redis-server and nginx (apt-get install redis-server nginx).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
smoke=0
configuration=${CONFIGURATION:-Release}
for arg in "$@"; do
  case "$arg" in
    --smoke) smoke=1 ;;
    --debug) configuration=Debug ;;
    *) echo "usage: $0 [--smoke] [--debug]"; exit 2 ;;
  esac
done
for tool in redis-server nginx dotnet curl; do
  command -v "$tool" >/dev/null || { echo "$tool is missing: apt-get install -y redis-server nginx curl"; exit 2; }
done

state="$root/artifacts/distributed"
rm -rf "$state"
mkdir -p "$state/redis" "$state/nginx"
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  done
}
trap stop EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
redis_port=$(free_port)
lb_port=${LB_PORT:-8080}
if [ "$smoke" = 1 ]; then lb_port=$(free_port); fi

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  echo "building ($configuration)…"
  dotnet build src/RealtimeAgents.Server -c "$configuration" -nologo -v quiet >/dev/null
  dotnet build src/RealtimeAgents.Worker -c "$configuration" -nologo -v quiet >/dev/null
fi
server_dll="$root/src/RealtimeAgents.Server/bin/$configuration/net10.0/RealtimeAgents.Server.dll"
worker_dll="$root/src/RealtimeAgents.Worker/bin/$configuration/net10.0/RealtimeAgents.Worker.dll"

redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$state/redis" --appendonly yes --appendfsync everysec \
  --save "" --logfile "$state/redis/redis.log" &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$redis_port" ping >/dev/null 2>&1 && break; sleep 0.1; done

export RealtimeAgents__Redis="127.0.0.1:$redis_port"
# Each hub binds a port Kestrel picks (nothing can take it between a probe and the bind) and
# logs it; nginx's configuration is written once both are known.
for name in a b; do
  dotnet "$server_dll" --urls "http://127.0.0.1:0" >"$state/hub-$name.log" 2>&1 &
  pids+=($!)
done
hub_port() {
  for _ in $(seq 300); do
    port=$(sed -n 's|.*Now listening on: http://127\.0\.0\.1:\([0-9][0-9]*\).*|\1|p' "$1" | head -1)
    [ -n "$port" ] && { echo "$port"; return 0; }
    sleep 0.1
  done
  return 1
}
hub_a=$(hub_port "$state/hub-a.log") || { echo "hub a did not start; see $state/hub-a.log"; exit 1; }
hub_b=$(hub_port "$state/hub-b.log") || { echo "hub b did not start; see $state/hub-b.log"; exit 1; }
for n in 1 2; do
  RealtimeAgents__Worker__ConsumerName="worker-$n" dotnet "$worker_dll" >"$state/worker-$n.log" 2>&1 &
  pids+=($!)
done

sed -e "s/HUB_A/127.0.0.1:$hub_a/" -e "s/HUB_B/127.0.0.1:$hub_b/" -e "s/LISTEN/127.0.0.1:$lb_port/" \
  deploy/nginx.conf >"$state/nginx/nginx.conf"
nginx -p "$state/nginx" -c "$state/nginx/nginx.conf" -g 'daemon off;' &
pids+=($!)

for url in "http://127.0.0.1:$hub_a/healthz" "http://127.0.0.1:$hub_b/healthz" "http://127.0.0.1:$lb_port/healthz"; do
  for i in $(seq 300); do
    curl -fsS "$url" >/dev/null 2>&1 && break
    [ "$i" = 300 ] && { echo "$url did not come up; see $state/*.log"; exit 1; }
    sleep 0.1
  done
done
for n in 1 2; do
  for i in $(seq 300); do
    grep -q "takes up to" "$state/worker-$n.log" && break
    [ "$i" = 300 ] && { echo "worker-$n did not start; see $state/worker-$n.log"; exit 1; }
    sleep 0.1
  done
done

echo "redis 127.0.0.1:$redis_port · hub a 127.0.0.1:$hub_a · hub b 127.0.0.1:$hub_b · workers 1, 2"
echo "open http://127.0.0.1:$lb_port  (hub: ws://127.0.0.1:$lb_port/hubs/agents)   logs: $state"

if [ "$smoke" = 1 ]; then
  created=$(curl -fsS -X POST "http://127.0.0.1:$lb_port/tasks" -H 'Content-Type: application/json' \
    -d '{"agent":"demo","input":"Plan a trip to Nice","options":{"tokens":20,"tokenIntervalMs":5,"firstTokenDelayMs":0,"toolDelayMs":5}}')
  task=$(sed -E 's/.*"taskId":"([^"]+)".*/\1/' <<<"$created")
  events=$(curl -fsS -N --max-time 60 "http://127.0.0.1:$lb_port/tasks/$task/events")
  deltas=$(grep -c '^event: text.delta' <<<"$events" || true)
  grep -q '^event: task.completed' <<<"$events" || { echo "smoke: no task.completed for $task"; echo "$events" | tail -5; exit 1; }
  [ "$deltas" = 20 ] || { echo "smoke: expected 20 text.delta, got $deltas"; exit 1; }
  echo "smoke ok: task $task streamed 20 tokens through nginx and completed"
  exit 0
fi
echo "Ctrl-C stops everything."
wait
