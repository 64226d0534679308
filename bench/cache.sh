#!/usr/bin/env bash
# Response-cache benchmark: wrk -> {Prox cached route | Prox uncached route | nginx proxy_cache | nginx uncached}
# -> one nginx backend that logs every request it serves, all on 127.0.0.1, pinned like run.sh.
# Reports req/s, p99 and the fraction of client requests that reached the backend. See bench/README.md.
# Also measured, pinned as the proxies: the "Kestrel floor", a bare Kestrel app (bench/SlowBackend with no delay)
# answering the same 4 KiB from memory: the most any answer from a Kestrel process's memory can do here.
#
# usage: bench/cache.sh [options]             (env form in brackets)
#   --quick           warm-up 5 s, duration 3 s, 1 repeat                          [QUICK=1]
#   --keys N          distinct URLs requested at random (/4k?k=1..N)                 [KEYS=100]
#   --ttl S           freshness in seconds, the same for Prox (ttl) and nginx (proxy_cache_valid) [TTL=2]
#   --conns N         wrk connections                                               [CONNS=50]
#   --duration S      seconds per measured run                                      [DURATION=10]
#   --repeats N       repeats (targets interleave inside)                           [REPEATS=3]
#   --warmup S        warm-up under load for Prox                                   [WARMUP=30]
#   --no-build        use the existing Release build of Prox                        [NO_BUILD=1]
#   -h, --help
# CPU pinning: LOAD_CPU=0 (wrk + backend nginx), PROXY_CPU=1 (the proxy under test).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
LIB="$HERE/benchlib.py"
die() { echo "cache-bench: ERROR: $*" >&2; exit 1; }
log() { echo "cache-bench: $*" >&2; }

QUICK=${QUICK:-0}
while [[ $# -gt 0 ]]; do
    case "$1" in
        --quick) QUICK=1 ;;
        --keys) KEYS=$2; shift ;;
        --ttl) TTL=$2; shift ;;
        --conns) CONNS=$2; shift ;;
        --duration) DURATION=$2; shift ;;
        --repeats) REPEATS=$2; shift ;;
        --warmup) WARMUP=$2; shift ;;
        --no-build) NO_BUILD=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
if [[ "$QUICK" == 1 ]]; then WARMUP=${WARMUP:-5}; DURATION=${DURATION:-3}; REPEATS=${REPEATS:-1}; fi
KEYS=${KEYS:-100}; TTL=${TTL:-2}; CONNS=${CONNS:-50}; DURATION=${DURATION:-10}; REPEATS=${REPEATS:-3}; WARMUP=${WARMUP:-30}
NO_BUILD=${NO_BUILD:-0}; LOAD_CPU=${LOAD_CPU:-0}; PROXY_CPU=${PROXY_CPU:-1}
for n in "$KEYS" "$TTL" "$CONNS" "$DURATION" "$REPEATS" "$WARMUP"; do [[ "$n" =~ ^[0-9]+$ ]] || die "not a non-negative integer: '$n'"; done
((KEYS > 0 && TTL > 0 && DURATION > 0 && REPEATS > 0)) || die "KEYS, TTL, DURATION and REPEATS must be > 0"

NGINX=$(command -v nginx || echo /usr/sbin/nginx)
[[ -x "$NGINX" ]] && command -v wrk >/dev/null && command -v taskset >/dev/null \
    || die "needs nginx, wrk and taskset (bench/run.sh installs them)"
ulimit -n 65536 2>/dev/null || true

# backend, nginx, prox, prox-admin, kestrel floor
PORTS=($(python3 "$LIB" free-ports 5)) || die "could not find free ports"
BACKEND_PORT=${PORTS[0]}; NGINX_PORT=${PORTS[1]}; PROX_PORT=${PORTS[2]}; ADMIN_PORT=${PORTS[3]}; FLOOR_PORT=${PORTS[4]}

