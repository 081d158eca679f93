#!/usr/bin/env bash
# One bounded A/B measurement of one route, for changes too small to see in scripts/load.sh's noise:
#   scripts/profile.sh MODE [SECONDS]      MODE: ceiling | get | list | post
# Uses the release binary already built by scripts/load.sh (target/release/invreqd), seeds a store
# once (SEED, default 20 000 signed requests, kept in PROFILE_DIR, default /tmp/invreqd-profile),
# starts invreqd on 127.0.0.1 with EXTRA arguments, runs wrk -t2 -cC (default 256) for SECONDS
# (default 5, at most 3M requests), and prints wrk's RESULT line, invreqd's CPU ticks and peak RSS.
# PERF=1 also records a perf profile (call graphs: CG, default --call-graph dwarf,32768) to
# PROFILE_DIR/perf.data. The server is stopped at the end, also on failure.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TARGET_DIR=$(cd "$ROOT" && cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
BIN=${BIN:-$TARGET_DIR/release/invreqd}
LUA="$ROOT/scripts/load.lua"
W=${PROFILE_DIR:-/tmp/invreqd-profile}
MODE=${1:?MODE: ceiling, get, list or post}
SECONDS_RUN=${2:-5}
mkdir -p "$W"
if [ ! -f "$W/ids.txt" ]; then
  rm -rf "$W/data"
  timeout 900 "$BIN" bench-seed --data-dir "$W/data" --count "${SEED:-20000}" --ids-file "$W/ids.txt" >&2
  "$BIN" keys create --data-dir "$W/data" --name profile --tenant default \
    --scope invoicerequests:read,invoicerequests:write 2>/dev/null | grep -o '"api_key":"[^"]*"' | cut -d'"' -f4 >"$W/key"
  printf '{"amount":"10000sat","description":"load test","issuer":"invreqd load.sh"}' >"$W/body.json"
fi
export LOAD_AUTH="Bearer $(cat "$W/key")"
EXTRA_ARGS=()
[ "$MODE" = ceiling ] && EXTRA_ARGS+=(--bench-ceiling)
# shellcheck disable=SC2086
RUST_LOG=${RUST_LOG:-info} "$BIN" serve --listen 127.0.0.1:0 --data-dir "$W/data" --log-format json \
  --rate-limit-per-sec 0 --max-connections 2000 "${EXTRA_ARGS[@]}" ${EXTRA:-} >"$W/server.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
ADDR=""
for _ in $(seq 100); do
  ADDR=$(grep -o '"addr":"127\.0\.0\.1:[0-9]*"' "$W/server.log" | head -1 | cut -d'"' -f4 || true)
  [ -n "$ADDR" ] && break
  sleep 0.1
done
[ -n "$ADDR" ] || { cat "$W/server.log" >&2; exit 1; }
case $MODE in
  ceiling) M=path; A=/bench/ceiling ;;
  get) M=ids; A="$W/ids.txt" ;;
  list) M=path; A="/v1/invoicerequests?limit=100" ;;
  post) M=post; A="$W/body.json" ;;
  *) echo "MODE: ceiling, get, list or post" >&2; exit 1 ;;
esac
c0=$(awk '{print $14 + $15}' "/proc/$PID/stat")
PP=""
if [ -n "${PERF:-}" ]; then
  # shellcheck disable=SC2086
  perf record -F "${FREQ:-299}" ${CG:---call-graph dwarf,32768} -o "$W/perf.data" -p "$PID" -- sleep "$SECONDS_RUN" >/dev/null 2>&1 &
  PP=$!
fi
timeout $((SECONDS_RUN + 30)) wrk -t2 -c"${C:-256}" -d"${SECONDS_RUN}s" --timeout 5s -s "$LUA" "http://$ADDR" -- "$M" "$A" 1500000 | grep '^RESULT'
c1=$(awk '{print $14 + $15}' "/proc/$PID/stat")
echo "cpu_ticks=$((c1 - c0)) clk_tck=$(getconf CLK_TCK) hwm_kib=$(awk '/VmHWM/ {print $2}' "/proc/$PID/status")"
[ -z "$PP" ] || wait "$PP"
