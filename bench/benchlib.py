#!/usr/bin/env python3
"""Helpers for bench/run.sh (stdlib only).

  benchlib.py free-ports N [LO HI]     print N consecutive free 127.0.0.1 TCP ports (one line, space separated)
  benchlib.py check-ports P...         exit 1 (with a message) if any port is already bound on 127.0.0.1
  benchlib.py parse-wrk FILE           print "rps,p50_ms,p99_ms,requests,errors" from `wrk --latency` output
  benchlib.py summarize RAW.csv OUT.md print the markdown summary (medians + ratios) and write it to OUT.md
  benchlib.py backend WORK PORT        set up WORK/www (/100b, /4k) and print an nginx config serving them on PORT
                                       (profile.sh, stages.sh: the same backend as run.sh's)
  benchlib.py smaps PID                print "category kib" lines: where the process's RSS is, by mapping
  benchlib.py counters FILE.csv        print "name value" lines from `dotnet-counters collect` csv: the sum of each
                                       rate counter over the file (e.g. bytes allocated) and the last gauge values
"""
import csv
import re
import socket
import statistics
import sys


# ---------------------------------------------------------------- ports

def _port_free(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        # SO_REUSEADDR like nginx/HAProxy/Kestrel: leftover TIME_WAIT connections from an earlier
        # run do not count as busy, a listener (or a plain bound socket) does.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        s.listen(1)
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_ports(n, lo=20000, hi=32000):
    # Below the default ephemeral range (32768+) so wrk's / the proxies' outgoing
    # connections can never collide with the listeners.
    base = lo
    while base + n <= hi:
        block = list(range(base, base + n))
        busy = [p for p in block if not _port_free(p)]
        if not busy:
            return block
        base = busy[-1] + 1
    raise SystemExit(f"no block of {n} free ports in {lo}-{hi}")


def check_ports(ports):
    busy = [p for p in ports if not _port_free(p)]
    if busy:
        print("port(s) already in use on 127.0.0.1: " + " ".join(map(str, busy)), file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------- wrk

_UNIT_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0, "h": 3600000.0}


def _to_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m|h)", text.strip())
    if not m:
        raise ValueError(f"bad latency '{text}'")
    return float(m.group(1)) * _UNIT_MS[m.group(2)]


def parse_wrk(path):
    out = open(path, encoding="utf-8", errors="replace").read()
    rps = re.search(r"^Requests/sec:\s+([0-9.]+)", out, re.M)
    reqs = re.search(r"^\s*(\d+) requests in ", out, re.M)
    p50 = re.search(r"^\s+50(?:\.000)?%\s+(\S+)", out, re.M)
    p99 = re.search(r"^\s+99(?:\.000)?%\s+(\S+)", out, re.M)
    if not (rps and reqs and p50 and p99):
        raise SystemExit(f"cannot parse wrk output in {path}")
    errors = 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        errors += sum(int(x) for x in m.groups())
    m = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if m:
        errors += int(m.group(1))
    print(f"{float(rps.group(1)):.2f},{_to_ms(p50.group(1)):.4f},{_to_ms(p99.group(1)):.4f},{reqs.group(1)},{errors}")
    return 0


# ---------------------------------------------------------------- summary

TARGET_ORDER = ["direct", "nginx", "haproxy", "yarp", "prox", "base"]
LABEL = {"direct": "direct (no proxy)", "nginx": "nginx", "haproxy": "HAProxy", "yarp": "bare YARP", "prox": "Prox", "base": "Prox (base build)"}
BODY_ORDER = ["100b", "4k"]


def _f(v):
    try:
        return float(v)
    except (TypeError, ValueError):
        return None


def _med(vals):
    vals = [v for v in vals if v is not None]
    return statistics.median(vals) if vals else None


def _fmt(v, nd=0):
    if v is None:
        return "n/a"
    return f"{v:,.{nd}f}"


