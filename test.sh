#!/usr/bin/env bash
# Runs every test of the repository and ends with one line: "N passed, M failed".
# On a fresh machine it first installs what the tests need: redis-server and chromium from apt,
# and the npm packages of the TypeScript SDK and the web UI. Usage: ./test.sh
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)
results="$root/artifacts/test-results"
rm -rf "$results"
mkdir -p "$results"

log() { printf '\n== %s\n' "$*"; }

# Runs a command in a process group of its own and stops the whole group (test servers,
# browsers) if it is still running after $1 seconds, so a hung suite fails in minutes, not at
# the CI limit. Returns the command's status (143 or 137 when it was stopped).
bounded() {
  local secs=$1; shift
  setsid "$@" &
  local pid=$!
  (
    sleep "$secs" & nap=$!
    trap 'kill "$nap" 2>/dev/null; exit 0' TERM
    wait "$nap"
    echo "stopping '$*' after ${secs} s: it did not finish" >&2
    kill -TERM -- -"$pid" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do sleep 1; kill -0 -- -"$pid" 2>/dev/null || exit 0; done
    kill -KILL -- -"$pid" 2>/dev/null
  ) &
  local watchdog=$!
  # Ctrl-C reaches only this shell's group: pass it on to the command's group.
  trap 'kill -TERM -- -"$pid" 2>/dev/null; kill -TERM "$watchdog" 2>/dev/null; exit 130' INT TERM
  wait "$pid"; local status=$?
  kill -TERM "$watchdog" 2>/dev/null; wait "$watchdog" 2>/dev/null
  return "$status"
}

# --- what the tests need -------------------------------------------------------------------
missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server redis-tools)
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || missing+=(nginx)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
if ((${#missing[@]})); then
  log "installing ${missing[*]} (apt)"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null \
    || { echo "could not install ${missing[*]}: install them with apt-get and run ./test.sh again"; exit 2; }
fi
js_suites=()
for dir in clients/typescript clients/web clients/agui-tests tests/deploy; do
  if [ -f "$dir/package.json" ]; then
    js_suites+=("$dir")
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      log "npm ci in $dir"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || { echo "npm ci failed in $dir"; exit 2; }
    fi
  fi
done

passed=0; failed=0; broken=0

# --- .NET ----------------------------------------------------------------------------------
# A test's result line ("  Failed Ns.Class.Method [3 s]") and each project's summary, not the
# servers' log lines that also start with "Failed".
dotnet_result_line='^[[:space:]]*((Failed|Skipped) [A-Za-z_][A-Za-z0-9_.]*([(].*[)])? [[]|(Passed|Failed)! )'
log "dotnet build"
if ! dotnet build RealtimeAgents.sln -c Debug -nologo -v quiet; then
  echo "dotnet build failed"; broken=1
else
  log "dotnet test"
  bounded 1800 dotnet test RealtimeAgents.sln -c Debug --no-build -nologo -v quiet \
    --blame-hang-timeout 10m --blame-hang-dump-type none \
    --logger "trx" --logger "console;verbosity=normal" --results-directory "$results/dotnet" \
    2>&1 | tee "$results/dotnet.log" | grep -E "$dotnet_result_line"
  dotnet_status=${PIPESTATUS[0]}
  if [ "$dotnet_status" -eq 143 ] || [ "$dotnet_status" -eq 137 ]; then
    echo "dotnet test did not finish within 30 minutes and was stopped"; broken=1
  fi
  trx_count=$(find "$results/dotnet" -name '*.trx' 2>/dev/null | wc -l)
  test_projects=$(grep -c '\.Tests\.csproj' RealtimeAgents.sln)
  if [ "$trx_count" -lt "$test_projects" ]; then
    echo "only $trx_count of $test_projects .NET test projects reported results (a test host crashed?)"; broken=1
  fi
  # Each failed test's message and stack, so a CI log says why without the TRX files.
  awk -v pat="$dotnet_result_line" '
    $0 ~ pat && $0 ~ /^[[:space:]]*Failed [^!]/ { show = 1; n = 0; print "\n" $0; next }
    $0 ~ pat || /^[[:space:]]*Passed [A-Za-z_]/ { show = 0 }
    show && n < 40 && $0 !~ /Failed to invoke hub method/ { print; n++ }
  ' "$results/dotnet.log"
  for trx in "$results"/dotnet/*.trx; do
    [ -f "$trx" ] || continue
    counters=$(grep -o '<Counters [^>]*>' "$trx")
    p=$(sed -E 's/.* passed="([0-9]+)".*/\1/' <<<"$counters")
    f=$(sed -E 's/.* failed="([0-9]+)".*/\1/' <<<"$counters")
    e=$(sed -E 's/.* error="([0-9]+)".*/\1/' <<<"$counters")
    if grep -q ' total="0"' <<<"$counters"; then
      echo "no tests ran in $(grep -o "source(s) '[^']*'" "$trx" | head -1) ($trx)"; broken=1
    fi
    passed=$((passed + p)); failed=$((failed + f + e))
  done
  echo "# .NET: $passed passed, $failed failed in $trx_count test projects"
fi

# --- TypeScript SDK and browser UI ----------------------------------------------------------
# Each package's "npm test" runs node's test runner with --test-reporter=tap, whose output ends
# with "# pass N" and "# fail N".
for dir in "${js_suites[@]}"; do
  log "npm test in $dir"
  out="$results/$(basename "$dir").tap"
  (cd "$dir" && bounded 900 npm test --silent) >"$out" 2>&1
  status=$?
  # Each failure with the reason node's test runner gives, then the counts.
  awk '/^[[:space:]]*not ok / { show = 1; n = 0; print; next }
       /^[[:space:]]*ok / { show = 0 }
       show && n < 30 { print; n++ }' "$out"
  grep -E '^# (pass|fail|skipped)' "$out" || true
  p=$(grep -E '^# pass [0-9]+' "$out" | tail -1 | awk '{print $3}')
  f=$(grep -E '^# fail [0-9]+' "$out" | tail -1 | awk '{print $3}')
  if [ -z "$p" ]; then echo "$dir: no test summary (see $out)"; tail -20 "$out"; broken=1; continue; fi
  passed=$((passed + p)); failed=$((failed + ${f:-0}))
  if [ "$status" -ne 0 ] && [ "${f:-0}" -eq 0 ]; then echo "$dir: npm test exited $status"; broken=1; fi
done

echo
echo "$passed passed, $failed failed"
if [ "$failed" -ne 0 ] || [ "$broken" -ne 0 ] || [ "$passed" -eq 0 ]; then exit 1; fi
