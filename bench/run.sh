#!/usr/bin/env bash
# Prox proxy benchmark: wrk -> {nothing | nginx | HAProxy | bare YARP | Prox} -> nginx backend, all on 127.0.0.1.
# See bench/README.md for what it measures and how to read the output.
#
# usage: bench/run.sh [options]            (every option also has an env form, shown in brackets)
#   --quick               smoke test: warm-up 5 s, duration 3 s, 1 repeat          [QUICK=1]
#   --targets LIST        comma/space list of direct,nginx,haproxy,yarp,prox,base  [TARGETS]
#   --bodies LIST         100b,4k                                                  [BODIES]
#   --conns LIST          wrk connection counts, e.g. 10,50                        [CONNS]
#   --repeats N           repeats (outer loop; targets interleave inside)          [REPEATS=3]
#   --duration S          seconds per measured wrk run                             [DURATION=10]
#   --warmup S            warm-up under load per .NET process                      [WARMUP=40]
#   --native-warmup S     warm-up per nginx/HAProxy/direct target                  [NATIVE_WARMUP=5]
#   --prewarm S           unmeasured wrk run right before each measured run        [PREWARM=2]
#   --port-base P         use ports P..P+7 (fail if busy) instead of searching     [PORT_BASE]
#   --no-install          never apt-get install; fail if a tool is missing         [NO_INSTALL=1]
#   --no-build            use existing Release builds of BareYarp/Prox             [NO_BUILD=1]
#   -h, --help
# Extra env for the .NET processes (GC experiments), e.g. PROX_ENV="DOTNET_gcServer=0":
#   PROX_ENV="K=V ..."    env for Prox
#   YARP_ENV="K=V ..."    env for bare YARP (defaults to PROX_ENV so both run with the same GC settings;
#                         set YARP_ENV="" explicitly to give YARP none)
# PROX_DLL=path         bench this prox.dll instead of Prox.Hosting/bin/Release/net10.0/prox.dll
# PROX_BASE_DLL=path    with target `base`: a second Prox build (e.g. the commit before a change) measured
#                       in the same run, interleaved with the others; the summary adds Prox/base ratios
# CPU pinning: LOAD_CPU=0 (wrk + backend nginx), PROXY_CPU=1 (proxy under test).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
LIB="$HERE/benchlib.py"

exec 3>&2   # the console, even while a trap fires inside a redirected command
die() { echo "bench: ERROR: $*" >&3; exit 1; }
log() { echo "bench: $*" >&3; }

# ------------------------------------------------------------------ options
QUICK=${QUICK:-0}
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --targets) TARGETS=$2; shift ;;
        --bodies) BODIES=$2; shift ;;
        --conns) CONNS=$2; shift ;;
        --repeats) REPEATS=$2; shift ;;
        --duration) DURATION=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --native-warmup) NATIVE_WARMUP=$2; shift ;;
        --prewarm) PREWARM=$2; shift ;;
        --port-base) PORT_BASE=$2; shift ;;
        --no-install) NO_INSTALL=1 ;;
        --no-build) NO_BUILD=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done

if [[ "$QUICK" == 1 ]]; then
    WARMUP=${WARMUP:-5}; DURATION=${DURATION:-3}; REPEATS=${REPEATS:-1}
    NATIVE_WARMUP=${NATIVE_WARMUP:-2}; PREWARM=${PREWARM:-1}
fi
WARMUP=${WARMUP:-40}
DURATION=${DURATION:-10}
REPEATS=${REPEATS:-3}
NATIVE_WARMUP=${NATIVE_WARMUP:-5}
PREWARM=${PREWARM:-2}
TARGETS=${TARGETS:-direct nginx haproxy yarp prox}
BODIES=${BODIES:-100b 4k}
CONNS=${CONNS:-10 50}
LOAD_CPU=${LOAD_CPU:-0}
PROXY_CPU=${PROXY_CPU:-1}
NO_INSTALL=${NO_INSTALL:-0}
NO_BUILD=${NO_BUILD:-0}
PROX_ENV=${PROX_ENV:-}
YARP_ENV=${YARP_ENV-$PROX_ENV}
RESULTS_ROOT=${RESULTS_DIR:-$HERE/results}
PORT_BASE=${PORT_BASE:-}

