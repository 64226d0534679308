#!/usr/bin/env bash
# Prox cluster benchmark: how long a backend's availability change takes from its owner to the other nodes
# (propagation delay), and what clustering costs a request (outcome messages per request, req/s against a
# standalone Prox). Three Release prox nodes on one machine (one shared config, ports from env vars), a
# throwaway PostgreSQL (.ci/pg), two nginx backends whose /healthz is a file this script deletes and recreates.
# See bench/README.md ("Cluster: propagation and overhead").
#
# usage: bench/cluster.sh [options]                 (env form in brackets)
#   --flips N        backend availability changes (down, up, down, ...; even keeps it up at the end) [FLIPS=30]
#   --duration S     seconds of each measured wrk run                                              [DURATION=10]
#   --conns C        wrk connections                                                               [CONNS=10]
#   --repeats N      wrk rounds (node 1, then standalone, in turns); medians are reported          [REPEATS=3]
#   --no-build       use the existing Release build                                                [NO_BUILD=1]
#   -h, --help
# Output: a table on stdout, saved to bench/results/cluster-<stamp>.txt (logs in bench/results/cluster-<stamp>/).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

exec 3>&2
die() { echo "cluster: ERROR: $*" >&3; exit 1; }
log() { echo "cluster: $*" >&3; }

while [[ $# -gt 0 ]]; do
    case "$1" in
        --flips) FLIPS=$2; shift ;;
        --duration) DURATION=$2; shift ;;
        --conns) CONNS=$2; shift ;;
        --repeats) REPEATS=$2; shift ;;
        --no-build) NO_BUILD=1 ;;
        -h|--help) sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
    shift
done
FLIPS=${FLIPS:-30}
DURATION=${DURATION:-10}
CONNS=${CONNS:-10}
REPEATS=${REPEATS:-3}
NO_BUILD=${NO_BUILD:-0}

for t in nginx curl python3 wrk dotnet; do
    command -v "$t" >/dev/null || [[ -x /usr/sbin/$t ]] || die "$t is required (bench/run.sh can install nginx and wrk)"
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
ulimit -n 65536 2>/dev/null || true

STAMP=$(date +%Y%m%d-%H%M%S)
OUT="$HERE/results/cluster-$STAMP"
mkdir -p "$OUT"
WORK=$(mktemp -d /tmp/prox-cluster.XXXXXX)
chmod 755 "$WORK"   # nginx workers (www-data when started as root) and postgres (as root: user postgres) read it