STAMP=$(date +%Y%m%d-%H%M%S)-cache
[[ "$QUICK" == 1 ]] && STAMP+="-quick"
RUN_DIR="${RESULTS_DIR:-$HERE/results}/$STAMP"
mkdir -p "$RUN_DIR/wrk" "$RUN_DIR/logs"
WORK=$(mktemp -d /tmp/prox-cache-bench.XXXXXX)
chmod 755 "$WORK"
declare -a STARTED=()
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${STARTED[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    cp -f "$WORK"/*.conf "$WORK"/*.log "$RUN_DIR/logs/" 2>/dev/null || true
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
start() {   # NAME CPU CMD...
    local name=$1 cpu=$2; shift 2
    taskset -c "$cpu" "$@" >"$WORK/$name.log" 2>&1 &
    STARTED+=("$!")
}
wait_http() {   # URL TIMEOUT
    local deadline=$(($(date +%s) + $2))
    while (($(date +%s) < deadline)); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$1" || true) == 200 ]] && return 0
        sleep 0.2
    done
    return 1
}

mkdir -p "$WORK/www" "$WORK"/{backend,nginx}-tmp "$WORK/nginx-cache"
head -c 4096 /dev/zero | tr '\0' 'b' >"$WORK/www/4k"
chmod 644 "$WORK/www/4k"

nginx_common() {
    cat <<EOF
worker_processes 1;
daemon off;
pid $WORK/$1.pid;
error_log $WORK/$1-error.log warn;
worker_rlimit_nofile 65536;
events { worker_connections 16384; }
http {
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

# The backend logs one line per request it serves (buffered): that count is what reached it.
{
    nginx_common backend
    cat <<EOF
    log_format one '.';
    access_log $WORK/backend-access.log one buffer=64k flush=100ms;
    sendfile on;
    etag off;
    open_file_cache max=16 inactive=1h;
    open_file_cache_valid 1h;
    server {
        listen 127.0.0.1:$BACKEND_PORT backlog=4096;
        root $WORK/www;
        default_type application/octet-stream;
        location = /4k { }
    }
}
EOF
} >"$WORK/backend.conf"

# nginx: /c/ through proxy_cache (no lock, like Prox without coalescing), /u/ straight through.
{
    nginx_common nginx
    cat <<EOF
    access_log off;
    proxy_cache_path $WORK/nginx-cache levels=1:2 keys_zone=bench:10m max_size=256m inactive=10m use_temp_path=off;
    upstream backend {
        server 127.0.0.1:$BACKEND_PORT;
        keepalive 64;
        keepalive_requests 1000000;
        keepalive_timeout 300s;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT backlog=4096;
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        location /c/ {
            proxy_pass http://backend/;
            proxy_cache bench;
            proxy_cache_valid 200 ${TTL}s;
            add_header X-Cache \$upstream_cache_status;
        }
        location /u/ {
            proxy_pass http://backend/;
        }
    }
}
EOF
} >"$WORK/nginx.conf"

cat >"$WORK/prox.conf" <<EOF
prox {
  listen = "127.0.0.1:$PROX_PORT"
  admin.listen = "127.0.0.1:$ADMIN_PORT"
  routes {
    cached { match.path-prefix = "/c", strip-prefix = true, backends = [ { url = "http://127.0.0.1:$BACKEND_PORT" } ], cache { ttl = ${TTL}s } }
    uncached { match.path-prefix = "/u", strip-prefix = true, backends = [ { url = "http://127.0.0.1:$BACKEND_PORT" } ] }
  }
}
EOF

PROX_DLL=${PROX_DLL:-$ROOT/Prox.Hosting/bin/Release/net10.0/prox.dll}
FLOOR_DLL=$HERE/SlowBackend/bin/Release/net10.0/SlowBackend.dll
if [[ "$NO_BUILD" != 1 ]]; then
    log "building Prox.Hosting and bench/SlowBackend (Release)"
    dotnet build "$ROOT/Prox.Hosting/Prox.Hosting.csproj" -c Release -nologo -v q >"$RUN_DIR/logs/build-prox.log" 2>&1 \
        || die "Prox build failed (see $RUN_DIR/logs/build-prox.log)"
    dotnet build "$HERE/SlowBackend/SlowBackend.csproj" -c Release -nologo -v q >"$RUN_DIR/logs/build-floor.log" 2>&1 \
        || die "SlowBackend build failed (see $RUN_DIR/logs/build-floor.log)"
fi

start backend "$LOAD_CPU" "$NGINX" -p "$WORK/" -e "$WORK/backend-error.log" -c "$WORK/backend.conf"
wait_http "http://127.0.0.1:$BACKEND_PORT/4k" 10 || die "backend nginx did not start"
start nginx "$PROXY_CPU" "$NGINX" -p "$WORK/" -e "$WORK/nginx-error.log" -c "$WORK/nginx.conf"
wait_http "http://127.0.0.1:$NGINX_PORT/u/4k" 10 || die "nginx proxy did not start"
start prox "$PROXY_CPU" dotnet "$PROX_DLL" run --config "$WORK/prox.conf"
wait_http "http://127.0.0.1:$ADMIN_PORT/healthz" 30 || die "prox did not start (log: $RUN_DIR/logs/prox.log)"
wait_http "http://127.0.0.1:$PROX_PORT/u/4k" 10 || die "prox does not proxy"
start kestrel-floor "$PROXY_CPU" dotnet "$FLOOR_DLL" "$FLOOR_PORT" 0 1 4096
wait_http "http://127.0.0.1:$FLOOR_PORT/4k" 30 || die "the Kestrel floor (bench/SlowBackend) did not start"
for url in "http://127.0.0.1:$PROX_PORT/c/4k?k=0" "http://127.0.0.1:$NGINX_PORT/c/4k?k=0"; do
    [[ $(curl -s "$url" | wc -c) == 4096 ]] || die "$url: wrong body"
    curl -s -o /dev/null "$url"
    curl -s -D - -o /dev/null "$url" | grep -qi '^x-cache: hit' || die "$url: second request was not a cache hit"
done

# target -> proxy URL and path prefix
declare -A HOST=([prox-cached]="http://127.0.0.1:$PROX_PORT" [prox-uncached]="http://127.0.0.1:$PROX_PORT"
                 [nginx-cached]="http://127.0.0.1:$NGINX_PORT" [nginx-uncached]="http://127.0.0.1:$NGINX_PORT"
                 [kestrel-floor]="http://127.0.0.1:$FLOOR_PORT")
declare -A PREFIX=([prox-cached]=/c [prox-uncached]=/u [nginx-cached]=/c [nginx-uncached]=/u [kestrel-floor]=)
TARGETS=(prox-cached prox-uncached nginx-cached nginx-uncached kestrel-floor)

wrk_run() {   # target seconds [extra wrk args]: every request picks one of KEYS URLs at random
    local t=$1 s=$2; shift 2
    printf 'local keys = %d\nmath.randomseed(os.time())\nrequest = function()\n  return wrk.format("GET", "%s/4k?k=" .. math.random(1, keys))\nend\n' \
        "$KEYS" "${PREFIX[$t]}" >"$WORK/keys-$t.lua"
    taskset -c "$LOAD_CPU" wrk -t1 -c"$CONNS" -d"${s}s" -s "$WORK/keys-$t.lua" "$@" "${HOST[$t]}/"
}
backend_count() { sleep 0.3; wc -l <"$WORK/backend-access.log"; }

log "ports: backend=$BACKEND_PORT nginx=$NGINX_PORT prox=$PROX_PORT; keys=$KEYS ttl=${TTL}s c=$CONNS ${DURATION}s x $REPEATS"
log "warm-up: prox ${WARMUP}s (both routes), the Kestrel floor half that, nginx 5s"
for t in prox-cached prox-uncached kestrel-floor; do wrk_run "$t" $(( (WARMUP + 1) / 2 )) >/dev/null 2>&1 || die "warm-up of $t failed"; done
for t in nginx-cached nginx-uncached; do wrk_run "$t" 3 >/dev/null 2>&1 || die "warm-up of $t failed"; done

RAW="$RUN_DIR/raw.csv"
echo "repeat,target,rps,p50_ms,p99_ms,requests,errors,backend_requests,backend_fraction" >"$RAW"
for ((rep = 1; rep <= REPEATS; rep++)); do
    for t in "${TARGETS[@]}"; do
        out="$RUN_DIR/wrk/$t-r$rep.txt"
        b0=$(backend_count)
        wrk_run "$t" "$DURATION" --latency >"$out" 2>&1 || { log "wrk failed for $t (see $out)"; continue; }
        b1=$(backend_count)
        parsed=$(python3 "$LIB" parse-wrk "$out") || { log "could not parse $out"; continue; }
        IFS=, read -r rps p50 p99 reqs errs <<<"$parsed"
        frac=$(python3 -c "import sys; r=int(sys.argv[1]); print(f'{int(sys.argv[2])/r:.5f}' if r else 'nan')" "$reqs" "$((b1 - b0))")
        echo "$rep,$t,$rps,$p50,$p99,$reqs,$errs,$((b1 - b0)),$frac" >>"$RAW"
        printf 'cache-bench: r%s %-15s %9.0f req/s  p50 %7.3f ms  p99 %7.3f ms  backend %8d of %9d (%.4f)%s\n' \
            "$rep" "$t" "$rps" "$p50" "$p99" "$((b1 - b0))" "$reqs" "$frac" "$([[ $errs != 0 ]] && echo "  ERRORS=$errs")" >&2
    done
done

python3 - "$RAW" <<'PY' | tee "$RUN_DIR/summary.md"
import csv, statistics, sys
rows = list(csv.DictReader(open(sys.argv[1])))
med = lambda t, k: statistics.median(float(r[k]) for r in rows if r["target"] == t)
targets = ["prox-cached", "prox-uncached", "nginx-cached", "nginx-uncached", "kestrel-floor"]
print("| target | req/s (median) | p99 ms | backend fraction |")
print("|---|---|---|---|")
for t in targets:
    print(f"| {t} | {med(t, 'rps'):.0f} | {med(t, 'p99_ms'):.2f} | {med(t, 'backend_fraction'):.4f} |")
print()
print(f"Prox cached / Prox uncached req/s: {med('prox-cached', 'rps') / med('prox-uncached', 'rps'):.2f}x")
def per_repeat(a, b):   # a/b within each repeat (the two ran back to back)
    by = {(r["repeat"], r["target"]): float(r["rps"]) for r in rows}
    reps = sorted({r["repeat"] for r in rows}, key=int)
    return [by[(k, a)] / by[(k, b)] for k in reps if (k, a) in by and (k, b) in by]
pr = per_repeat("prox-cached", "nginx-cached")
print(f"Prox cached / nginx proxy_cache req/s: {med('prox-cached', 'rps') / med('nginx-cached', 'rps'):.2f}x "
      f"(per repeat {', '.join(f'{x:.2f}' for x in pr)}; median {statistics.median(pr):.2f})")
print(f"Kestrel floor / nginx proxy_cache req/s: {med('kestrel-floor', 'rps') / med('nginx-cached', 'rps'):.2f}x")
print(f"Prox cached / Kestrel floor req/s: {med('prox-cached', 'rps') / med('kestrel-floor', 'rps'):.2f}x")
print(f"backend load with the Prox cache: {med('prox-cached', 'backend_fraction') * 100:.2f}% of requests "
      f"(reduction {(1 - med('prox-cached', 'backend_fraction')) * 100:.2f}%)")
PY
log "results: $RUN_DIR"
