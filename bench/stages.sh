#!/usr/bin/env bash
# What each optional stage costs: one Prox process with five routes to the same nginx backend, identical but for one
# stage (plain; health checks; circuit breaker; request coalescing; response cache, 60 s TTL so it answers from memory),
# wrk against each in turn, interleaved, REPEATS times; prints each route's req/s and p99 as a ratio to the plain route
# in the same repeat (medians). Pinned like run.sh: Prox on PROXY_CPU, wrk and nginx on LOAD_CPU.
#
# usage: bench/stages.sh [--body 100b|4k] [--conns N] [--duration S] [--repeats N] [--warmup S]
#        env: DLL (default: the Release build), LOAD_CPU=0, PROXY_CPU=1
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
LIB="$HERE/benchlib.py"
die() { echo "stages: ERROR: $*" >&2; exit 1; }
log() { echo "stages: $*" >&2; }
BODY=100b; CONNS=50; DURATION=10; REPEATS=3; WARMUP=30
while [[ $# -gt 0 ]]; do
    case "$1" in
        --body) BODY=$2; shift ;; --conns) CONNS=$2; shift ;; --duration) DURATION=$2; shift ;;
        --repeats) REPEATS=$2; shift ;; --warmup) WARMUP=$2; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
LOAD_CPU=${LOAD_CPU:-0}; PROXY_CPU=${PROXY_CPU:-1}
DLL=${DLL:-$ROOT/Prox.Hosting/bin/Release/net10.0/prox.dll}
[[ -f "$DLL" ]] || die "$DLL not found (dotnet build Prox.Hosting -c Release)"
ulimit -n 65536 2>/dev/null || true
read -r BACKEND_PORT PROXY_PORT ADMIN_PORT < <(python3 "$LIB" free-ports 3)
RUN_DIR="${RESULTS_DIR:-$HERE/results}/$(date +%Y%m%d-%H%M%S)-stages"
mkdir -p "$RUN_DIR"
WORK=$(mktemp -d /tmp/prox-stages.XXXXXX)
PIDS=()
cleanup() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; sleep 0.3; rm -rf "$WORK"; }
trap cleanup EXIT

python3 "$LIB" backend "$WORK" "$BACKEND_PORT" >"$WORK/backend.conf"
taskset -c "$LOAD_CPU" nginx -p "$WORK/" -e "$WORK/backend-error.log" -c "$WORK/backend.conf" >/dev/null 2>&1 &
PIDS+=($!)
sed -e "s/PORT/$PROXY_PORT/; s/ADMIN/$ADMIN_PORT/; s/BACKEND/$BACKEND_PORT/g" "$HERE/stages.conf" >"$WORK/prox.conf"
taskset -c "$PROXY_CPU" dotnet "$DLL" run --config "$WORK/prox.conf" >"$RUN_DIR/prox.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 300); do curl -fs -o /dev/null "http://127.0.0.1:$ADMIN_PORT/readyz" && break; sleep 0.1; done
ROUTES=(plain health breaker dedup cache)
for r in "${ROUTES[@]}"; do
    curl -fs "http://127.0.0.1:$PROXY_PORT/$r/$BODY" -o /dev/null || die "no 200 through /$r (see $RUN_DIR/prox.log)"
done
log "warm-up ${WARMUP}s over the routes"
for r in "${ROUTES[@]}"; do
    taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$((WARMUP / ${#ROUTES[@]} + 1))"s "http://127.0.0.1:$PROXY_PORT/$r/$BODY" >/dev/null
done
echo "repeat,route,rps,p50_ms,p99_ms,requests,errors" >"$RUN_DIR/raw.csv"
for rep in $(seq "$REPEATS"); do
    for r in "${ROUTES[@]}"; do
        taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$PROXY_PORT/$r/$BODY" >"$RUN_DIR/wrk-$rep-$r.txt"
        line=$(python3 "$LIB" parse-wrk "$RUN_DIR/wrk-$rep-$r.txt")
        echo "$rep,$r,$line" >>"$RUN_DIR/raw.csv"
        log "r$rep $r: $line"
    done
done
python3 - "$RUN_DIR/raw.csv" "$BODY" "$CONNS" <<'PY' | tee "$RUN_DIR/summary.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
reps = sorted({r["repeat"] for r in rows})
by = {(r["repeat"], r["route"]): r for r in rows}
print(f"Optional stages, /{sys.argv[2]} at c={sys.argv[3]}, medians over {len(reps)} repeats; ratios to the plain route within each repeat.\n")
print("| route | req/s | p99 ms | req/s ÷ plain | p99 ÷ plain | errors |")
print("|---|---:|---:|---:|---:|---:|")
for route in ["plain", "health", "breaker", "dedup", "cache"]:
    rps = [float(by[(k, route)]["rps"]) for k in reps]
    p99 = [float(by[(k, route)]["p99_ms"]) for k in reps]
    rr = [float(by[(k, route)]["rps"]) / float(by[(k, "plain")]["rps"]) for k in reps]
    pr = [float(by[(k, route)]["p99_ms"]) / float(by[(k, "plain")]["p99_ms"]) for k in reps]
    err = sum(int(by[(k, route)]["errors"]) for k in reps)
    print(f"| {route} | {statistics.median(rps):,.0f} | {statistics.median(p99):.2f} | {statistics.median(rr):.2f} | {statistics.median(pr):.2f} | {err} |")
PY
log "results: $RUN_DIR"
