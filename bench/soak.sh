#!/usr/bin/env bash
# Prox soak test: fixed-rate load for a long time while backends are killed and restarted, the config
# is reloaded and actors are crashed on a schedule. Reports failed requests (by cause), p50/p99, and
# Prox's RSS and thread count at start and end. Not run by CI. See bench/README.md ("Soak test") and
# bench/soak.py for the method.
#
# usage: bench/soak.sh [options]                 (env form in brackets)
#   --duration T          whole run, load included from the first second; T in s, or
#                         with a unit: 90s, 10m, 1h                               [DURATION=30m]
#   --rate R              client requests per second (paced, keep-alive GETs)     [RATE=200]
#   --backends N          nginx backends behind the one route                     [BACKENDS=3]
#   --warmup T            load only before the first event; then the start sample [WARMUP=60s]
#   --interval T          one event (kill, reload, crash in turn) every T          [INTERVAL=15s]
#   --down-for T          a killed backend is restarted T later (< 3 x interval)  [DOWN_FOR=25s]
#   --quiet T             load only at the end, every backend up; then the end sample [QUIET=30s]
#   --no-build            use the existing Release build                          [NO_BUILD=1]
#   -h, --help
# PROX_DLL=path   soak this prox.dll instead of Prox.Hosting/bin/Release/net10.0/prox.dll (no build)
# Pinning: PROXY_CPU=1 (Prox), LOAD_CPU=0 (client + nginx backends). Output: bench/results/soak-<stamp>/
# (report.md, also printed; samples.csv, events.json, failures.txt, status-end.json, logs/).
# Exit status: 0 when no request failed and Prox kept running, 1 otherwise.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

exec 3>&2
die() { echo "soak: ERROR: $*" >&3; exit 2; }
log() { echo "soak: $*" >&3; }

seconds() {   # 90 | 90s | 10m | 1h -> seconds
    case "$1" in
        *h) echo $(( ${1%h} * 3600 )) ;;
        *m) echo $(( ${1%m} * 60 )) ;;
        *s) echo "${1%s}" ;;
        *) echo "$1" ;;
    esac
}

while [[ $# -gt 0 ]]; do
    case "$1" in
        --duration) DURATION=$2; shift ;;
        --rate) RATE=$2; shift ;;
        --backends) BACKENDS=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --interval) INTERVAL=$2; shift ;;
        --down-for) DOWN_FOR=$2; shift ;;
        --quiet) QUIET=$2; shift ;;
        --no-build) NO_BUILD=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
DURATION=$(seconds "${DURATION:-30m}")
WARMUP=$(seconds "${WARMUP:-60s}")
INTERVAL=$(seconds "${INTERVAL:-15s}")
DOWN_FOR=$(seconds "${DOWN_FOR:-25s}")
QUIET=$(seconds "${QUIET:-30s}")
RATE=${RATE:-200}
BACKENDS=${BACKENDS:-3}
NO_BUILD=${NO_BUILD:-0}
PROXY_CPU=${PROXY_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}

for t in nginx python3 taskset dotnet; do
    command -v "$t" >/dev/null || [[ -x /usr/sbin/$t ]] || die "$t is required (bench/run.sh can install nginx: apt-get install nginx-light)"
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
NCPU=$(nproc --all)
((LOAD_CPU < NCPU && PROXY_CPU < NCPU)) || die "need CPUs $LOAD_CPU and $PROXY_CPU, machine has $NCPU"
ulimit -n 65536 2>/dev/null || true

STAMP=$(date +%Y%m%d-%H%M%S)
OUT="$HERE/results/soak-$STAMP"
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/prox-soak.XXXXXX)
chmod 755 "$WORK"
export HEAL_PIDFILE="$WORK/pids"   # soak.py (through heal.py's spawn) records every process it starts here
: >"$HEAL_PIDFILE"

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    # soak.py stops its own processes; this is the safety net if it was killed hard. Each was started
    # in its own process group (pgid = pid), so the group takes nginx workers along.
    if [[ -n "${PY_PID:-}" ]] && kill -0 "$PY_PID" 2>/dev/null; then
        kill -TERM "$PY_PID" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$PY_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PY_PID" 2>/dev/null || true
    fi
    while read -r pid; do
        [[ -n "$pid" ]] && kill -KILL -- "-$pid" 2>/dev/null || true
    done <"$HEAL_PIDFILE"
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

PROX_DLL_GIVEN=${PROX_DLL:+1}
PROX_DLL=${PROX_DLL:-$ROOT/Prox.Hosting/bin/Release/net10.0/prox.dll}
if [[ "$NO_BUILD" != 1 && -z "$PROX_DLL_GIVEN" ]]; then
    log "building Prox.Hosting (Release)"
    dotnet build "$ROOT/Prox.Hosting/Prox.Hosting.csproj" -c Release -nologo -v q >"$OUT/build-prox.log" 2>&1 \
        || { tail -n 30 "$OUT/build-prox.log" >&2; die "Prox build failed"; }
fi
[[ -f "$PROX_DLL" ]] || die "$PROX_DLL not found"

busy_pct() {
    local a b total=0 i
    read -r -a a < <(grep '^cpu ' /proc/stat); sleep 1; read -r -a b < <(grep '^cpu ' /proc/stat)
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    ((total > 0)) && echo $(( (total - (b[4] - a[4] + b[5] - a[5])) * 100 / total )) || echo 0
}
{
    echo "date: $(date -Is)"
    echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo n/a) $(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo '(dirty)')"
    echo "kernel: $(uname -r); cpus: $NCPU; model: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "dotnet: $(dotnet --version 2>/dev/null || echo n/a); nginx: $("$NGINX" -v 2>&1)"
    echo "settings: DURATION=${DURATION}s RATE=$RATE BACKENDS=$BACKENDS WARMUP=${WARMUP}s INTERVAL=${INTERVAL}s DOWN_FOR=${DOWN_FOR}s QUIET=${QUIET}s"
    echo "pinning: PROXY_CPU=$PROXY_CPU (prox) LOAD_CPU=$LOAD_CPU (client, nginx backends)"
    echo "prox dll: $PROX_DLL"
    echo "cpu busy before start: $(busy_pct)%"
} >"$OUT/meta.txt"
cat "$OUT/meta.txt" >&3

python3 "$HERE/soak.py" run --dll "$PROX_DLL" --nginx "$NGINX" --work "$WORK" --out "$OUT" --meta "$OUT/meta.txt" \
    --duration "$DURATION" --rate "$RATE" --backends "$BACKENDS" --warmup "$WARMUP" --interval "$INTERVAL" \
    --down-for "$DOWN_FOR" --quiet "$QUIET" --proxy-cpu "$PROXY_CPU" --load-cpu "$LOAD_CPU" \
    2> >(tee "$OUT/progress.log" >&2) &
PY_PID=$!
rc=0
wait "$PY_PID" || rc=$?
ln -sfn "soak-$STAMP" "$HERE/results/soak-latest"
log "results: $OUT (report.md, samples.csv, events.json, failures.txt, logs/)"
exit "$rc"
