#!/usr/bin/env bash
# Load test of invreqd, one command from a clean clone:  scripts/load.sh
#
# Builds release, starts invreqd on a temporary data directory (127.0.0.1 only), seeds
# SEED_COUNT real signed invoice requests (hidden `invreqd bench-seed`: the service's own create
# path with the dev signer), then measures one phase after another with the same wrk settings:
#   (a) GET /bench/ceiling           bare axum JSON route of the same binary (hidden --bench-ceiling)
#   (b) GET /v1/invoicerequests/{id} cycling through all seeded ids
#   (c) GET /v1/invoicerequests?limit=100
#   (d) POST /v1/invoicerequests     dev signer, SQLite
#   (e) POST /v1/invoicerequests     against the CLN REST double (only when cln-double/ exists
#                                    and invreqd has --node cln-rest)
# It prints req/s, p50/p99, each as a ratio to (a), invreqd's CPU per request, the CPU cost of one
# BIP340 signature measured in the same run, and invreqd's peak RSS (VmHWM) during (b).
# Every phase stops after DURATION seconds or MAX_REQUESTS requests, whichever comes first.
set -euo pipefail

DURATION=${DURATION:-10}          # seconds per phase
CONNECTIONS=${CONNECTIONS:-256}   # open connections, every phase
THREADS=${THREADS:-2}             # wrk threads, every phase
MAX_REQUESTS=${MAX_REQUESTS:-3000000} # per phase, over all threads
SEED_COUNT=${SEED_COUNT:-100000}
# When the API needs a key, this is the one line to change (sent as the Authorization header).
export LOAD_AUTH=${LOAD_AUTH:-}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LUA="$ROOT/scripts/load.lua"

log() { printf '== %s\n' "$*" >&2; }

# --- tools ----------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null 2>&1; then
  log "installing wrk (apt)"
  if ! apt-get install -y wrk >/dev/null 2>&1; then
    apt-get update >/dev/null 2>&1 && apt-get install -y wrk >/dev/null 2>&1
  fi
fi
command -v wrk >/dev/null 2>&1 || { echo "wrk is required (apt-get install wrk)" >&2; exit 1; }
command -v curl >/dev/null 2>&1 || { echo "curl is required" >&2; exit 1; }

# --- build -----------------------------------------------------------------------------------------
log "building release"
cargo build --release -p invreqd --bin invreqd --features load-test >&2
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
BIN="$TARGET_DIR/release/invreqd"

WITH_CLN=0
if [ -f "$ROOT/cln-double/Cargo.toml" ] && "$BIN" serve --help 2>/dev/null | grep -q 'cln-rest'; then
  WITH_CLN=1
  log "building the CLN REST double"
  cargo build --release -p cln-double >&2
fi

# --- scratch space and clean-up ---------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/invreqd-load.XXXXXX")
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
hwm_kib() { awk '/^VmHWM:/ {print $2}' "/proc/$1/status"; }