declare -a STARTED=()   # process groups we started (each with setsid: pgid = pid)
PG_DIR="$WORK/pg"
PG_STARTED=0
cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${STARTED[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || true; done
    for pid in "${STARTED[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pid" 2>/dev/null || true
    done
    [[ "$PG_STARTED" == 1 ]] && { "$ROOT/.ci/pg" stop "$PG_DIR" >/dev/null 2>&1 || true; }
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT
trap 'log "terminated"; exit 143' TERM

start() {   # name dir cmd...: runs cmd in dir, in its own process group, output to $OUT/name.log
    local name=$1 dir=$2; shift 2
    (cd "$dir" && exec setsid "$@") >"$OUT/$name.log" 2>&1 &
    STARTED+=($!)
    disown "$!"   # cleanup may have to KILL it; no job notice for that
    eval "PID_${name//-/_}=$!"
}
wait_http() {   # url timeout-seconds
    local url=$1 deadline=$((SECONDS + $2))
    while ((SECONDS < deadline)); do
        [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true)" == 200 ]] && return 0
        sleep 0.2
    done
    return 1
}

# ------------------------------------------------------------------ ports, PostgreSQL, build
read -r -a P < <(python3 "$HERE/benchlib.py" free-ports 12) || die "could not find free ports"
B1=${P[0]}; B2=${P[1]}
LISTEN=(${P[2]} ${P[3]} ${P[4]}); ADMIN=(${P[5]} ${P[6]} ${P[7]}); CPORT=(${P[8]} ${P[9]} ${P[10]})
SOLO=${P[11]}

log "starting PostgreSQL (.ci/pg)"
PG_STARTED=1
PROX_DB=$("$ROOT/.ci/pg" start "$PG_DIR" 2>"$OUT/pg.log") || { cat "$OUT/pg.log" >&2; die "PostgreSQL did not start"; }

PROX_DLL="$ROOT/Prox.Hosting/bin/Release/net10.0/prox.dll"
if [[ "$NO_BUILD" != 1 ]]; then
    log "building Prox.Hosting (Release)"
    dotnet build "$ROOT/Prox.Hosting/Prox.Hosting.csproj" -c Release -nologo -v q >"$OUT/build.log" 2>&1 \
        || { tail -n 30 "$OUT/build.log" >&2; die "Prox build failed"; }
fi
[[ -f "$PROX_DLL" ]] || die "$PROX_DLL not found"

# ------------------------------------------------------------------ backends: nginx, /healthz is a file
for b in b1 b2; do
    mkdir -p "$WORK/$b"
    head -c 100 /dev/zero | tr '\0' 'a' >"$WORK/$b/index.html"
    echo ok >"$WORK/$b/healthz"
    chmod 755 "$WORK/$b"; chmod 644 "$WORK/$b/"*
done
mkdir -p "$WORK/nginx-tmp"
cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx-tmp/body;
    proxy_temp_path $WORK/nginx-tmp/proxy;
    fastcgi_temp_path $WORK/nginx-tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx-tmp/uwsgi;
    scgi_temp_path $WORK/nginx-tmp/scgi;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    default_type text/plain;
    # no open_file_cache: a deleted /healthz must answer 404 at once
    server { listen 127.0.0.1:$B1; root $WORK/b1; }
    server { listen 127.0.0.1:$B2; root $WORK/b2; }
}
EOF
start nginx "$WORK" "$NGINX" -p "$WORK/" -c "$WORK/nginx.conf"
wait_http "http://127.0.0.1:$B1/healthz" 10 && wait_http "http://127.0.0.1:$B2/healthz" 10 || die "nginx backends did not start"

# ------------------------------------------------------------------ the cluster: one config file, ports from env vars
ROUTES=$(cat <<EOF
  routes.api {
    health {
      path = "/healthz"
      interval = 200ms
      timeout = 150ms
      jitter = 0
      healthy-after = 2
      unhealthy-after = 2
      unhealthy-interval = 100ms
      max-unhealthy-interval = 200ms
    }
    backends = [ { id = b1, url = "http://127.0.0.1:$B1" }, { id = b2, url = "http://127.0.0.1:$B2" } ]
  }
EOF
)
cat >"$WORK/cluster.conf" <<EOF
prox {
  listen = "127.0.0.1:8081"
  listen = \${?PROX_LISTEN}
  admin.listen = "127.0.0.1:9901"
  admin.listen = \${?PROX_ADMIN_LISTEN}
$ROUTES
  persistence {
    provider = postgresql
    connection-string = "Host=127.0.0.1;Database=prox"
    connection-string = \${?PROX_DB}
  }
  cluster {
    enabled = true
    hostname = "127.0.0.1"
    port = 4053
    port = \${?PROX_CLUSTER_PORT}
    seed-nodes = ["akka.tcp://prox@127.0.0.1:${CPORT[0]}", "akka.tcp://prox@127.0.0.1:${CPORT[1]}"]
  }
}
# Short membership timings, as in the tests (Prox.Tests/Infrastructure/TestCluster.cs: FastAkka), so the cluster forms
# in seconds. They do not change how an availability change travels from the owner to the other nodes.
akka.cluster {
  seed-node-timeout = 1s
  split-brain-resolver.stable-after = 2s
  gossip-interval = 200ms
  leader-actions-interval = 200ms
  unreachable-nodes-reaper-interval = 250ms
  periodic-tasks-initial-delay = 100ms
  failure-detector { heartbeat-interval = 200ms, acceptable-heartbeat-pause = 1s, expected-response-after = 200ms }
}
EOF
cp "$WORK/cluster.conf" "$OUT/cluster.conf"

node() {   # index (0-based)
    local i=$1
    mkdir -p "$WORK/node$i"
    start "node$((i + 1))" "$WORK/node$i" env PROX_LISTEN="127.0.0.1:${LISTEN[$i]}" PROX_ADMIN_LISTEN="127.0.0.1:${ADMIN[$i]}" \
        PROX_CLUSTER_PORT="${CPORT[$i]}" PROX_DB="$PROX_DB" dotnet "$PROX_DLL" run --config "$WORK/cluster.conf"
}
# all three at once, as an operator would (the config history is a cluster singleton: one writer of version 1)
node 0; node 1; node 2
for i in 0 1 2; do wait_http "http://127.0.0.1:${ADMIN[$i]}/status" 60 || die "node $((i + 1)) did not start (see $OUT/node$((i + 1)).log)"; done
log "3 nodes started (proxy ${LISTEN[*]}, admin ${ADMIN[*]}, cluster ${CPORT[*]})"

# ------------------------------------------------------------------ propagation: flip b1, wait for all nodes to agree
ADMINS=$(printf 'http://127.0.0.1:%s ' "${ADMIN[@]}")
log "flipping b1 $FLIPS times"
python3 - "$WORK/b1/healthz" "$FLIPS" "$OUT/propagation.json" $ADMINS <<'PY' || die "propagation phase failed"
import json, math, os, sys, time, urllib.request

health, flips, out, admins = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4:]

