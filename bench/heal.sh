#!/usr/bin/env bash
# Prox self-healing timings: how long from a backend dying to the first avoided request, and from its
# return to its first served request. Real Release Prox process, real nginx backends, paced client.
# See bench/README.md ("Self-healing timings") and bench/heal.py for the method.
#
# usage: bench/heal.sh [options]                 (env form in brackets)
#   --scenarios LIST      A (default config), B (+ health {}), C (+ breaker {})   [SCENARIOS=A,B,C]
#   --repeats N           repeats per scenario, each with a fresh Prox process     [REPEATS=5]
#   --rate R              client requests per second (paced, keep-alive)          [RATE=200]
#   --backends N          nginx backends behind the route (b0 is the one killed)  [BACKENDS=2]
#   --steady S            seconds of load before the kill                         [STEADY=2]
#   --restart-after S     restart b0 S seconds after it was taken out of rotation;
#                         a negative value restarts it right after the kill      [RESTART_AFTER=1]
#   --quick               1 repeat per scenario (smoke test)                      [QUICK=1]
#   --no-build            use the existing Release build                          [NO_BUILD=1]
#   -h, --help
# PROX_DLL=path   measure this prox.dll instead of Prox.Hosting/bin/Release/net10.0/prox.dll (no build)
# Pinning: PROXY_CPU=1 (Prox), LOAD_CPU=0 (client + nginx backends). Output: bench/results/heal-<stamp>/.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

exec 3>&2
die() { echo "heal: ERROR: $*" >&3; exit 1; }
log() { echo "heal: $*" >&3; }

QUICK=${QUICK:-0}
while [[ $# -gt 0 ]]; do
    case "$1" in
        --scenarios) SCENARIOS=$2; shift ;;
        --repeats) REPEATS=$2; shift ;;
        --rate) RATE=$2; shift ;;
        --backends) BACKENDS=$2; shift ;;
        --steady) STEADY=$2; shift ;;
        --restart-after) RESTART_AFTER=$2; shift ;;
        --quick) QUICK=1 ;;
        --no-build) NO_BUILD=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
[[ "$QUICK" == 1 ]] && REPEATS=${REPEATS:-1}
SCENARIOS=${SCENARIOS:-A,B,C}
REPEATS=${REPEATS:-5}
RATE=${RATE:-200}
BACKENDS=${BACKENDS:-2}
STEADY=${STEADY:-2}
RESTART_AFTER=${RESTART_AFTER:-1}
NO_BUILD=${NO_BUILD:-0}
PROXY_CPU=${PROXY_CPU:-1}
LOAD_CPU=${LOAD_CPU:-0}

for t in nginx curl python3 taskset dotnet; do
    command -v "$t" >/dev/null || [[ -x /usr/sbin/$t ]] || die "$t is required (bench/run.sh can install nginx: apt-get install nginx-light)"
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
NCPU=$(nproc --all)
((LOAD_CPU < NCPU && PROXY_CPU < NCPU)) || die "need CPUs $LOAD_CPU and $PROXY_CPU, machine has $NCPU"
ulimit -n 65536 2>/dev/null || true

STAMP=$(date +%Y%m%d-%H%M%S)
[[ "$QUICK" == 1 ]] && STAMP+="-quick"
OUT="$HERE/results/heal-$STAMP"
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/prox-heal.XXXXXX)
chmod 755 "$WORK"
export HEAL_PIDFILE="$WORK/pids"   # heal.py records every process it starts here
: >"$HEAL_PIDFILE"

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    # heal.py stops its own processes; this is the safety net if it was killed hard. Each was started
    # in its own process group (pgid = pid), so the group takes nginx workers along.
    if [[ -n "${PY_PID:-}" ]] && kill -0 "$PY_PID" 2>/dev/null; then
        kill -TERM "$PY_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$PY_PID" 2>/dev/null || break; sleep 0.1; done
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

{
    echo "date: $(date -Is)"
    echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo n/a) $(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo '(dirty)')"
    echo "kernel: $(uname -r); cpus: $NCPU; model: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "dotnet: $(dotnet --version 2>/dev/null || echo n/a); nginx: $("$NGINX" -v 2>&1)"
    echo "settings: SCENARIOS=$SCENARIOS REPEATS=$REPEATS RATE=$RATE BACKENDS=$BACKENDS STEADY=$STEADY RESTART_AFTER=$RESTART_AFTER"
    echo "pinning: PROXY_CPU=$PROXY_CPU (prox) LOAD_CPU=$LOAD_CPU (client, nginx backends)"
    echo "prox dll: $PROX_DLL"
} | tee "$OUT/meta.txt" >&3
# The timings are mostly timer-driven (eject-for, open-for, probe intervals), but the ms-scale ones
# (death -> avoided) and the client's pacing suffer when other work shares the cores.
busy_pct() {
    local a b total=0 i
    read -r -a a < <(grep '^cpu ' /proc/stat); sleep 1; read -r -a b < <(grep '^cpu ' /proc/stat)
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    ((total > 0)) && echo $(( (total - (b[4] - a[4] + b[5] - a[5])) * 100 / total )) || echo 0
}
bp=$(busy_pct)
echo "cpu busy before start: ${bp}%" | tee -a "$OUT/meta.txt" >&3
((bp < 10)) || log "WARNING: CPUs are ${bp}% busy before the run starts; other work on this machine may skew the ms-scale timings"

python3 "$HERE/heal.py" run --dll "$PROX_DLL" --nginx "$NGINX" --work "$WORK" --out "$OUT" \
    --scenarios "$SCENARIOS" --repeats "$REPEATS" --rate "$RATE" --backends "$BACKENDS" \
    --steady "$STEADY" --restart-after "$RESTART_AFTER" --proxy-cpu "$PROXY_CPU" --load-cpu "$LOAD_CPU" \
    > >(tee "$OUT/summary.md") 2> >(tee "$OUT/progress.log" >&2) &
PY_PID=$!
wait "$PY_PID"
ln -sfn "heal-$STAMP" "$HERE/results/heal-latest"
log "results: $OUT (results.csv, summary.md, progress.log, events-*.json, logs/)"