# Starts invreqd; sets ADDR and SERVER_PID.
start_invreqd() {
  local name=$1 dir=$2; shift 2
  local out="$WORK/$name.log"
  RUST_LOG=${RUST_LOG:-info} "$BIN" serve --listen 127.0.0.1:0 --data-dir "$dir" --log-format json "$@" >"$out" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  ADDR=""
  for _ in $(seq 300); do
    ADDR=$(grep -o '"addr":"127\.0\.0\.1:[0-9]*"' "$out" | head -1 | cut -d'"' -f4 || true)
    [ -n "$ADDR" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$out" >&2; echo "invreqd exited" >&2; exit 1; }
    sleep 0.1
  done
  [ -n "$ADDR" ] || { cat "$out" >&2; echo "invreqd did not start" >&2; exit 1; }
  for _ in $(seq 100); do
    curl -fsS "http://$ADDR/healthz" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  echo "invreqd does not answer /healthz" >&2
  exit 1
}

stop_pid() {
  kill "$1" 2>/dev/null || true
  wait "$1" 2>/dev/null || true
}

declare -A RPS P50 P99 CPU ERR NOTE
PER_THREAD=$(( (MAX_REQUESTS + THREADS - 1) / THREADS ))

# run_phase KEY MODE ARG PID [EXTRA_PID]: one wrk run; CPU of PID (+ EXTRA_PID) per request.
run_phase() {
  local key=$1 mode=$2 arg=$3 pid=$4 extra=${5:-}
  local c0 c1 e0=0 e1=0 out line
  c0=$(cpu_ticks "$pid"); [ -n "$extra" ] && e0=$(cpu_ticks "$extra")
  out=$(wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 5s -s "$LUA" "http://$ADDR" -- "$mode" "$arg" "$PER_THREAD")
  c1=$(cpu_ticks "$pid"); [ -n "$extra" ] && e1=$(cpu_ticks "$extra")
  line=$(printf '%s\n' "$out" | grep '^RESULT' || true)
  [ -n "$line" ] || { printf '%s\n' "$out" >&2; echo "wrk gave no result for ($key)" >&2; exit 1; }
  local requests duration p50 p99 errors non2xx
  requests=$(sed -E 's/.*requests=([0-9]+).*/\1/' <<<"$line")
  duration=$(sed -E 's/.*duration_us=([0-9]+).*/\1/' <<<"$line")
  p50=$(sed -E 's/.*p50_us=([0-9]+).*/\1/' <<<"$line")
  p99=$(sed -E 's/.*p99_us=([0-9]+).*/\1/' <<<"$line")
  errors=$(sed -E 's/.* errors=([0-9]+).*/\1/' <<<"$line")
  non2xx=$(sed -E 's/.*non2xx=([0-9]+).*/\1/' <<<"$line")
  RPS[$key]=$(awk -v r="$requests" -v d="$duration" 'BEGIN {printf "%.0f", r / (d / 1e6)}')
  P50[$key]=$(awk -v v="$p50" 'BEGIN {printf "%.2f", v / 1000}')
  P99[$key]=$(awk -v v="$p99" 'BEGIN {printf "%.2f", v / 1000}')
  CPU[$key]=$(awk -v a="$c0" -v b="$c1" -v x="$e0" -v y="$e1" -v t="$CLK_TCK" -v r="$requests" \
    'BEGIN {printf "%.1f", ((b - a) + (y - x)) / t * 1e6 / (r > 0 ? r : 1)}')
  ERR[$key]=$((errors + non2xx))
  log "($key) $requests requests in $(awk -v d="$duration" 'BEGIN {printf "%.1f", d / 1e6}') s, errors $errors, non-2xx $non2xx"
}

# --- machine -----------------------------------------------------------------------------------------
CPU_MODEL=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')
MEM_GIB=$(awk '/MemTotal/ {printf "%.1f", $2 / 1048576}' /proc/meminfo)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# --- signature cost (same binary, same run, nothing else of ours running) ------------------------------
log "timing BIP340 signatures"
SIG_LINE=$("$BIN" bench-sign --iterations 20000)
SIGN_NS=$(sed -E 's/.*sign_ns=([0-9]+).*/\1/' <<<"$SIG_LINE")
VERIFY_NS=$(sed -E 's/.*verify_ns=([0-9]+).*/\1/' <<<"$SIG_LINE")

# --- seed -------------------------------------------------------------------------------------------
DATA="$WORK/data"
log "seeding $SEED_COUNT signed invoice requests"
SEED_MSG=$("$BIN" bench-seed --data-dir "$DATA" --count "$SEED_COUNT" --ids-file "$WORK/ids.txt")
log "$SEED_MSG"
printf '{"amount":"10000sat","description":"load test","issuer":"invreqd load.sh"}' >"$WORK/body.json"

# --- API keys, once the binary has them: a key of the seeded tenant, and no rate limit ----------------
SERVE_EXTRA=()
api_key_for() { # DATA_DIR: prints "Bearer <key>" or nothing when invreqd has no API keys
  if "$BIN" keys --help >/dev/null 2>&1; then
    local key
    key=$("$BIN" keys create --data-dir "$1" --name load.sh --tenant default \
      --scope invoicerequests:read,invoicerequests:write 2>/dev/null | grep -o '"api_key":"[^"]*"' | cut -d'"' -f4)
    [ -n "$key" ] || { echo "could not create an API key" >&2; exit 1; }
    echo "Bearer $key"
  fi
}
if [ -z "$LOAD_AUTH" ]; then LOAD_AUTH=$(api_key_for "$DATA"); fi
if "$BIN" serve --help 2>/dev/null | grep -q -- '--rate-limit-per-sec'; then
  SERVE_EXTRA+=(--rate-limit-per-sec 0)
fi

# --- phases (a) to (d) on one server -------------------------------------------------------------------
start_invreqd main "$DATA" --bench-ceiling "${SERVE_EXTRA[@]}"
MAIN_PID=$SERVER_PID
log "invreqd pid $MAIN_PID on $ADDR; wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s, at most $MAX_REQUESTS requests a phase"

run_phase a path /bench/ceiling "$MAIN_PID"
sleep 1
# Peak RSS during (b) alone: reset the high-water mark first (Linux: clear_refs 5).
HWM_NOTE="during (b)"
if ! { echo 5 >"/proc/$MAIN_PID/clear_refs"; } 2>/dev/null; then
  HWM_NOTE="since start (clear_refs not permitted)"
fi
run_phase b ids "$WORK/ids.txt" "$MAIN_PID"
HWM_B=$(hwm_kib "$MAIN_PID")
sleep 1
run_phase c path '/v1/invoicerequests?limit=100' "$MAIN_PID"
sleep 1
run_phase d post "$WORK/body.json" "$MAIN_PID"
HWM_ALL=$(hwm_kib "$MAIN_PID")
stop_pid "$MAIN_PID"

# --- phase (e): the CLN REST double ---------------------------------------------------------------------
if [ "$WITH_CLN" = 1 ]; then
  mkdir -p "$WORK/cln"
  CLN_DOUBLE_PORT=0 "$TARGET_DIR/release/cln-double" "$WORK/cln" >"$WORK/cln.log" 2>&1 &
  CLN_PID=$!
  PIDS+=("$CLN_PID")
  CLN_URL=""
  for _ in $(seq 100); do
    CLN_URL=$(grep -o 'listening on https://[^ ]*' "$WORK/cln.log" | head -1 | cut -d' ' -f3 || true)
    [ -n "$CLN_URL" ] && break
    sleep 0.1
  done
  [ -n "$CLN_URL" ] || { cat "$WORK/cln.log" >&2; echo "cln-double did not start" >&2; exit 1; }
  MAIN_AUTH=$LOAD_AUTH
  mkdir -p "$WORK/data-cln"
  [ -z "$MAIN_AUTH" ] || LOAD_AUTH=$(api_key_for "$WORK/data-cln")
  start_invreqd cln "$WORK/data-cln" "${SERVE_EXTRA[@]}" --node cln-rest --cln-rest-url "$CLN_URL" \
    --cln-ca-cert "$WORK/cln/ca.pem" --cln-rune-file "$WORK/cln/rune"
  run_phase e post "$WORK/body.json" "$SERVER_PID" "$CLN_PID"
  NOTE[e]="CPU: invreqd + double"
  stop_pid "$SERVER_PID"
  stop_pid "$CLN_PID"
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ---------------------------------------------------------------------------------------------
ratio() { awk -v x="${RPS[$1]}" -v a="${RPS[a]}" 'BEGIN {printf "%.2f", x / a}'; }
declare -A LABEL=(
  [a]="(a) GET /bench/ceiling"
  [b]="(b) GET /v1/invoicerequests/{id}"
  [c]="(c) GET /v1/invoicerequests?limit=100"
  [d]="(d) POST /v1/invoicerequests (dev signer)"
  [e]="(e) POST /v1/invoicerequests (CLN REST double)"
)
echo
echo "invreqd load test, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')"
echo "machine: $(nproc) CPUs ($CPU_MODEL), ${MEM_GIB} GiB RAM; load average at start $LOAD_START, at end $LOAD_END"
echo "client: wrk -t$THREADS -c$CONNECTIONS -d${DURATION}s (at most $MAX_REQUESTS requests a phase), same Lua script every phase, on the same machine"
echo "store: SQLite (WAL, synchronous=NORMAL) with $SEED_COUNT seeded invoice requests"
echo
printf '| %-46s | %9s | %9s | %9s | %10s | %13s | %6s |\n' phase 'req/s' 'p50 ms' 'p99 ms' 'ratio (a)' 'CPU us/req' errors
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" ----------: ----------: ----------: -----------: --------------: -------:
for k in a b c d e; do
  [ -n "${RPS[$k]:-}" ] || continue
  printf '| %-46s | %9s | %9s | %9s | %10s | %13s | %6s |\n' "${LABEL[$k]}" "${RPS[$k]}" "${P50[$k]}" "${P99[$k]}" "$(ratio "$k")" "${CPU[$k]}${NOTE[$k]:+ *}" "${ERR[$k]}"
done
[ -n "${NOTE[e]:-}" ] && echo "* ${NOTE[e]}"
[ "$WITH_CLN" = 1 ] || echo "(e) skipped: no cln-double/ crate in this tree, or invreqd has no --node cln-rest yet"
echo
SIGS_PER_CREATE=$(awk -v c="${CPU[d]}" -v s="$SIGN_NS" 'BEGIN {printf "%.2f", c * 1000 / s}')
echo "one BIP340 signature: $(awk -v s="$SIGN_NS" 'BEGIN {printf "%.1f", s / 1000}') us CPU (verify: $(awk -v s="$VERIFY_NS" 'BEGIN {printf "%.1f", s / 1000}') us), best of 5 batches on one thread"
echo "(d) invreqd CPU per create: ${CPU[d]} us = $SIGS_PER_CREATE signatures"
echo "invreqd peak RSS (VmHWM) $HWM_NOTE at $CONNECTIONS connections: $(awk -v k="$HWM_B" 'BEGIN {printf "%.1f", k / 1024}') MiB (whole run: $(awk -v k="$HWM_ALL" 'BEGIN {printf "%.1f", k / 1024}') MiB)"
echo
verdict() { if awk -v x="$1" -v y="$3" "BEGIN {exit !(x $2 y)}"; then echo met; else echo "NOT met"; fi; }
echo "targets:"
echo "  (b) >= 0.6 of (a):            $(ratio b)  $(verdict "$(ratio b)" '>=' 0.6)"
echo "  (c) >= 0.3 of (a):            $(ratio c)  $(verdict "$(ratio c)" '>=' 0.3)"
echo "  (d) <= 4 signatures/create:   $SIGS_PER_CREATE  $(verdict "$SIGS_PER_CREATE" '<=' 4)"
echo "  peak RSS (b) < 40 MiB:        $(awk -v k="$HWM_B" 'BEGIN {printf "%.1f", k / 1024}')  $(verdict "$HWM_B" '<' 40960)"
