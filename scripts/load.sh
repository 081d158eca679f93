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
#   (b64)   (b) at TAIL_CONNECTIONS (64) connections: p50 and p99 latency
#   (b1000) (b) at RSS_CONNECTIONS (1000) connections: peak RSS
#   with DB=postgres also, on a private PostgreSQL cluster (127.0.0.1, its own port, removed at
#   the end): (pg-b) GET by id and (pg-d) create with the dev signer.
# It prints req/s, p50/p99, each as a ratio to (a), invreqd's CPU per request, the CPU cost of one
# BIP340 signature and of serializing one list page's JSON, both measured in the same run, and
# invreqd's peak RSS (VmHWM) during (b) and (b1000); its LAST line is one JSON object with the
# figures, the targets and whether each is met (names: README, "Performance").
# Every phase stops after DURATION seconds or MAX_REQUESTS requests, whichever comes first.
set -euo pipefail

DURATION=${DURATION:-10}          # seconds per phase
CONNECTIONS=${CONNECTIONS:-256}   # open connections, every phase
THREADS=${THREADS:-2}             # wrk threads, every phase
MAX_REQUESTS=${MAX_REQUESTS:-3000000} # per phase, over all threads
SEED_COUNT=${SEED_COUNT:-100000}
PG_SEED_COUNT=${PG_SEED_COUNT:-$SEED_COUNT}
TAIL_CONNECTIONS=${TAIL_CONNECTIONS:-64}  # (b64): latency spread
RSS_CONNECTIONS=${RSS_CONNECTIONS:-1000}  # (b1000): peak RSS
DB=${DB:-sqlite}                  # sqlite, or postgres: also (pg-b) and (pg-d) on a private cluster
case "$DB" in sqlite|postgres) ;; *) echo "DB must be sqlite or postgres" >&2; exit 1;; esac
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
if [ "${LOAD_SKIP_BUILD:-0}" = 1 ]; then
  log "LOAD_SKIP_BUILD=1: using the release binaries already built"
else
  log "building release"
  cargo build --release -p invreqd --bin invreqd --features load-test >&2
fi
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | grep -o '"target_directory":"[^"]*"' | cut -d'"' -f4)
BIN="$TARGET_DIR/release/invreqd"

WITH_CLN=0
if [ -f "$ROOT/cln-double/Cargo.toml" ] && "$BIN" serve --help 2>/dev/null | grep -q 'cln-rest'; then
  WITH_CLN=1
  if [ "${LOAD_SKIP_BUILD:-0}" != 1 ]; then
    log "building the CLN REST double"
    cargo build --release -p cln-double >&2
  fi
fi

# --- scratch space and clean-up ---------------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/invreqd-load.XXXXXX")
PIDS=()
PG_STOP=""
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  [ -z "$PG_STOP" ] || $PG_STOP
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

