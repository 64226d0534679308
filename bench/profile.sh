#!/usr/bin/env bash
# Where one proxy's time and memory go: wrk -> {Prox | bare YARP} -> nginx backend on 127.0.0.1, pinned like run.sh.
# After a warm-up it measures, each under the same load (wrk, one body, one connection count):
#   alloc   bytes allocated per proxied request: the runtime's allocation counter (dotnet-counters, System.Runtime
#           dotnet.gc.heap.total_allocated) over the run ÷ the requests wrk counted, minus the idle rate; and which
#           types they are (bench/AllocTrace: the runtime's AllocationTick events, one per ~100 KB)
#   perf    a CPU flame graph of the process (perf record -g with DOTNET_PerfMapEnabled=1; bench/flamegraph.py)
#   memory  RSS by mapping (/proc/PID/smaps: GC heap and other anonymous memory, JIT code, assemblies, native
#           libraries) and the runtime's own gauges (GC heap, committed bytes, JIT'd methods, threads)
# and, with --startup N, the median of N starts: process spawn -> first 200 (Prox: admin /readyz; YARP: a proxied
# request).
#
# usage: bench/profile.sh [options]                  (env form in brackets)
#   --target T        prox | yarp                                                   [TARGET=prox]
#   --dll PATH        the prox.dll / BareYarp.dll to run (default: the Release build) [DLL]
#   --config FILE     Prox config with PORT, ADMIN and BACKEND placeholders           [CONFIG: the run.sh config]
#   --body B          100b | 4k                                                        [BODY=100b]
#   --conns N         wrk connections                                                  [CONNS=50]
#   --duration S      seconds per measurement                                          [DURATION=10]
#   --warmup S        warm-up under load                                               [WARMUP=30]
#   --no-perf         skip the flame graph                                             [NO_PERF=1]
#   --startup N       also time N starts (0 = skip)                                    [STARTUP=0]
#   --label L         name of the results folder (bench/results/<stamp>-profile-<L>)   [LABEL=target]
#   -h, --help
# Needs nginx, wrk, taskset, perf (linux-perf) and the dotnet-counters tool (`dotnet tool restore`).
# CPU pinning: LOAD_CPU=0 (wrk + backend nginx), PROXY_CPU=1 (the proxy).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
LIB="$HERE/benchlib.py"
die() { echo "profile: ERROR: $*" >&2; exit 1; }
log() { echo "profile: $*" >&2; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --target) TARGET=$2; shift ;;
        --dll) DLL=$2; shift ;;
        --config) CONFIG=$2; shift ;;
        --body) BODY=$2; shift ;;
        --conns) CONNS=$2; shift ;;
        --duration) DURATION=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --no-perf) NO_PERF=1 ;;
        --startup) STARTUP=$2; shift ;;
        --label) LABEL=$2; shift ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
TARGET=${TARGET:-prox}; BODY=${BODY:-100b}; CONNS=${CONNS:-50}; DURATION=${DURATION:-10}; WARMUP=${WARMUP:-30}
NO_PERF=${NO_PERF:-0}; STARTUP=${STARTUP:-0}; LABEL=${LABEL:-$TARGET}; LOAD_CPU=${LOAD_CPU:-0}; PROXY_CPU=${PROXY_CPU:-1}
case "$TARGET" in
    prox) DLL=${DLL:-$ROOT/Prox.Hosting/bin/Release/net10.0/prox.dll} ;;
    yarp) DLL=${DLL:-$HERE/BareYarp/bin/Release/net10.0/BareYarp.dll} ;;
    *) die "--target must be prox or yarp" ;;
esac
[[ -f "$DLL" ]] || die "$DLL not found (build it: dotnet build -c Release)"
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x "$NGINX" ]] && command -v wrk >/dev/null && command -v taskset >/dev/null || die "needs nginx, wrk and taskset"
(cd "$ROOT" && dotnet tool run dotnet-counters --version >/dev/null 2>&1) || die "needs dotnet-counters: dotnet tool restore"
[[ "$NO_PERF" == 1 ]] || command -v perf >/dev/null || die "needs perf (apt-get install linux-perf) or --no-perf"
ulimit -n 65536 2>/dev/null || true

read -r BACKEND_PORT PROXY_PORT ADMIN_PORT < <(python3 "$LIB" free-ports 3)
RUN_DIR="${RESULTS_DIR:-$HERE/results}/$(date +%Y%m%d-%H%M%S)-profile-$LABEL"
mkdir -p "$RUN_DIR"
WORK=$(mktemp -d /tmp/prox-profile.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 0.3
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    [[ -n "${KEEP_WORK:-}" ]] || rm -rf "$WORK"
}
trap cleanup EXIT