def status(url):
    with urllib.request.urlopen(url + "/status", timeout=5) as r:
        return json.load(r)

def backend(s, bid):
    route = next(r for r in s["routes"] if r["name"] == "api")
    return next(b for b in route["backends"] if b["id"] == bid)

def wait(cond, what, within=30):
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if cond([status(a) for a in admins]):
                return
        except OSError:
            pass
        time.sleep(0.02)
    sys.exit(f"cluster: ERROR: not within {within}s: {what}")

def formed(ss):
    if any(len(s["cluster"]["members"]) != 3 or any(m["status"] != "Up" for m in s["cluster"]["members"])
           or s["cluster"]["unreachable"] for s in ss):
        return False
    owners = {bid: {backend(s, bid).get("owner") for s in ss} for bid in ("b1", "b2")}
    return all(len(o) == 1 and None not in o for o in owners.values()) and \
        all(backend(s, bid)["state"] == "up" for s in ss for bid in ("b1", "b2"))

wait(formed, "3 nodes Up everywhere, b1 and b2 up with one owner", 60)

def owned(ss):
    return [len(s["cluster"]["backends"]["owned"]) for s in ss]

# Sharding rebalances the entities once more nodes are Up (a handoff moves an owner); let it settle before
# measuring: every node owns at most one of the two backends, or 15 s passed (both may share one shard).
deadline = time.monotonic() + 15
while time.monotonic() < deadline and max(owned([status(a) for a in admins])) > 1:
    time.sleep(0.2)
wait(formed, "settled: b1 and b2 up with one owner everywhere", 30)

def owner_of(bid):
    return backend(status(admins[0]), bid)["owner"]

def prop(url):
    return status(url)["cluster"]["backends"]["propagation"]

seen = {a: prop(a)["changes"] for a in admins}
rows = []   # one per flip: direction, owner, file change -> all nodes agree (s), delays (ms) on the other nodes
for i in range(flips):
    down = i % 2 == 0
    target = "down" if down else "up"
    before = owner_of("b1")
    t0 = time.monotonic()
    if down:
        os.remove(health)
    else:
        with open(health, "w") as f:
            f.write("ok\n")
    wait(lambda ss: all(backend(s, "b1")["state"] == target for s in ss), f"flip {i + 1}: every node shows b1 {target}")
    agreed = time.monotonic() - t0
    after = owner_of("b1")
    delays = []
    for a in admins:
        p = prop(a)
        new = p["changes"] - seen[a]
        seen[a] = p["changes"]
        delays += p["recentMs"][-new:] if new > 0 else []
    # a flip counts when b1 kept its owner and both other nodes received exactly this change
    rows.append({"direction": target, "owner": after, "moved": before != after, "agreeS": round(agreed, 3),
                 "delaysMs": delays, "complete": before == after and len(delays) == len(admins) - 1})
owner = owner_of("b1")

def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, max(0, math.ceil(len(xs) * p) - 1))] if xs else float("nan")

links = [d for r in rows if r["complete"] for d in r["delaysMs"]]
alln = [max(r["delaysMs"]) for r in rows if r["complete"]]
downs = [max(r["delaysMs"]) for r in rows if r["direction"] == "down" and r["complete"]]
agree = [r["agreeS"] * 1000 for r in rows]
result = {
    "owner": owner, "flips": flips, "moves": sum(r["moved"] for r in rows),
    "samples": len(links), "complete": len(alln),
    "linkP50Ms": pct(links, 0.5), "linkP99Ms": pct(links, 0.99), "linkMaxMs": max(links, default=float("nan")),
    "allNodesP50Ms": pct(alln, 0.5), "allNodesP99Ms": pct(alln, 0.99),
    "downAllNodesP50Ms": pct(downs, 0.5), "downAllNodesP99Ms": pct(downs, 0.99),
    "agreeP50Ms": pct(agree, 0.5), "agreeP99Ms": pct(agree, 0.99),
    "perNodeStatus": {a: {k: v for k, v in prop(a).items() if k != "recentMs"} for a in admins},
    "rows": rows,
}
json.dump(result, open(out, "w"), indent=2)
PY

# ------------------------------------------------------------------ overhead: wrk on node 1, then on a standalone Prox
counters() {   # admin port -> "outcomes outcomeMessages"
    curl -s --max-time 5 "http://127.0.0.1:$1/status" | python3 -c \
        'import json,sys; b=json.load(sys.stdin)["cluster"]["backends"]; print(b["outcomes"], b["outcomeMessages"])'
}
rps() { python3 "$HERE/benchlib.py" parse-wrk "$1" | cut -d, -f1; }

