#!/usr/bin/env bash
# Request coalescing benchmark: wrk -> Prox -> a slow, capacity-limited Kestrel origin (bench/SlowBackend),
# all on 127.0.0.1. The same origin is reached through two Prox routes, /plain (no dedup) and /dedup
# (dedup { enabled = true }); for each, wrk reports req/s and latency, and the origin's own request
# counter says what fraction of the requests reached it.
#
# usage: bench/dedup.sh [options]                   (env form in brackets)
#   --quick            warm-up 3 s, duration 3 s                              [QUICK=1]
#   --duration S       seconds per measured wrk run                           [DURATION=10]
#   --warmup S         unmeasured wrk run per route first                     [WARMUP=10]
#   --conns N          wrk connections                                        [CONNS=50]
#   --keys LIST        distinct keys (paths) requested at random, e.g. 1,100  [KEYS="1 100"]
#   --delay MS         origin time per request                                [DELAY=20]
#   --slots N          requests the origin works on at once                   [SLOTS=4]
#   --no-build         use existing Release builds                            [NO_BUILD=1]
#   -h, --help
# CPU pinning: LOAD_CPU=0 (wrk + origin), PROXY_CPU=1 (Prox), as in run.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
LIB="$HERE/benchlib.py"
die() { echo "dedup-bench: ERROR: $*" >&2; exit 1; }
log() { echo "dedup-bench: $*" >&2; }

QUICK=${QUICK:-0}
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --duration) DURATION=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --conns) CONNS=$2; shift ;;
        --keys) KEYS=$2; shift ;;
        --delay) DELAY=$2; shift ;;
        --slots) SLOTS=$2; shift ;;
        --no-build) NO_BUILD=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
if [[ "$QUICK" == 1 ]]; then WARMUP=${WARMUP:-3}; DURATION=${DURATION:-3}; fi
WARMUP=${WARMUP:-10}
DURATION=${DURATION:-10}
CONNS=${CONNS:-50}
KEYS=${KEYS:-1 100}
DELAY=${DELAY:-20}
SLOTS=${SLOTS:-4}
NO_BUILD=${NO_BUILD:-0}
LOAD_CPU=${LOAD_CPU:-0}
PROXY_CPU=${PROXY_CPU:-1}
read -r -a KEYS <<<"${KEYS//,/ }"
for n in "$WARMUP" "$DURATION" "$CONNS" "$DELAY" "$SLOTS" "${KEYS[@]}"; do
    [[ "$n" =~ ^[0-9]+$ ]] || die "not a non-negative integer: '$n'"
done
for t in wrk curl python3 taskset dotnet; do command -v "$t" >/dev/null || die "missing $t"; done