read -r -a TARGETS <<<"${TARGETS//,/ }"
read -r -a BODIES <<<"${BODIES//,/ }"
read -r -a CONNS <<<"${CONNS//,/ }"
for t in "${TARGETS[@]}"; do
    case "$t" in direct|nginx|haproxy|yarp|prox|base) ;; *) die "unknown target '$t'" ;; esac
done
for b in "${BODIES[@]}"; do
    case "$b" in 100b|4k) ;; *) die "unknown body '$b' (100b or 4k)" ;; esac
done
for n in "$WARMUP" "$DURATION" "$REPEATS" "$NATIVE_WARMUP" "$PREWARM" "${CONNS[@]}"; do
    [[ "$n" =~ ^[0-9]+$ ]] || die "not a non-negative integer: '$n'"
done
((DURATION > 0 && REPEATS > 0)) || die "DURATION and REPEATS must be > 0"
for kv in $PROX_ENV $YARP_ENV; do
    [[ "$kv" == *=* ]] || die "PROX_ENV/YARP_ENV must be space-separated NAME=VALUE pairs, got '$kv'"
done
has_target() { local x; for x in "${TARGETS[@]}"; do [[ "$x" == "$1" ]] && return 0; done; return 1; }

# ------------------------------------------------------------------ tools
ensure_tools() {
    local missing=() pkgs=() sudo=""
    command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx)
    command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || missing+=(haproxy)
    command -v wrk >/dev/null || missing+=(wrk)
    command -v curl >/dev/null || missing+=(curl)
    command -v python3 >/dev/null || missing+=(python3)
    command -v taskset >/dev/null || missing+=(util-linux)
    [[ ${#missing[@]} -eq 0 ]] && return 0
    [[ "$NO_INSTALL" == 1 ]] && die "missing tools: ${missing[*]} (NO_INSTALL=1 set)"
    command -v apt-get >/dev/null || die "missing tools: ${missing[*]} and no apt-get to install them"
    if [[ $(id -u) != 0 ]]; then
        command -v sudo >/dev/null || die "missing tools: ${missing[*]}; run as root or install them"
        sudo="sudo"
    fi
    log "installing: ${missing[*]}"
    $sudo apt-get update -qq
    local m
    for m in "${missing[@]}"; do
        if [[ "$m" == nginx ]]; then
            # nginx-light is enough (core + proxy/upstream); fall back to the full package.
            if apt-cache show nginx-light >/dev/null 2>&1; then pkgs+=(nginx-light); else pkgs+=(nginx); fi
        else
            pkgs+=("$m")
        fi
    done
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pkgs[@]}" >/dev/null
}
ensure_tools
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)
CLK_TCK=$(getconf CLK_TCK)
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NCPU=$(nproc --all)
((LOAD_CPU < NCPU && PROXY_CPU < NCPU)) || die "need CPUs $LOAD_CPU and $PROXY_CPU, machine has $NCPU"

# ------------------------------------------------------------------ ports
# backend, nginx, haproxy, yarp, prox, prox-admin, base, base-admin
if [[ -n "$PORT_BASE" ]]; then
    PORTS=($(seq "$PORT_BASE" $((PORT_BASE + 7))))
else
    PORTS=($(python3 "$LIB" free-ports 8)) || die "could not find free ports"
fi
python3 "$LIB" check-ports "${PORTS[@]}" || die "port(s) busy; pick another PORT_BASE or free them"
BACKEND_PORT=${PORTS[0]}
declare -A PORT=([direct]=${PORTS[0]} [nginx]=${PORTS[1]} [haproxy]=${PORTS[2]} [yarp]=${PORTS[3]} [prox]=${PORTS[4]} [base]=${PORTS[6]})
PROX_ADMIN_PORT=${PORTS[5]}
BASE_ADMIN_PORT=${PORTS[7]}

# ------------------------------------------------------------------ run dir, cleanup
STAMP=$(date +%Y%m%d-%H%M%S)
[[ "$QUICK" == 1 ]] && STAMP+="-quick"
RUN_DIR="$RESULTS_ROOT/$STAMP"
mkdir -p "$RUN_DIR/wrk" "$RUN_DIR/logs"
WORK=$(mktemp -d /tmp/prox-bench.XXXXXX)
chmod 755 "$WORK"   # nginx workers (www-data when started as root) must read the bodies

declare -a STARTED=()        # pids we started, killed on exit
declare -A MAIN_PID=()       # target -> pid; "backend" too
declare -A PIDS=()           # target -> pid + direct children (for CPU / RSS accounting)