# ------------------------------------------------------------------ backend (as run.sh's)
python3 "$LIB" backend "$WORK" "$BACKEND_PORT" >"$WORK/backend.conf"
taskset -c "$LOAD_CPU" "$NGINX" -p "$WORK/" -e "$WORK/backend-error.log" -c "$WORK/backend.conf" &
PIDS+=($!)

wait_200() {   # url seconds
    local deadline=$((SECONDS + $2))
    until curl -fs -o /dev/null "$1"; do
        ((SECONDS < deadline)) || return 1
        sleep 0.1
    done
}
wait_200 "http://127.0.0.1:$BACKEND_PORT/100b" 10 || die "backend nginx did not start"

if [[ -n "${CONFIG:-}" ]]; then
    sed -e "s/PORT/$PROXY_PORT/g; s/ADMIN/$ADMIN_PORT/g; s/BACKEND/$BACKEND_PORT/g" "$CONFIG" >"$WORK/prox.conf"
else
    cat >"$WORK/prox.conf" <<EOF
prox {
  listen = "127.0.0.1:$PROXY_PORT"
  admin.listen = "127.0.0.1:$ADMIN_PORT"
  routes { bench { match { path-prefix = "/" }, load-balancing = round-robin, backends = [ { url = "http://127.0.0.1:$BACKEND_PORT" } ] } }
}
EOF
fi
start_target() {   # [env K=V ...]; prints the pid
    if [[ "$TARGET" == prox ]]; then
        env "$@" taskset -c "$PROXY_CPU" dotnet "$DLL" run --config "$WORK/prox.conf" >>"$RUN_DIR/target.log" 2>&1 &
    else
        env "$@" taskset -c "$PROXY_CPU" dotnet "$DLL" "$PROXY_PORT" "http://127.0.0.1:$BACKEND_PORT" >>"$RUN_DIR/target.log" 2>&1 &
    fi
    echo $!
}
ready_url() { [[ "$TARGET" == prox ]] && echo "http://127.0.0.1:$ADMIN_PORT/readyz" || echo "http://127.0.0.1:$PROXY_PORT/100b"; }

# ------------------------------------------------------------------ start-up
if ((STARTUP > 0)); then
    log "start-up: $STARTUP starts of $TARGET"
    for i in $(seq "$STARTUP"); do
        t0=$(date +%s%N)
        pid=$(start_target)
        PIDS+=("$pid")
        until curl -fs -o /dev/null "$(ready_url)" 2>/dev/null; do
            kill -0 "$pid" 2>/dev/null || die "$TARGET exited during start-up (see $RUN_DIR/target.log)"
            sleep 0.01
        done
        t1=$(date +%s%N)
        echo "$(( (t1 - t0) / 1000000 ))" >>"$RUN_DIR/startup-ms.txt"
        kill "$pid"; wait "$pid" 2>/dev/null || true
    done
    log "start-up ms: $(sort -n "$RUN_DIR/startup-ms.txt" | tr '\n' ' ')"
fi

# ------------------------------------------------------------------ the measured process
URL="http://127.0.0.1:$PROXY_PORT/$BODY"
run_wrk() {   # seconds out-file
    taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"$1"s --latency "$URL" >"$2"
}
start_warm() {   # [env K=V ...]: starts the target, checks it, warms it up; sets PID
    PID=$(start_target "$@")
    PIDS+=("$PID")
    wait_200 "$(ready_url)" 30 || die "$TARGET did not get ready in 30 s (see $RUN_DIR/target.log)"
    [[ "$(curl -fs "$URL" | wc -c)" == "$([[ $BODY == 4k ]] && echo 4096 || echo 100)" ]] || die "wrong body through $TARGET"
    log "warm-up ${WARMUP}s at c=$CONNS on /$BODY"
    ((WARMUP > 0)) && run_wrk "$WARMUP" "$RUN_DIR/warmup.txt"
    return 0
}
start_warm
counters() {   # seconds out.csv [wrk-out]: collects for seconds + 3.5 s, wrk (if any) in the middle
    local total=$(($1 + 3))
    # --duration, not a signal: dotnet-counters passes a SIGINT on to its whole process group (this script)
    (cd "$ROOT" && exec dotnet tool run dotnet-counters collect -p "$PID" --counters System.Runtime \
        --refresh-interval 1 --format csv -o "$2" --duration "00:00:00:$(printf %02d "$total")" >/dev/null 2>&1) &
    local c=$!
    sleep 1.5 # the session starts
    if [[ -n "${3:-}" ]]; then run_wrk "$1" "$3"; else sleep "$1"; fi
    wait "$c" 2>/dev/null || true
}
allocated() { python3 "$LIB" counters "$1" | awk -F'\t' '$1 ~ /total_allocated.*\[sum\]/ {print $2}'; }