declare -A OWN_CPU
# run_phase KEY MODE ARG PID [EXTRA_PID]: one wrk run (PHASE_CONNECTIONS connections, default
# CONNECTIONS); CPU of PID (+ EXTRA_PID) per request, and of PID alone in OWN_CPU.
run_phase() {
  local key=$1 mode=$2 arg=$3 pid=$4 extra=${5:-}
  local conns=${PHASE_CONNECTIONS:-$CONNECTIONS}
  local c0 c1 e0=0 e1=0 out line
  c0=$(cpu_ticks "$pid"); [ -n "$extra" ] && e0=$(cpu_ticks "$extra")
  out=$(timeout $((DURATION + 30)) wrk -t"$THREADS" -c"$conns" -d"${DURATION}s" --timeout 5s -s "$LUA" "http://$ADDR" -- "$mode" "$arg" "$PER_THREAD")
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
  OWN_CPU[$key]=$(awk -v a="$c0" -v b="$c1" -v t="$CLK_TCK" -v r="$requests" \
    'BEGIN {printf "%.1f", (b - a) / t * 1e6 / (r > 0 ? r : 1)}')
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
SEED_MSG=$(timeout 900 "$BIN" bench-seed --data-dir "$DATA" --count "$SEED_COUNT" --ids-file "$WORK/ids.txt")
log "$SEED_MSG"
log "timing the JSON serialization of one list page"
SER_LINE=$(timeout 300 "$BIN" bench-serialize --data-dir "$DATA" --limit 100 --iterations 2000)
SERIALIZE_NS=$(sed -E 's/.*serialize_ns=([0-9]+).*/\1/' <<<"$SER_LINE")
PAGE_BYTES=$(sed -E 's/.*bytes=([0-9]+).*/\1/' <<<"$SER_LINE")
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
SERVE_EXTRA+=(--max-connections $((RSS_CONNECTIONS + 64)))
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
PHASE_CONNECTIONS=$TAIL_CONNECTIONS run_phase b64 ids "$WORK/ids.txt" "$MAIN_PID"
sleep 1
{ echo 5 >"/proc/$MAIN_PID/clear_refs"; } 2>/dev/null || true
PHASE_CONNECTIONS=$RSS_CONNECTIONS run_phase b1000 ids "$WORK/ids.txt" "$MAIN_PID"
HWM_1000=$(hwm_kib "$MAIN_PID")
sleep 1
run_phase d post "$WORK/body.json" "$MAIN_PID"
HWM_ALL=$(hwm_kib "$MAIN_PID")
stop_pid "$MAIN_PID"

# --- PostgreSQL: (pg-b) and (pg-d) on a private throwaway cluster, as .ci/run starts one -------------
if [ "$DB" = postgres ]; then
  PG_BIN=""
  for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && PG_BIN="$d"; done
  if [ -z "$PG_BIN" ]; then
    log "installing PostgreSQL (apt)"
    apt-get install -y -qq --no-install-recommends postgresql >/dev/null 2>&1 \
      || { apt-get update >/dev/null 2>&1 && apt-get install -y -qq --no-install-recommends postgresql >/dev/null; }
    for d in /usr/lib/postgresql/*/bin; do [ -x "$d/initdb" ] && PG_BIN="$d"; done
  fi
  [ -n "$PG_BIN" ] || { echo "no PostgreSQL binaries (apt-get install postgresql)" >&2; exit 1; }
  PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/invreqd-load-pg.XXXXXX")
  chmod 755 "$PG_DIR"
  PG_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
  as_pg() {
    if [ "$(id -u)" = 0 ]; then
      id postgres >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin postgres
      chown -R postgres "$PG_DIR"
      su postgres -s /bin/sh -c "$*"
    else
      sh -c "$*"
    fi
  }
  pg_stop() { as_pg "'$PG_BIN/pg_ctl' -D '$PG_DIR/data' -m fast stop >/dev/null 2>&1" || true; rm -rf "$PG_DIR"; }
  PG_STOP=pg_stop
  log "starting a private PostgreSQL on 127.0.0.1:$PG_PORT"
  as_pg "'$PG_BIN/initdb' -D '$PG_DIR/data' -U postgres --auth=trust -E UTF8 >/dev/null"
  # Durable commits (fsync and synchronous_commit on, PostgreSQL's defaults): a 201 means stored.
  as_pg "'$PG_BIN/pg_ctl' -D '$PG_DIR/data' -l '$PG_DIR/log' -w -t 60 -o \"-c listen_addresses=127.0.0.1 -c port=$PG_PORT -c unix_socket_directories='$PG_DIR' -c max_connections=200\" start >/dev/null"
  export INVREQD_DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  PG_DATA="$WORK/data-pg"
  mkdir -p "$PG_DATA"
  log "seeding $PG_SEED_COUNT signed invoice requests into PostgreSQL"
  log "$(timeout 900 "$BIN" bench-seed --data-dir "$PG_DATA" --count "$PG_SEED_COUNT" --ids-file "$WORK/pg-ids.txt")"
  SQLITE_AUTH=$LOAD_AUTH
  [ -z "$SQLITE_AUTH" ] || LOAD_AUTH=$(api_key_for "$PG_DATA")
  start_invreqd pg "$PG_DATA" "${SERVE_EXTRA[@]}"
  run_phase pg-b ids "$WORK/pg-ids.txt" "$SERVER_PID"
  sleep 1
  run_phase pg-d post "$WORK/body.json" "$SERVER_PID"
  stop_pid "$SERVER_PID"
  LOAD_AUTH=$SQLITE_AUTH
  unset INVREQD_DATABASE_URL
  pg_stop
  PG_STOP=""
fi

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
  [b64]="(b64) (b) at $TAIL_CONNECTIONS connections"
  [b1000]="(b1000) (b) at $RSS_CONNECTIONS connections"
  [pg-b]="(pg-b) (b) on PostgreSQL"
  [pg-d]="(pg-d) (d) on PostgreSQL"
)
echo
echo "invreqd load test, $(date -u +%Y-%m-%dT%H:%MZ), commit ${LOAD_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo "?")}"
echo "machine: $(nproc) CPUs ($CPU_MODEL), ${MEM_GIB} GiB RAM; load average at start $LOAD_START, at end $LOAD_END"
echo "client: wrk -t$THREADS -c$CONNECTIONS (b64: $TAIL_CONNECTIONS, b1000: $RSS_CONNECTIONS) -d${DURATION}s (at most $MAX_REQUESTS requests a phase), same Lua script every phase, on the same machine"
echo "store: SQLite (WAL, synchronous=NORMAL) with $SEED_COUNT seeded invoice requests"
[ "$DB" != postgres ] || echo "       PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') (private cluster, fsync on) with $PG_SEED_COUNT"
echo
printf '| %-46s | %9s | %9s | %9s | %10s | %13s | %6s |\n' phase 'req/s' 'p50 ms' 'p99 ms' 'ratio (a)' 'CPU us/req' errors
printf '|%s|%s|%s|%s|%s|%s|%s|\n' "$(printf -- '-%.0s' {1..48})" ----------: ----------: ----------: -----------: --------------: -------:
for k in a b c d e b64 b1000 pg-b pg-d; do
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
# --- targets, and the one JSON line -------------------------------------------------------------------------
mib() { awk -v k="$1" 'BEGIN {printf "%.1f", k / 1024}'; }
div() { awk -v x="$1" -v y="$2" 'BEGIN {if (y > 0) printf "%.2f", x / y; else print "null"}'; }
GET_RATIO=$(ratio b)
LIST_OVER_SER=$(div "$(awk -v c="${CPU[c]}" 'BEGIN {print c * 1000}')" "$SERIALIZE_NS")
CREATE_SIG=$SIGS_PER_CREATE
CREATE_DOUBLE_SIG=null
[ -z "${OWN_CPU[e]:-}" ] || CREATE_DOUBLE_SIG=$(awk -v c="${OWN_CPU[e]}" -v s="$SIGN_NS" 'BEGIN {printf "%.2f", c * 1000 / s}')
PG_GET_RATIO=null; PG_CREATE=null
[ -z "${RPS[pg-b]:-}" ] || PG_GET_RATIO=$(ratio pg-b)
[ -z "${RPS[pg-d]:-}" ] || PG_CREATE=${RPS[pg-d]}
RSS_256=$(mib "$HWM_B"); RSS_1000=$(mib "$HWM_1000")
TAIL_SPREAD=$(div "${P99[b64]}" "${P50[b64]}")
echo "one list page of 100: ${PAGE_BYTES} bytes of JSON, serialized in $(awk -v s="$SERIALIZE_NS" 'BEGIN {printf "%.1f", s / 1000}') us CPU; (c) takes ${CPU[c]} us = $LIST_OVER_SER x that"
[ "$CREATE_DOUBLE_SIG" = null ] || echo "(e) invreqd's own CPU per create: ${OWN_CPU[e]} us = $CREATE_DOUBLE_SIG signatures"
echo "invreqd peak RSS (VmHWM) during (b1000) at $RSS_CONNECTIONS connections: $RSS_1000 MiB"
echo
# check NAME VALUE OP BOUND: prints a JSON fragment and a line of the table of targets.
MET_JSON=""
check() {
  local name=$1 value=$2 op=$3 bound=$4 met
  if [ "$value" = null ]; then met=null
  elif awk -v x="$value" -v y="$bound" "BEGIN {exit !(x $op y)}"; then met=true
  else met=false; fi
  MET_JSON+="${MET_JSON:+,}\"$name\":$met"
  printf '  %-26s %10s  %-3s %-8s %s\n' "$name" "$value" "$op" "$bound" \
    "$([ "$met" = true ] && echo met || { [ "$met" = null ] && echo 'not measured' || echo 'NOT met'; })"
}
echo "targets:"
check get_ratio "$GET_RATIO" '>=' 0.6
check list_cpu_over_serialize "$LIST_OVER_SER" '<=' 3
check create_sig_equiv "$CREATE_SIG" '<=' 4
check create_double_sig_equiv "$CREATE_DOUBLE_SIG" '<=' 6
check pg_get_ratio "$PG_GET_RATIO" '>=' 0.3
check pg_create_per_s "$PG_CREATE" '>=' 2000
check rss_mib_256 "$RSS_256" '<=' 40
check rss_mib_1000 "$RSS_1000" '<=' 64
check p99_over_p50_64 "$TAIL_SPREAD" '<=' 5
echo
printf '{"commit":"%s","db":"%s","load_start":"%s","load_end":"%s",' \
  "${LOAD_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo "?")}" "$DB" "$LOAD_START" "$LOAD_END"
printf '"ceiling_rps":%s,"get_rps":%s,"list_rps":%s,"create_rps":%s,"sign_us":%s,"serialize_page_us":%s,' \
  "${RPS[a]}" "${RPS[b]}" "${RPS[c]}" "${RPS[d]}" \
  "$(awk -v s="$SIGN_NS" 'BEGIN {printf "%.1f", s / 1000}')" "$(awk -v s="$SERIALIZE_NS" 'BEGIN {printf "%.1f", s / 1000}')"
printf '"get_ratio":%s,"list_cpu_over_serialize":%s,"create_sig_equiv":%s,"create_double_sig_equiv":%s,' \
  "$GET_RATIO" "$LIST_OVER_SER" "$CREATE_SIG" "$CREATE_DOUBLE_SIG"
printf '"pg_get_ratio":%s,"pg_create_per_s":%s,"rss_mib_256":%s,"rss_mib_1000":%s,' \
  "$PG_GET_RATIO" "$PG_CREATE" "$RSS_256" "$RSS_1000"
printf '"p50_ms_64":%s,"p99_ms_64":%s,"p99_over_p50_64":%s,"errors":%s,' \
  "${P50[b64]}" "${P99[b64]}" "$TAIL_SPREAD" "$(( ${ERR[a]} + ${ERR[b]} + ${ERR[c]} + ${ERR[d]} + ${ERR[e]:-0} + ${ERR[b64]} + ${ERR[b1000]} + ${ERR[pg-b]:-0} + ${ERR[pg-d]:-0} ))"
printf '"targets":{"get_ratio":">=0.6","list_cpu_over_serialize":"<=3","create_sig_equiv":"<=4","create_double_sig_equiv":"<=6","pg_get_ratio":">=0.3","pg_create_per_s":">=2000","rss_mib_256":"<=40","rss_mib_1000":"<=64","p99_over_p50_64":"<=5"},'
printf '"met":{%s}}\n' "$MET_JSON"