stop_pid() {
    local pid=$1 i
    kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${STARTED[@]}"; do stop_pid "$pid"; done
    wait 2>/dev/null || true
    cp -f "$WORK"/*.log "$WORK"/*.conf "$WORK"/*.cfg "$RUN_DIR/logs/" 2>/dev/null || true
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

# start NAME CPU CMD... : start in background pinned to CPU, stdout/stderr to $WORK/NAME.log
start() {
    local name=$1 cpu=$2; shift 2
    taskset -c "$cpu" "$@" >"$WORK/$name.log" 2>&1 &
    local pid=$!
    STARTED+=("$pid")
    MAIN_PID[$name]=$pid
}

# wait_http NAME URL TIMEOUT: wait until URL answers 200 while the process is alive
wait_http() {
    local name=$1 url=$2 timeout=$3 deadline code
    deadline=$(($(date +%s) + timeout))
    while (($(date +%s) < deadline)); do
        kill -0 "${MAIN_PID[$name]}" 2>/dev/null || { log "$name exited during startup (log: $RUN_DIR/logs/$name.log)"; tail -n 20 "$WORK/$name.log" >&2 || true; return 1; }
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true)
        [[ "$code" == 200 ]] && return 0
        sleep 0.2
    done
    log "$name: $url did not answer 200 within ${timeout}s (last: ${code:-none})"
    return 1
}

# check_bodies TARGET: every body comes back with the right size
check_bodies() {
    local t=$1 b want got
    for b in "${BODIES[@]}"; do
        case "$b" in 100b) want=100 ;; 4k) want=4096 ;; esac
        got=$(curl -s --max-time 5 "http://127.0.0.1:${PORT[$t]}/$b" | wc -c)
        [[ "$got" == "$want" ]] || { log "$t: /$b returned $got bytes, expected $want"; return 1; }
    done
}

collect_pids() {   # main pid + direct children (nginx master + worker)
    local p=${MAIN_PID[$1]} kids
    kids=$(pgrep -P "$p" | tr '\n' ' ' || true)
    PIDS[$1]="$p $kids"
}

cpu_ticks() {   # utime+stime (clock ticks) summed over the given pids
    local total=0 pid stat rest
    local -a f
    for pid in "$@"; do
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || continue
        rest=${stat##*) }          # fields after "(comm) ": state=1 ... utime=12 stime=13
        read -r -a f <<<"$rest"
        total=$((total + f[11] + f[12]))
    done
    echo "$total"
}
core_ticks() {   # "busy total" clock ticks of one CPU from /proc/stat
    local -a f
    read -r -a f < <(grep "^cpu$1 " /proc/stat)
    local total=0 i
    for i in 1 2 3 4 5 6 7 8; do total=$((total + f[i])); done
    echo "$((total - f[4] - f[5])) $total"
}
rss_kb() {
    local total=0 pid v
    for pid in "$@"; do
        v=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || true)
        total=$((total + ${v:-0}))
    done
    echo "$total"
}

# ------------------------------------------------------------------ configs
mkdir -p "$WORK/www"
head -c 100 /dev/zero | tr '\0' 'a' >"$WORK/www/100b"
head -c 4096 /dev/zero | tr '\0' 'b' >"$WORK/www/4k"
chmod 644 "$WORK/www/"*

nginx_common() {   # $1 = name
    cat <<EOF
worker_processes 1;
daemon off;
pid $WORK/$1.pid;
error_log $WORK/$1-error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $WORK/$1-tmp/body;
    proxy_temp_path $WORK/$1-tmp/proxy;
    fastcgi_temp_path $WORK/$1-tmp/fastcgi;
    uwsgi_temp_path $WORK/$1-tmp/uwsgi;
    scgi_temp_path $WORK/$1-tmp/scgi;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    tcp_nodelay on;
EOF
}

{
    nginx_common backend
    cat <<EOF
    sendfile on;
    etag off;
    open_file_cache max=16 inactive=1h;
    open_file_cache_valid 1h;
    server {
        listen 127.0.0.1:$BACKEND_PORT backlog=4096;
        root $WORK/www;
        default_type application/octet-stream;
        location = /100b { }
        location = /4k { }
    }
}
EOF
} >"$WORK/backend.conf"

{
    nginx_common nginx
    cat <<EOF
    upstream backend {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive 64;
        keepalive_requests 1000000;
        keepalive_timeout 300s;
    }
    server {
        listen 127.0.0.1:${PORT[nginx]} backlog=4096;
        location / {
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }
    }
}
EOF
} >"$WORK/nginx.conf"

cat >"$WORK/haproxy.cfg" <<EOF
global
    nbthread 1
    maxconn 4096
defaults
    mode http
    option http-keep-alive
    http-reuse always
    timeout connect 5s
    timeout client 300s
    timeout server 300s
    timeout http-keep-alive 300s
frontend fe
    bind 127.0.0.1:${PORT[haproxy]}
    default_backend be
backend be
    server backend 127.0.0.1:$BACKEND_PORT
EOF

cat >"$WORK/prox.conf" <<EOF
prox {
  listen = "127.0.0.1:${PORT[prox]}"
  admin.listen = "127.0.0.1:$PROX_ADMIN_PORT"
  routes { bench { match { path-prefix = "/" }, load-balancing = round-robin, backends = [ { url = "http://127.0.0.1:$BACKEND_PORT" } ] } }
}
EOF

sed -e "s/${PORT[prox]}/${PORT[base]}/; s/$PROX_ADMIN_PORT/$BASE_ADMIN_PORT/" "$WORK/prox.conf" >"$WORK/base.conf"

# ------------------------------------------------------------------ builds
YARP_DLL="$HERE/BareYarp/bin/Release/net10.0/BareYarp.dll"
PROX_DLL_GIVEN=${PROX_DLL:+1}
PROX_DLL=${PROX_DLL:-$ROOT/Prox.Hosting/bin/Release/net10.0/prox.dll}   # override to bench another build
declare -a ACTIVE=()
SKIPPED=""
skip() { log "SKIPPING $1: $2"; SKIPPED+="- $1: $2"$'\n'; }

if has_target yarp && [[ "$NO_BUILD" != 1 ]]; then
    log "building bench/BareYarp (Release)"
    dotnet build "$HERE/BareYarp/BareYarp.csproj" -c Release -nologo -v q >"$RUN_DIR/logs/build-yarp.log" 2>&1 \
        || { tail -n 30 "$RUN_DIR/logs/build-yarp.log" >&2; die "BareYarp build failed"; }
fi
PROX_OK=0
if has_target prox; then
    if [[ "$NO_BUILD" != 1 && -z "$PROX_DLL_GIVEN" ]]; then
        log "building Prox.Hosting (Release)"
        if dotnet build "$ROOT/Prox.Hosting/Prox.Hosting.csproj" -c Release -nologo -v q >"$RUN_DIR/logs/build-prox.log" 2>&1; then
            PROX_OK=1
        else
            skip prox "build failed (see $RUN_DIR/logs/build-prox.log)"
        fi
    else
        PROX_OK=1
    fi
    [[ "$PROX_OK" == 1 && ! -f "$PROX_DLL" ]] && { PROX_OK=0; skip prox "$PROX_DLL not found"; }
fi
if has_target base; then
    [[ -n "${PROX_BASE_DLL:-}" && -f "$PROX_BASE_DLL" ]] || die "target base needs PROX_BASE_DLL=path/to/prox.dll (a Release build)"
fi

# ------------------------------------------------------------------ start everything
log "ports: backend=$BACKEND_PORT nginx=${PORT[nginx]} haproxy=${PORT[haproxy]} yarp=${PORT[yarp]} prox=${PORT[prox]} prox-admin=$PROX_ADMIN_PORT"
log "pinning: wrk + backend nginx on CPU $LOAD_CPU, proxy under test on CPU $PROXY_CPU"

mkdir -p "$WORK"/{backend,nginx}-tmp
start backend "$LOAD_CPU" "$NGINX" -p "$WORK/" -e "$WORK/backend-error.log" -c "$WORK/backend.conf"
wait_http backend "http://127.0.0.1:$BACKEND_PORT/100b" 10 || die "backend nginx did not start (see above; port busy?)"
collect_pids backend
check_bodies direct || die "backend serves wrong bodies"
PIDS[direct]=${PIDS[backend]}
has_target direct && ACTIVE+=(direct)

if has_target nginx; then
    start nginx "$PROXY_CPU" "$NGINX" -p "$WORK/" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
    wait_http nginx "http://127.0.0.1:${PORT[nginx]}/100b" 10 || die "nginx proxy did not start (see above; port busy?)"
    collect_pids nginx; check_bodies nginx || die "nginx proxy returns wrong bodies"
    ACTIVE+=(nginx)
fi
if has_target haproxy; then
    "$HAPROXY" -c -q -f "$WORK/haproxy.cfg" || die "haproxy config check failed"
    start haproxy "$PROXY_CPU" "$HAPROXY" -db -f "$WORK/haproxy.cfg"
    wait_http haproxy "http://127.0.0.1:${PORT[haproxy]}/100b" 10 || die "haproxy did not start (see above; port busy?)"
    collect_pids haproxy; check_bodies haproxy || die "haproxy returns wrong bodies"
    ACTIVE+=(haproxy)
fi
if has_target yarp; then
    [[ -f "$YARP_DLL" ]] || die "$YARP_DLL not found (drop --no-build)"
    # shellcheck disable=SC2086
    start yarp "$PROXY_CPU" env $YARP_ENV dotnet "$YARP_DLL" "${PORT[yarp]}" "http://127.0.0.1:$BACKEND_PORT"
    wait_http yarp "http://127.0.0.1:${PORT[yarp]}/100b" 30 || die "bare YARP did not start (see above; port busy?)"
    collect_pids yarp; check_bodies yarp || die "bare YARP returns wrong bodies"
    ACTIVE+=(yarp)
fi
start_prox() {   # target dll admin-port
    local t=$1 dll=$2 admin=$3
    # shellcheck disable=SC2086
    start "$t" "$PROXY_CPU" env $PROX_ENV dotnet "$dll" run --config "$WORK/$t.conf"
    if ! wait_http "$t" "http://127.0.0.1:$admin/healthz" 30; then
        skip "$t" "no 200 from http://127.0.0.1:$admin/healthz within 30s (log: $RUN_DIR/logs/$t.log)"
        stop_pid "${MAIN_PID[$t]}"
    elif ! { for _ in 1 2 3 4 5 6 7 8 9 10; do check_bodies "$t" 3>/dev/null && break; sleep 0.5; done; check_bodies "$t"; }; then
        skip "$t" "healthz ok but proxying http://127.0.0.1:${PORT[$t]}/ -> backend returns wrong bodies"
        stop_pid "${MAIN_PID[$t]}"
    else
        collect_pids "$t"
        ACTIVE+=("$t")
    fi
}
if has_target prox && [[ "$PROX_OK" == 1 ]]; then start_prox prox "$PROX_DLL" "$PROX_ADMIN_PORT"; fi
if has_target base; then start_prox base "$PROX_BASE_DLL" "$BASE_ADMIN_PORT"; fi
((${#ACTIVE[@]} > 0)) || die "no targets to measure"

is_dotnet() { [[ "$1" == yarp || "$1" == prox || "$1" == base ]]; }

# ------------------------------------------------------------------ meta + estimate
n_dotnet=0; n_native=0
for t in "${ACTIVE[@]}"; do if is_dotnet "$t"; then ((++n_dotnet)); else ((++n_native)); fi; done
n_runs=$(( ${#ACTIVE[@]} * ${#BODIES[@]} * ${#CONNS[@]} * REPEATS ))
est=$(( n_runs * (DURATION + PREWARM) + n_dotnet * WARMUP + n_native * NATIVE_WARMUP ))
log "targets: ${ACTIVE[*]}; $n_runs measured runs of ${DURATION}s; estimated $((est / 60))m$((est % 60))s from here"

gc_props() { [[ -f "$1" ]] && python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["runtimeOptions"].get("configProperties",{}); print(" ".join(f"{k}={v}" for k,v in sorted(p.items()) if ".GC." in k) or "(none)")' "$1" || echo "(n/a)"; }
{
    echo "date: $(date -Is)"
    echo "git: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo n/a) $(git -C "$ROOT" status --porcelain 2>/dev/null | grep -q . && echo '(dirty)')"
    echo "kernel: $(uname -r); cpus: $NCPU; model: $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)"
    echo "dotnet: $(dotnet --version 2>/dev/null || echo n/a)"
    echo "nginx: $("$NGINX" -v 2>&1)"
    echo "haproxy: $("$HAPROXY" -v | head -n1)"
    echo "wrk: $(wrk -v 2>&1 | head -n1)"
    echo "settings: QUICK=$QUICK WARMUP=$WARMUP NATIVE_WARMUP=$NATIVE_WARMUP PREWARM=$PREWARM DURATION=$DURATION REPEATS=$REPEATS CONNS=${CONNS[*]} BODIES=${BODIES[*]}"
    echo "pinning: LOAD_CPU=$LOAD_CPU (wrk, backend nginx) PROXY_CPU=$PROXY_CPU (proxy)"
    echo "targets: ${ACTIVE[*]}"
    echo "PROX_ENV: ${PROX_ENV:-(none)}"
    echo "YARP_ENV: ${YARP_ENV:-(none)}"
    echo "prox dll: $PROX_DLL"
    has_target base && echo "base dll: $PROX_BASE_DLL"
    echo "runtimeconfig GC (prox): $(gc_props "${PROX_DLL%.dll}.runtimeconfig.json")"
    echo "runtimeconfig GC (yarp): $(gc_props "${YARP_DLL%.dll}.runtimeconfig.json")"
    [[ -n "$SKIPPED" ]] && printf 'skipped:\n%s' "$SKIPPED"
} >"$RUN_DIR/meta.txt"
if has_target yarp && has_target prox && [[ "$PROX_OK" == 1 ]]; then
    a=$(gc_props "${PROX_DLL%.dll}.runtimeconfig.json"); b=$(gc_props "${YARP_DLL%.dll}.runtimeconfig.json")
    [[ "$a" == "$b" ]] || log "WARNING: runtimeconfig GC settings differ: prox[$a] yarp[$b]"
fi

# ------------------------------------------------------------------ quiet machine?
# Everything we started is idle now; if the CPUs are busy anyway, something else is running.
busy_pct() {
    local a b
    read -r -a a < <(grep '^cpu ' /proc/stat); sleep 1; read -r -a b < <(grep '^cpu ' /proc/stat)
    local total=0 idle i
    for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
    idle=$((b[4] - a[4] + b[5] - a[5]))
    ((total > 0)) && echo $(( (total - idle) * 100 / total )) || echo 0
}
bp=$(busy_pct)
echo "cpu busy before start: ${bp}%" >>"$RUN_DIR/meta.txt"
((bp < 10)) || log "WARNING: CPUs are ${bp}% busy before the benchmark starts; other work on this machine will skew results"

# ------------------------------------------------------------------ warm-up
wrk_load() {   # url conns seconds [extra wrk args...]
    local url=$1 c=$2 s=$3; shift 3
    taskset -c "$LOAD_CPU" wrk -t1 -c"$c" -d"${s}s" "$@" "$url"
}
maxc=0; for c in "${CONNS[@]}"; do ((c > maxc)) && maxc=$c; done
nb=${#BODIES[@]}
for t in "${ACTIVE[@]}"; do
    if is_dotnet "$t"; then w=$WARMUP; else w=$NATIVE_WARMUP; fi
    ((w > 0)) || continue
    per=$(( (w + nb - 1) / nb ))
    log "warm-up $t: ${per}s x ${nb} bodies at c=$maxc"
    for b in "${BODIES[@]}"; do
        wrk_load "http://127.0.0.1:${PORT[$t]}/$b" "$maxc" "$per" >>"$RUN_DIR/logs/warmup-$t.txt" 2>&1 \
            || die "wrk warm-up against $t failed"
    done
done

# ------------------------------------------------------------------ measure
RAW="$RUN_DIR/raw.csv"
echo "repeat,target,body,conns,rps,p50_ms,p99_ms,requests,errors,cpu_us_per_req,cpu_pct,rss_kb,backend_cpu_us_per_req,wall_s,proxy_core_busy_pct,load_core_busy_pct" >"$RAW"
declare -A DEAD=()
now() { date +%s.%N; }

measure() {
    local rep=$1 t=$2 b=$3 c=$4
    local url="http://127.0.0.1:${PORT[$t]}/$b" out="$RUN_DIR/wrk/$t-$b-c$c-r$rep.txt"
    local p0 p1 k0 k1 t0 t1 parsed rss pb0 pt0 lb0 lt0 pb1 pt1 lb1 lt1
    if ! kill -0 "${MAIN_PID[$t]:-${MAIN_PID[backend]}}" 2>/dev/null; then
        [[ -z "${DEAD[$t]:-}" ]] && log "$t is no longer running; skipping its remaining runs"
        DEAD[$t]=1; return 0
    fi
    ((PREWARM > 0)) && { wrk_load "$url" "$c" "$PREWARM" >/dev/null 2>&1 || true; }
    # shellcheck disable=SC2086
    p0=$(cpu_ticks ${PIDS[$t]}); k0=$(cpu_ticks ${PIDS[backend]}); t0=$(now)
    read -r pb0 pt0 < <(core_ticks "$PROXY_CPU"); read -r lb0 lt0 < <(core_ticks "$LOAD_CPU")
    wrk_load "$url" "$c" "$DURATION" --latency >"$out" 2>&1 || { log "wrk failed for $t $b c=$c (see $out)"; return 0; }
    # shellcheck disable=SC2086
    t1=$(now); p1=$(cpu_ticks ${PIDS[$t]}); k1=$(cpu_ticks ${PIDS[backend]}); rss=$(rss_kb ${PIDS[$t]})
    read -r pb1 pt1 < <(core_ticks "$PROXY_CPU"); read -r lb1 lt1 < <(core_ticks "$LOAD_CPU")
    parsed=$(python3 "$LIB" parse-wrk "$out") || { log "could not parse $out"; return 0; }
    IFS=, read -r rps p50 p99 reqs errs <<<"$parsed"
    local row
    row=$(python3 - "$rep" "$t" "$b" "$c" "$rps" "$p50" "$p99" "$reqs" "$errs" "$((p1 - p0))" "$((k1 - k0))" "$rss" "$t0" "$t1" "$CLK_TCK" \
        "$((pb1 - pb0))" "$((pt1 - pt0))" "$((lb1 - lb0))" "$((lt1 - lt0))" <<'PY'
import sys
rep, t, b, c, rps, p50, p99, reqs, errs, dp, dk, rss, t0, t1, hz, pb, pt, lb, lt = sys.argv[1:]
reqs = int(reqs); hz = float(hz); wall = float(t1) - float(t0)
cpu_us = int(dp) / hz * 1e6 / reqs if reqs else 0
bk_us = int(dk) / hz * 1e6 / reqs if reqs else 0
pct = int(dp) / hz / wall * 100 if wall > 0 else 0
pcore = int(pb) * 100 / int(pt) if int(pt) else 0
lcore = int(lb) * 100 / int(lt) if int(lt) else 0
print(f"{rep},{t},{b},{c},{rps},{p50},{p99},{reqs},{errs},{cpu_us:.2f},{pct:.1f},{rss},{bk_us:.2f},{wall:.2f},{pcore:.1f},{lcore:.1f}")
PY
)
    echo "$row" >>"$RAW"
    local cpu pct pcore lcore note=""
    IFS=, read -r _ _ _ _ _ _ _ _ _ cpu pct _ _ _ pcore lcore <<<"$row"
    [[ "$errs" != 0 ]] && note+="  ERRORS=$errs"
    # CPU time on the proxy's core that the proxy process did not use: softirq for its sockets, or
    # somebody else's work. Much more than the usual few % means a noisy run.
    [[ "$t" != direct ]] && (( ${pcore%.*} - ${pct%.*} > 20 )) && note+="  NOISY: proxy core ${pcore}% busy, proxy ${pct}%"
    printf 'bench: r%s %-8s %-4s c=%-3s %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms  %6.1f us/req  cpu %5.1f%%  rss %6d KiB  cores %3.0f/%3.0f%%%s\n' \
        "$rep" "$t" "$b" "$c" "$rps" "$p50" "$p99" "$cpu" "$pct" "$rss" "$pcore" "$lcore" "$note" >&3
}

for ((rep = 1; rep <= REPEATS; rep++)); do
    for b in "${BODIES[@]}"; do
        for c in "${CONNS[@]}"; do
            for t in "${ACTIVE[@]}"; do
                measure "$rep" "$t" "$b" "$c"
            done
        done
    done
done

# ------------------------------------------------------------------ summary
{
    echo "# Prox bench $STAMP"
    echo
    echo '```'
    cat "$RUN_DIR/meta.txt"
    echo '```'
    echo
} >"$RUN_DIR/summary.md"
echo
python3 "$LIB" summarize "$RAW" "$RUN_DIR/table.md"
cat "$RUN_DIR/table.md" >>"$RUN_DIR/summary.md"
[[ -n "$SKIPPED" ]] && { echo; echo "Skipped:"; printf '%s' "$SKIPPED"; } | tee -a "$RUN_DIR/summary.md"
ln -sfn "$STAMP" "$RESULTS_ROOT/latest"
echo
log "results: $RUN_DIR (raw.csv, summary.md, wrk/, logs/)"