log "allocations: idle ${DURATION}s, then ${DURATION}s of wrk"
counters "$DURATION" "$RUN_DIR/counters-idle.csv"
counters "$DURATION" "$RUN_DIR/counters-load.csv" "$RUN_DIR/wrk-alloc.txt"
IDLE=$(allocated "$RUN_DIR/counters-idle.csv"); LOAD=$(allocated "$RUN_DIR/counters-load.csv")
REQS=$(python3 "$LIB" parse-wrk "$RUN_DIR/wrk-alloc.txt" | cut -d, -f4)
RPS=$(python3 "$LIB" parse-wrk "$RUN_DIR/wrk-alloc.txt" | cut -d, -f1)
# both windows are DURATION + 3 s of collection: the idle one is what the process allocates without requests
BPR=$(python3 -c "print(round(max(0, $LOAD - $IDLE) / $REQS))")

log "allocation census: ${DURATION}s of wrk under AllocationTick sampling"
ALLOC_TRACE="$HERE/AllocTrace/bin/Release/net10.0/AllocTrace.dll"
[[ -f "$ALLOC_TRACE" ]] || dotnet build "$HERE/AllocTrace/AllocTrace.csproj" -c Release -nologo -v q >"$RUN_DIR/build-alloctrace.log" 2>&1 \
    || die "AllocTrace build failed (see $RUN_DIR/build-alloctrace.log)"
taskset -c "$LOAD_CPU" dotnet "$ALLOC_TRACE" "$PID" "$((DURATION + 1))" 40 >"$RUN_DIR/alloc-types.md" &
CENSUS=$!
sleep 1
run_wrk "$DURATION" "$RUN_DIR/wrk-census.txt"
wait "$CENSUS" || log "allocation census failed"

log "memory after load"
python3 "$LIB" smaps "$PID" >"$RUN_DIR/smaps.txt"
counters 3 "$RUN_DIR/counters-after.csv"
python3 "$LIB" counters "$RUN_DIR/counters-after.csv" >"$RUN_DIR/runtime.txt"

if [[ "$NO_PERF" != 1 ]]; then
    # a second process for perf: its JIT'd code must be in plain anonymous memory (no W^X double mapping) for perf to
    # find it in the runtime's perf map; that would change the memory breakdown above
    kill "$PID"; wait "$PID" 2>/dev/null || true
    start_warm DOTNET_PerfMapEnabled=1 DOTNET_EnableWriteXorExecute=0
    log "perf: ${DURATION}s of wrk under perf record"
    perf record -F 999 -g -p "$PID" -o "$WORK/perf.data" -- sleep "$DURATION" >/dev/null 2>&1 &
    PERF=$!
    run_wrk "$DURATION" "$RUN_DIR/wrk-perf.txt"
    wait "$PERF" || true
    perf script -F +pid -i "$WORK/perf.data" 2>/dev/null >"$WORK/perf.txt"
    python3 "$HERE/flamegraph.py" collapse "$WORK/perf.txt" --pid "$PID" --drop-kernel --no-comm >"$RUN_DIR/folded.txt"
    python3 "$HERE/flamegraph.py" svg "$RUN_DIR/folded.txt" \
        --title "$LABEL: $BODY at c=$CONNS, $(python3 "$LIB" parse-wrk "$RUN_DIR/wrk-perf.txt" | cut -d, -f1) req/s" >"$RUN_DIR/flame.svg"
    python3 "$HERE/flamegraph.py" top "$RUN_DIR/folded.txt" --n 40 >"$RUN_DIR/top.md"
fi

{
    echo "# profile: $LABEL ($TARGET, $DLL)"
    echo
    echo "- load: /$BODY at c=$CONNS, ${DURATION}s; $RPS req/s, $REQS requests during the allocation run"
    echo "- allocated per request: **$BPR bytes** (load $LOAD B − idle $IDLE B over equal windows) ÷ $REQS"
    [[ -f "$RUN_DIR/startup-ms.txt" ]] && echo "- start-up to ready, ms (sorted): $(sort -n "$RUN_DIR/startup-ms.txt" | tr '\n' ' '); median $(sort -n "$RUN_DIR/startup-ms.txt" | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}')"
    echo
    echo "## RSS by mapping (KiB)"
    echo
    echo '```'
    cat "$RUN_DIR/smaps.txt"
    echo '```'
    echo
    echo "## runtime gauges after load"
    echo
    echo '```'
    grep -E "gc.heap.size|gc.last_collection|committed|jit|thread.count|working_set|assembly.count" "$RUN_DIR/runtime.txt" || cat "$RUN_DIR/runtime.txt"
    echo '```'
    echo
    echo "## allocated types (AllocationTick samples, $DURATION s of load)"
    echo
    cat "$RUN_DIR/alloc-types.md"
    [[ -f "$RUN_DIR/top.md" ]] && { echo; echo "## CPU (perf, $DURATION s)"; echo; cat "$RUN_DIR/top.md"; }
} >"$RUN_DIR/profile.md"
cat "$RUN_DIR/profile.md"
log "results: $RUN_DIR"