# Both run side by side and take turns (REPEATS rounds, medians reported), so background work on the machine (the other
# nodes' gossip and probes, anything else running) weighs on both alike.
cat >"$WORK/solo.conf" <<EOF
prox {
  listen = "127.0.0.1:$SOLO"
  admin.listen = "127.0.0.1:0"
$ROUTES
}
EOF
mkdir -p "$WORK/solo"
start solo "$WORK/solo" dotnet "$PROX_DLL" run --config "$WORK/solo.conf"
wait_http "http://127.0.0.1:$SOLO/" 60 || die "standalone prox did not start (see $OUT/solo.log)"

URL="http://127.0.0.1:${LISTEN[0]}/"
log "wrk: $REPEATS x ${DURATION}s, $CONNS connections, node 1 and a standalone Prox in turns (3 s warm-up each first)"
wrk -t1 -c"$CONNS" -d3s "$URL" >/dev/null 2>&1 || true
wrk -t1 -c"$CONNS" -d3s "http://127.0.0.1:$SOLO/" >/dev/null 2>&1 || true
O=0; M=0; RPS_CLUSTER=(); RPS_SOLO=()
for r in $(seq "$REPEATS"); do
    read -r O0 M0 < <(counters "${ADMIN[0]}")
    wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "$URL" >"$OUT/wrk-cluster-$r.txt" 2>&1 || die "wrk against node 1 failed"
    sleep 1   # the links flush their last batch on a timer
    read -r O1 M1 < <(counters "${ADMIN[0]}")
    O=$((O + O1 - O0)); M=$((M + M1 - M0))
    RPS_CLUSTER+=("$(rps "$OUT/wrk-cluster-$r.txt")")
    wrk -t1 -c"$CONNS" -d"${DURATION}s" --latency "http://127.0.0.1:$SOLO/" >"$OUT/wrk-standalone-$r.txt" 2>&1 || die "wrk against standalone failed"
    RPS_SOLO+=("$(rps "$OUT/wrk-standalone-$r.txt")")
    log "round $r: node 1 ${RPS_CLUSTER[-1]} req/s, standalone ${RPS_SOLO[-1]} req/s"
done

# ------------------------------------------------------------------ report
REPORT="$HERE/results/cluster-$STAMP.txt"
python3 - "$OUT/propagation.json" "$O" "$M" "${RPS_CLUSTER[*]}" "${RPS_SOLO[*]}" "$DURATION" "$CONNS" "$(uptime)" <<'PY' | tee "$REPORT"
import json, statistics, sys
p = json.load(open(sys.argv[1]))
outcomes, messages, dur, conns = int(sys.argv[2]), int(sys.argv[3]), sys.argv[6], sys.argv[7]
cl, so = [float(x) for x in sys.argv[4].split()], [float(x) for x in sys.argv[5].split()]
rc, rs = statistics.median(cl), statistics.median(so)
print(f"Prox cluster benchmark: 3 nodes on one machine, FastAkka membership timings, health interval 200 ms")
print(f"propagation: b1 flipped {p['flips']} times, {p['complete']} counted ({p['moves']} while its owner moved); delay = owner sees the change -> link on another node has it")
print(f"  {'measure':<44} {'p50 ms':>9} {'p99 ms':>9}")
print(f"  {'per link (' + str(p['samples']) + ' samples)':<44} {p['linkP50Ms']:>9.2f} {p['linkP99Ms']:>9.2f}")
print(f"  {'all other nodes, per change (' + str(p['complete']) + ')':<44} {p['allNodesP50Ms']:>9.2f} {p['allNodesP99Ms']:>9.2f}")
print(f"  {'all other nodes, backend-down changes only':<44} {p['downAllNodesP50Ms']:>9.2f} {p['downAllNodesP99Ms']:>9.2f}")
print(f"  {'file flip -> all nodes agree (incl. probes)':<44} {p['agreeP50Ms']:>9.0f} {p['agreeP99Ms']:>9.0f}")
print(f"overhead: wrk {len(cl)} x {dur}s, {conns} connections, GET / (100 bytes); node 1 and a standalone Prox in turns")
print(f"  outcomes reported {outcomes}, outcome messages {messages}, messages per request {messages / outcomes if outcomes else 0:.6f}")
print(f"  req/s (median)  cluster node {rc:,.0f}   standalone {rs:,.0f}   ratio {rc / rs if rs else 0:.3f}")
print(f"  req/s per round  cluster node {' '.join(f'{x:,.0f}' for x in cl)}   standalone {' '.join(f'{x:,.0f}' for x in so)}")
print(f"machine: {sys.argv[8].strip()}")
PY
log "results: $REPORT (logs in $OUT)"