def summarize(raw_path, out_path):
    rows = list(csv.DictReader(open(raw_path, newline="")))
    if not rows:
        raise SystemExit("no results")

    def key_order(k, order):
        return order.index(k) if k in order else len(order)

    targets = sorted({r["target"] for r in rows}, key=lambda t: key_order(t, TARGET_ORDER))
    bodies = sorted({r["body"] for r in rows}, key=lambda b: key_order(b, BODY_ORDER))
    conns = sorted({int(r["conns"]) for r in rows})
    reps = sorted({int(r["repeat"]) for r in rows})

    by = {}
    for r in rows:
        by.setdefault((r["target"], r["body"], int(r["conns"])), []).append(r)

    lines = []
    lines.append(f"Medians of {len(reps)} repeat(s). CPU and RSS are of the proxy process(es) "
                 "(for `direct`: the backend nginx). CPU % is of one core over the run; well under 100 % "
                 "means the proxy was not the bottleneck. core % = how busy the proxy's / the load side's CPU was "
                 "(all processes, incl. softirq); proxy core % far above CPU % means other work shared the "
                 "proxy's core (noisy run).")
    lines.append("")
    lines.append("| target | body | conns | req/s | p50 ms | p99 ms | CPU µs/req | CPU % | proxy core % | load core % | RSS MiB | errors |")
    lines.append("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for b in bodies:
        for c in conns:
            for t in targets:
                rs = by.get((t, b, c))
                if not rs:
                    continue
                errs = sum(int(r["errors"] or 0) for r in rs)
                lines.append("| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                    LABEL.get(t, t), b, c,
                    _fmt(_med(_f(r["rps"]) for r in rs)),
                    _fmt(_med(_f(r["p50_ms"]) for r in rs), 3),
                    _fmt(_med(_f(r["p99_ms"]) for r in rs), 3),
                    _fmt(_med(_f(r["cpu_us_per_req"]) for r in rs), 1),
                    _fmt(_med(_f(r["cpu_pct"]) for r in rs), 0),
                    _fmt(_med(_f(r.get("proxy_core_busy_pct")) for r in rs), 0),
                    _fmt(_med(_f(r.get("load_core_busy_pct")) for r in rs), 0),
                    _fmt(_med(_f(r["rss_kb"]) / 1024 if _f(r["rss_kb"]) is not None else None for r in rs), 1),
                    errs))

    # Ratios: computed within each repeat (same body/conns), then the median across repeats.
    ratio_defs = [
        ("Prox/YARP req/s", "prox", "yarp", "rps"),
        ("Prox/YARP p99", "prox", "yarp", "p99_ms"),
        ("Prox/nginx req/s", "prox", "nginx", "rps"),
        ("YARP/nginx req/s", "yarp", "nginx", "rps"),
        ("HAProxy/nginx req/s", "haproxy", "nginx", "rps"),
        ("base/YARP req/s", "base", "yarp", "rps"),
        ("base/YARP p99", "base", "yarp", "p99_ms"),
        ("Prox/base req/s", "prox", "base", "rps"),
        ("Prox/base p99", "prox", "base", "p99_ms"),
    ]
    idx = {(r["target"], r["body"], int(r["conns"]), int(r["repeat"])): r for r in rows}
    lines.append("")
    lines.append("Ratios (taken within each repeat, then medianed). req/s: higher is better for the "
                 "numerator; p99: lower is better for the numerator.")
    lines.append("")
    lines.append("| body | conns | " + " | ".join(d[0] for d in ratio_defs) + " |")
    lines.append("|---|---:|" + "---:|" * len(ratio_defs))
    for b in bodies:
        for c in conns:
            cells = []
            for _, num, den, col in ratio_defs:
                vals = []
                for rep in reps:
                    a, d = idx.get((num, b, c, rep)), idx.get((den, b, c, rep))
                    if a and d and _f(a[col]) is not None and _f(d[col]):
                        vals.append(_f(a[col]) / _f(d[col]))
                cells.append(_fmt(_med(vals), 3))
            lines.append(f"| {b} | {c} | " + " | ".join(cells) + " |")

    text = "\n".join(lines) + "\n"
    with open(out_path, "w") as fh:
        fh.write(text)
    sys.stdout.write(text)
    return 0


# ---------------------------------------------------------------- backend