PORTS=($(python3 "$LIB" free-ports 3)) || die "could not find free ports"
ORIGIN_PORT=${PORTS[0]}; PROX_PORT=${PORTS[1]}; ADMIN_PORT=${PORTS[2]}
STAMP=$(date +%Y%m%d-%H%M%S)
RUN_DIR=${RESULTS_DIR:-$HERE/results}/dedup-$STAMP
mkdir -p "$RUN_DIR"
WORK=$(mktemp -d /tmp/prox-dedup-bench.XXXXXX)
declare -a STARTED=()
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${STARTED[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    cp -f "$WORK"/*.log "$WORK"/*.conf "$RUN_DIR/" 2>/dev/null || true
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

PROX_DLL=$ROOT/Prox.Hosting/bin/Release/net10.0/prox.dll
ORIGIN_DLL=$HERE/SlowBackend/bin/Release/net10.0/SlowBackend.dll
if [[ "$NO_BUILD" != 1 ]]; then
    log "building Prox.Hosting and bench/SlowBackend (Release)"
    dotnet build "$ROOT/Prox.Hosting/Prox.Hosting.csproj" -c Release -nologo -v q >"$RUN_DIR/build-prox.log" 2>&1 || die "Prox build failed ($RUN_DIR/build-prox.log)"
    dotnet build "$HERE/SlowBackend/SlowBackend.csproj" -c Release -nologo -v q >"$RUN_DIR/build-origin.log" 2>&1 || die "SlowBackend build failed ($RUN_DIR/build-origin.log)"
fi

cat >"$WORK/prox.conf" <<CONF
prox {
  listen = "127.0.0.1:$PROX_PORT"
  admin.listen = "127.0.0.1:$ADMIN_PORT"
  routes {
    plain {
      match.path-prefix = "/plain"
      strip-prefix = true
      backends = [ { url = "http://127.0.0.1:$ORIGIN_PORT" } ]
    }
    dedup {
      match.path-prefix = "/dedup"
      strip-prefix = true
      backends = [ { url = "http://127.0.0.1:$ORIGIN_PORT" } ]
      dedup { enabled = true }
    }
  }
}
CONF
cat >"$WORK/keys.lua" <<'LUA'
-- wrk script: GET <prefix>/item/<1..K> at random; args: K
local keys = 1
init = function(args) keys = tonumber(args[1]) or 1 end
request = function() return wrk.format("GET", wrk.path .. "/item/" .. math.random(1, keys)) end
LUA

taskset -c "$LOAD_CPU" dotnet "$ORIGIN_DLL" "$ORIGIN_PORT" "$DELAY" "$SLOTS" >"$WORK/origin.log" 2>&1 &
STARTED+=($!)
taskset -c "$PROXY_CPU" dotnet "$PROX_DLL" run --config "$WORK/prox.conf" >"$WORK/prox.log" 2>&1 &
STARTED+=($!)
wait_ok() {
    local deadline=$(($(date +%s) + 30))
    while (($(date +%s) < deadline)); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" || true) == 200 ]] && return 0
        sleep 0.2
    done
    die "$1 did not answer 200 within 30s (logs in $RUN_DIR)"
}
wait_ok "http://127.0.0.1:$ORIGIN_PORT/__count"
wait_ok "http://127.0.0.1:$ADMIN_PORT/healthz"
wait_ok "http://127.0.0.1:$PROX_PORT/plain/item/1"
wait_ok "http://127.0.0.1:$PROX_PORT/dedup/item/1"
origin_count() { curl -s --max-time 5 "http://127.0.0.1:$ORIGIN_PORT/__count"; }

run_wrk() {   # route keys seconds outfile
    taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${3}s" --latency -s "$WORK/keys.lua" \
        "http://127.0.0.1:$PROX_PORT/$1" -- "$2" >"$4" 2>&1
}

log "origin: ${DELAY} ms per request, ${SLOTS} at once (capacity ~$((SLOTS * 1000 / (DELAY > 0 ? DELAY : 1))) req/s); wrk: ${CONNS} connections, ${DURATION}s runs"
for route in plain dedup; do
    log "warm-up $route ${WARMUP}s"
    ((WARMUP > 0)) && run_wrk "$route" 100 "$WARMUP" "$WORK/warmup-$route.txt"
done

RAW="$RUN_DIR/raw.csv"
echo "keys,route,rps,p50_ms,p99_ms,requests,errors,origin_requests,origin_fraction" >"$RAW"
for k in "${KEYS[@]}"; do
    for route in plain dedup; do
        before=$(origin_count)
        run_wrk "$route" "$k" "$DURATION" "$RUN_DIR/wrk-$route-$k.txt"
        after=$(origin_count)
        IFS=, read -r rps p50 p99 reqs errs < <(python3 "$LIB" parse-wrk "$RUN_DIR/wrk-$route-$k.txt")
        frac=$(python3 -c "print(f'{($after - $before) / max($reqs, 1):.4f}')")
        echo "$k,$route,$rps,$p50,$p99,$reqs,$errs,$((after - before)),$frac" >>"$RAW"
        log "keys=$k $route: $rps req/s, p50 $p50 ms, p99 $p99 ms, $errs errors, origin saw $((after - before)) of $reqs ($frac)"
    done
done
curl -s "http://127.0.0.1:$ADMIN_PORT/status" | python3 -c 'import json,sys; r=[x for x in json.load(sys.stdin)["routes"] if x["name"]=="dedup"][0]; print("dedup /status:", json.dumps(r.get("dedup")))' | tee "$RUN_DIR/status.txt" >&2

{
    echo "# Request coalescing: /plain vs /dedup (same origin: ${DELAY} ms per request, ${SLOTS} at once)"
    echo
    echo "wrk -c${CONNS} -d${DURATION}s, keys = distinct paths requested at random. origin fraction = requests that reached the origin / requests answered."
    echo
    echo "| keys | route | req/s | p50 ms | p99 ms | errors | origin fraction |"
    echo "|---:|---|---:|---:|---:|---:|---:|"
    tail -n +2 "$RAW" | while IFS=, read -r k route rps p50 p99 reqs errs origin frac; do
        printf '| %s | %s | %.0f | %.1f | %.1f | %s | %.4f |\n' "$k" "$route" "$rps" "$p50" "$p99" "$errs" "$frac"
    done
} | tee "$RUN_DIR/summary.md"
log "results: $RUN_DIR"