def backend(work, port):
    """The static backend of profile.sh and stages.sh: files /100b and /4k, keep-alive without limits, no logs."""
    import os
    os.makedirs(f"{work}/www", exist_ok=True)
    os.makedirs(f"{work}/tmp", exist_ok=True)
    os.chmod(work, 0o755)  # the nginx worker runs as nobody
    os.chmod(f"{work}/www", 0o755)
    for name, size, ch in (("100b", 100, b"a"), ("4k", 4096, b"b")):
        with open(f"{work}/www/{name}", "wb") as fh:
            fh.write(ch * size)
        os.chmod(f"{work}/www/{name}", 0o644)
    t = f"{work}/tmp"
    print(f"""worker_processes 1;
daemon off;
pid {work}/backend.pid;
error_log {work}/backend-error.log warn;
worker_rlimit_nofile 65536;
events {{ worker_connections 16384; }}
http {{
    access_log off;
    client_body_temp_path {t}/body; proxy_temp_path {t}/proxy; fastcgi_temp_path {t}/fastcgi;
    uwsgi_temp_path {t}/uwsgi; scgi_temp_path {t}/scgi;
    keepalive_timeout 300s; keepalive_requests 1000000; tcp_nodelay on;
    sendfile on; etag off; open_file_cache max=16 inactive=1h; open_file_cache_valid 1h;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {work}/www;
        default_type application/octet-stream;
        location = /100b {{ }}
        location = /4k {{ }}
    }}
}}""")
    return 0


# ---------------------------------------------------------------- memory and runtime counters

def smaps(pid):
    """RSS of a process by kind of mapping, from /proc/PID/smaps (KiB)."""
    cats = {}
    name = ""
    with open(f"/proc/{pid}/smaps") as fh:
        for line in fh:
            head = line.split()
            if not head:
                continue
            if "-" in head[0] and len(head) >= 5 and not head[0].endswith(":"):
                name = head[5] if len(head) > 5 else ""
                continue
            if head[0] != "Rss:":
                continue
            kib = int(head[1])
            if name.startswith("/memfd:doublemapper"):
                cat = "jit code (doublemapper)"
            elif name.endswith(".dll"):
                cat = "managed assemblies (.dll)"
            elif ".so" in name:
                cat = "native libraries (.so)"
            elif name == "[heap]":
                cat = "native heap ([heap])"
            elif name.startswith("[stack"):
                cat = "stacks"
            elif name == "":
                cat = "anonymous (GC heap, native arenas, thread stacks)"
            else:
                cat = "other files"
            cats[cat] = cats.get(cat, 0) + kib
    total = sum(cats.values())
    for cat, kib in sorted(cats.items(), key=lambda kv: -kv[1]):
        print(f"{cat}\t{kib}")
    print(f"total\t{total}")
    return 0


def counters(path):
    """dotnet-counters collect --format csv: Timestamp,Provider,Counter Name,Counter Type,Mean/Increment."""
    sums, last = {}, {}
    with open(path, newline="") as fh:
        for row in csv.reader(fh):
            if len(row) < 5 or row[0] == "Timestamp":
                continue
            name, kind = row[2], row[3]
            try:
                v = float(row[4])
            except ValueError:
                continue
            if kind.lower().startswith("rate"):
                sums[name] = sums.get(name, 0.0) + v
            else:
                last[name] = v
    for name, v in sorted(sums.items()):
        print(f"{name} [sum]\t{v:.0f}")
    for name, v in sorted(last.items()):
        print(f"{name} [last]\t{v:.0f}")
    return 0


def main(argv):
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    cmd = argv[1]
    if cmd == "free-ports":
        n = int(argv[2])
        lo = int(argv[3]) if len(argv) > 3 else 20000
        hi = int(argv[4]) if len(argv) > 4 else 32000
        print(" ".join(map(str, free_ports(n, lo, hi))))
        return 0
    if cmd == "check-ports":
        return check_ports([int(p) for p in argv[2:]])
    if cmd == "parse-wrk":
        return parse_wrk(argv[2])
    if cmd == "summarize":
        return summarize(argv[2], argv[3])
    if cmd == "backend":
        return backend(argv[2], int(argv[3]))
    if cmd == "smaps":
        return smaps(int(argv[2]))
    if cmd == "counters":
        return counters(argv[2])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
