#!/usr/bin/env python3
"""Self-healing timings for Prox (stdlib only). Driven by bench/heal.sh; see bench/README.md.

  heal.py run --dll PROX_DLL --nginx NGINX --work DIR --out DIR [--scenarios A,B,C] [--repeats N]
              [--rate R] [--backends N] [--steady S] [--restart-after S] [--proxy-cpu C] [--load-cpu C]
  heal.py summarize RESULTS.csv       print the tables again from a results.csv

Per scenario and repeat: a fresh Prox process (so passive ejection / breaker streaks never carry
over between repeats) in front of N nginx backends, a paced keep-alive client at R req/s, then:
  1. SIGKILL the whole process group of backend b0 at t_kill;
  2. the first event that takes b0 out of rotation (backend-ejected / backend-down / breaker-opened,
     from GET /admin/events) gives t_avoid; /status is polled to cross-check that b0's `failures`
     stop growing;
  3. `restart_after` s after t_avoid (or right after the kill when restart_after < 0) b0's nginx is
     started again on the same port at t_back; the first /load line in its access log ($msec) after
     t_back gives t_first;
  4. client-visible errors (non-200, exceptions) over the whole cycle are counted.
"""
import argparse
import csv
import http.client
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from datetime import datetime

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (free_ports)

SCENARIOS = {
    # name: (extra route keys, description)
    "A": ("", "default config (no health/breaker/passive/retries/timeouts keys)"),
    "B": ("health {}", "defaults + health {}"),
    "C": ("breaker {}", "defaults + breaker {}"),
}
REMOVAL_KINDS = ("backend-ejected", "backend-down", "breaker-opened")
RETURN_KINDS = ("backend-returned", "backend-up", "breaker-half-open", "breaker-closed")

STARTED = []  # Popen objects we started (killed on exit)


def log(msg):
    print(f"heal: {msg}", file=sys.stderr, flush=True)


def parse_ts(s):
    # "2026-11-26T10:14:50.1234567+00:00" -> epoch seconds (fromisoformat wants <= 6 fraction digits)
    s = s.replace("Z", "+00:00")
    if "." in s:
        head, rest = s.split(".", 1)
        i = 0
        while i < len(rest) and rest[i].isdigit():
            i += 1
        s = head + "." + rest[:i][:6].ljust(6, "0") + rest[i:]
    return datetime.fromisoformat(s).timestamp()


# ---------------------------------------------------------------- processes

def spawn(args, logpath, cpu=None):
    if cpu is not None:
        args = ["taskset", "-c", str(cpu)] + args
    fh = open(logpath, "ab")
    p = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True)  # own process group: SIGKILL reaches master + workers
    fh.close()
    STARTED.append(p)
    with open(os.environ.get("HEAL_PIDFILE", os.devnull), "a") as pf:
        pf.write(f"{p.pid}\n")
    return p


def kill_group(p, sig=signal.SIGKILL):
    try:
        os.killpg(p.pid, sig)
    except ProcessLookupError:
        pass


def stop(p, timeout=5.0):
    if p.poll() is not None:
        kill_group(p)  # stray workers, if any
        return
    kill_group(p, signal.SIGTERM)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        kill_group(p)
        p.wait(5)
    kill_group(p)


def stop_all():
    for p in STARTED:
        try:
            stop(p)
        except Exception:  # noqa: BLE001
            pass
    STARTED.clear()


def http_get(port, path, timeout=2.0):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        c.request("GET", path)
        r = c.getresponse()
        return r.status, r.read()
    finally:
        c.close()


def wait_200(port, path, timeout, proc=None):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited (rc {proc.returncode}) while waiting for :{port}{path}")
        try:
            if http_get(port, path, 1.0)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.05)
    raise RuntimeError(f"no 200 from 127.0.0.1:{port}{path} within {timeout}s")


class Backend:
    def __init__(self, name, port, work, nginx, cpu):
        self.name, self.port, self.nginx, self.cpu = name, port, nginx, cpu
        self.prefix = os.path.join(work, name)
        os.makedirs(os.path.join(self.prefix, "tmp"), exist_ok=True)
        self.access = os.path.join(self.prefix, "access.log")
        self.conf = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf, "w") as fh:
            fh.write(f"""worker_processes 1;
daemon off;
pid {self.prefix}/nginx.pid;
error_log {self.prefix}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    log_format heal '$msec $request_uri $status $connection';
    access_log {self.access} heal;
    client_body_temp_path {self.prefix}/tmp/body;
    proxy_temp_path {self.prefix}/tmp/proxy;
    fastcgi_temp_path {self.prefix}/tmp/fastcgi;
    uwsgi_temp_path {self.prefix}/tmp/uwsgi;
    scgi_temp_path {self.prefix}/tmp/scgi;
    keepalive_timeout 300s;
    keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port};
        default_type text/plain;
        location / {{ return 200 "ok {name}\\n"; }}
    }}
}}
""")
        self.proc = None

    def start(self):
        self.proc = spawn([self.nginx, "-p", self.prefix + "/", "-e", f"{self.prefix}/error.log", "-c", self.conf],
                          f"{self.prefix}/stdout.log", self.cpu)
        return self.proc

    def kill(self):
        kill_group(self.proc)  # master + worker in one go (abrupt: no graceful close of connections)
        self.proc.wait(5)

    def first_load_line_after(self, t):
        """(msec, line) of the first proxied client request (/load...) logged at or after t."""
        try:
            with open(self.access) as fh:
                for line in fh:
                    parts = line.split()
                    if len(parts) >= 2 and parts[1].startswith("/load") and float(parts[0]) >= t:
                        return float(parts[0]), line.strip()
        except FileNotFoundError:
            pass
        return None, None

    def first_probe_after(self, t):
        try:
            with open(self.access) as fh:
                for line in fh:
                    parts = line.split()
                    if len(parts) >= 2 and parts[1].startswith("/health") and float(parts[0]) >= t:
                        return float(parts[0])
        except FileNotFoundError:
            pass
        return None


# ---------------------------------------------------------------- load

class Load:
    """Open-loop paced client: request i is due at t0 + i/rate; `threads` keep-alive connections.

    Each result is (t_due, t_sent, t_done, status, backend, error). Without `sink` they are kept and
    returned by stop(); with it, each is passed to sink(result) from the worker thread instead (a long
    soak run aggregates them rather than keeping millions of tuples)."""

    def __init__(self, port, rate, threads=8, sink=None):
        self.port, self.rate, self.threads, self.sink = port, rate, threads, sink
        self.lock = threading.Lock()
        self.next_i = 0
        self.stop_flag = threading.Event()
        self.results = []  # (t_due, t_sent, t_done, status, backend, error)
        self.t0 = None
        self.ts = []

    def _worker(self):
        conn = None
        local = []
        while not self.stop_flag.is_set():
            with self.lock:
                i = self.next_i
                self.next_i += 1
            due = self.t0 + i / self.rate
            d = due - time.time()
            if d > 0:
                if self.stop_flag.wait(d):
                    break
            sent = time.time()
            status, backend, err = None, None, None
            try:
                if conn is None:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
                conn.request("GET", f"/load?i={i}")
                r = conn.getresponse()
                body = r.read()
                status, backend = r.status, r.getheader("X-Backend-Used")
                if not 200 <= status < 300:  # say why (Prox answers errors with problem+json)
                    err = f"HTTP {status}: {body[:200].decode('utf-8', 'replace')}"
                if r.getheader("Connection", "").lower() == "close":
                    conn.close(); conn = None
            except Exception as e:  # noqa: BLE001
                err = f"{type(e).__name__}: {e}"
                try:
                    conn.close()
                except Exception:  # noqa: BLE001
                    pass
                conn = None
            res = (due, sent, time.time(), status, backend, err)
            if self.sink is not None:
                self.sink(res)
            else:
                local.append(res)
        with self.lock:
            self.results.extend(local)
        if conn is not None:
            conn.close()

    def start(self):
        self.t0 = time.time() + 0.05
        self.ts = [threading.Thread(target=self._worker, daemon=True) for _ in range(self.threads)]
        for t in self.ts:
            t.start()

    def stop(self):
        self.stop_flag.set()
        for t in self.ts:
            t.join(15)
        self.results.sort()
        return self.results


# ---------------------------------------------------------------- admin polling

class Admin:
    def __init__(self, port):
        self.port = port
        self.samples = []  # (t, failures, requests, state) of the watched backend
        self.stop_flag = threading.Event()
        self.th = None

    def json(self, path):
        st, body = http_get(self.port, path, 3.0)
        if st != 200:
            raise RuntimeError(f"admin {path} -> {st}")
        return json.loads(body)

    def events(self):
        # newest 100 (enough: a run makes a handful)
        d = self.json("/admin/events")
        return d["events"] if isinstance(d, dict) else d

    def backend_status(self, bid):
        for r in self.json("/status")["routes"]:
            for b in r["backends"]:
                if b["id"] == bid:
                    return b
        return None

    def watch(self, bid, period=0.05):
        def loop():
            while not self.stop_flag.is_set():
                t = time.time()
                try:
                    b = self.backend_status(bid)
                    if b:
                        self.samples.append((t, b.get("failures"), b.get("requests"), b.get("state")))
                except Exception:  # noqa: BLE001
                    pass
                self.stop_flag.wait(period)
        self.th = threading.Thread(target=loop, daemon=True)
        self.th.start()

    def stop(self):
        self.stop_flag.set()
        if self.th:
            self.th.join(5)


# ---------------------------------------------------------------- one repeat

def prox_conf(path, listen, admin, ports, extra):
    backends = ", ".join(f'{{ id = b{i}, url = "http://127.0.0.1:{p}" }}' for i, p in enumerate(ports))
    with open(path, "w") as fh:
        fh.write(f"""prox {{
  listen = "127.0.0.1:{listen}"
  admin.listen = "127.0.0.1:{admin}"
  routes {{
    heal {{
      match {{ path-prefix = "/" }}
      backend-header = true
      backends = [ {backends} ]
      {extra}
    }}
  }}
}}
""")


def one_repeat(a, scen, rep, outdir):
    extra = SCENARIOS[scen][0]
    tag = f"{scen}-r{rep}"
    work = os.path.join(a.work, tag)
    os.makedirs(work, exist_ok=True)
    ports = benchlib.free_ports(a.backends + 2)
    bports, pport, aport = ports[:a.backends], ports[-2], ports[-1]
    bes = [Backend(f"b{i}", p, work, a.nginx, a.load_cpu) for i, p in enumerate(bports)]
    conf = os.path.join(work, "prox.conf")
    prox_conf(conf, pport, aport, bports, extra)
    row = {"scenario": scen, "repeat": rep, "rate": a.rate, "backends": a.backends}
    try:
        for b in bes:
            b.start()
        for b in bes:
            wait_200(b.port, "/ping", 10, b.proc)
        prox = spawn(["dotnet", a.dll, "run", "--config", conf], os.path.join(work, "prox.log"), a.proxy_cpu)
        wait_200(aport, "/healthz", 30, prox)
        wait_200(pport, "/ping", 10, prox)
        adm = Admin(aport)
        load = Load(pport, a.rate)
        load.start()
        time.sleep(a.steady)
        dead = bes[0]
        adm.watch(dead.name)
        fails_before = (adm.backend_status(dead.name) or {}).get("failures")
        t_kill = time.time()
        dead.kill()
        # -- wait for the removal event
        t_avoid, kind_avoid, removal = None, None, {}
        immediate = a.restart_after < 0
        t_back = None
        if immediate:
            t_back = time.time()
            dead.start()
        # restarted at once, b0 may never be removed: do not wait a minute for nothing
        avoid_wait = min(a.avoid_timeout, 15) if immediate else a.avoid_timeout
        deadline = t_kill + avoid_wait
        while time.time() < deadline:
            for e in adm.events():
                if e.get("backend") == dead.name and e["kind"] in REMOVAL_KINDS:
                    ts = parse_ts(e["timestamp"])
                    if ts >= t_kill - 0.001:
                        removal.setdefault(e["kind"], ts)
            if removal:
                kind_avoid, t_avoid = min(removal.items(), key=lambda kv: kv[1])
                break
            time.sleep(0.02)
        if t_avoid is None:
            log(f"{tag}: b0 was never taken out of rotation within {avoid_wait:g}s")
        # -- restart
        if not immediate:
            base = t_avoid if t_avoid is not None else time.time()
            time.sleep(max(0.0, base + a.restart_after - time.time()))
            t_back = time.time()
            dead.start()
        # -- wait for the first served client request
        t_first = None
        deadline = t_back + a.return_timeout
        while time.time() < deadline:
            t_first, _ = dead.first_load_line_after(t_back)
            if t_first is not None:
                break
            time.sleep(0.05)
        time.sleep(a.settle)
        results = load.stop()
        adm.stop()
        evs = [e for e in adm.events() if parse_ts(e["timestamp"]) >= t_kill - 0.001]
        # removal events that came after the first one (e.g. backend-down after backend-ejected)
        for e in evs:
            if e.get("backend") == dead.name and e["kind"] in REMOVAL_KINDS:
                removal.setdefault(e["kind"], parse_ts(e["timestamp"]))
        # -- cross-check: when did b0's failures counter last grow (before t_back)?
        last_fail_change, fails_at_avoid, fails_final = None, None, None
        prev = fails_before
        for t, f, _, _ in adm.samples:
            if t_back is not None and t >= t_back and not immediate:
                break
            if f is not None and prev is not None and f > prev:
                last_fail_change = t
            if f is not None:
                prev = f
                if t_avoid is not None and t <= t_avoid + 0.2:
                    fails_at_avoid = f
                fails_final = f
        # -- client view
        errors = [r for r in results if r[5] is not None or r[3] != 200]
        in_cycle = [r for r in results if r[1] >= t_kill]
        # requests slowed by a failed first try on b0 (retried): latency > 20 ms in the window kill..avoid
        slow = [r for r in in_cycle if r[2] - r[1] > 0.02 and (t_avoid is None or r[1] <= t_avoid + 0.05)]
        first_served_probe = dead.first_probe_after(t_back) if t_back else None
        elapsed = (results[-1][2] - results[0][1]) if results else 0
        row.update({
            "t_kill": f"{t_kill:.4f}",
            "avoid_kind": kind_avoid or "",
            "death_to_avoid_ms": f"{(t_avoid - t_kill) * 1000:.1f}" if t_avoid else "",
            "ejected_ms": f"{(removal['backend-ejected'] - t_kill) * 1000:.1f}" if "backend-ejected" in removal else "",
            "down_ms": f"{(removal['backend-down'] - t_kill) * 1000:.1f}" if "backend-down" in removal else "",
            "opened_ms": f"{(removal['breaker-opened'] - t_kill) * 1000:.1f}" if "breaker-opened" in removal else "",
            "last_failure_growth_ms": f"{(last_fail_change - t_kill) * 1000:.1f}" if last_fail_change else "",
            "failures_after_kill": (fails_final - fails_before) if (fails_final is not None and fails_before is not None) else "",
            "back_after_avoid_ms": f"{(t_back - t_avoid) * 1000:.1f}" if (t_avoid and t_back) else "",
            "back_to_first_ms": f"{(t_first - t_back) * 1000:.1f}" if t_first else "",
            "back_to_first_probe_ms": f"{(first_served_probe - t_back) * 1000:.1f}" if first_served_probe else "",
            "requests": len(results),
            "achieved_rps": f"{len(results) / elapsed:.1f}" if elapsed else "",
            "client_errors": len(errors),
            "slow_retried": len(slow),
            "events": " | ".join(f"{(parse_ts(e['timestamp']) - t_kill) * 1000:+.0f}ms {e['kind']} {e.get('backend') or ''}"
                                 for e in evs),
        })
        if errors:
            with open(os.path.join(outdir, f"errors-{tag}.txt"), "w") as fh:
                for r in errors:
                    fh.write(f"sent={r[1]:.4f} (kill{(r[1] - t_kill) * 1000:+.0f}ms) dur={(r[2] - r[1]) * 1000:.1f}ms status={r[3]} backend={r[4]} err={r[5]}\n")
        with open(os.path.join(outdir, f"events-{tag}.json"), "w") as fh:
            json.dump({"t_kill": t_kill, "t_avoid": t_avoid, "t_back": t_back, "t_first": t_first,
                       "events": evs, "failures_samples": adm.samples}, fh, indent=1)
    finally:
        stop_all()
        # keep the logs
        for b in bes:
            for f in ("access.log", "error.log"):
                src = os.path.join(b.prefix, f)
                if os.path.exists(src):
                    os.makedirs(os.path.join(outdir, "logs", tag), exist_ok=True)
                    os.replace(src, os.path.join(outdir, "logs", tag, f"{b.name}-{f}"))
        for f in ("prox.log", "prox.conf"):
            src = os.path.join(work, f)
            if os.path.exists(src):
                os.makedirs(os.path.join(outdir, "logs", tag), exist_ok=True)
                os.replace(src, os.path.join(outdir, "logs", tag, f))
    return row


# ---------------------------------------------------------------- summary

FIELDS = ["scenario", "repeat", "rate", "backends", "avoid_kind", "death_to_avoid_ms", "ejected_ms", "down_ms",
          "opened_ms", "last_failure_growth_ms", "failures_after_kill", "back_after_avoid_ms", "back_to_first_ms",
          "back_to_first_probe_ms", "requests", "achieved_rps", "client_errors", "slow_retried", "t_kill", "events"]


def _vals(rows, k):
    out = []
    for r in rows:
        try:
            out.append(float(r[k]))
        except (TypeError, ValueError, KeyError):
            pass
    return out


def _p90(v):
    v = sorted(v)
    if not v:
        return None
    k = 0.9 * (len(v) - 1)
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def _fmt(x):
    if x is None:
        return "n/a"
    return f"{x / 1000:.3f} s" if x >= 1000 else f"{x:.0f} ms"


def summarize(rows, out=sys.stdout):
    scen = []
    for r in rows:
        if r["scenario"] not in scen:
            scen.append(r["scenario"])
    w = out.write
    w("\nPer repeat (ms from the kill / from the restart):\n\n")
    w("| scen | rep | removed by | death→avoid | ejected | down | opened | b0 failures final by | b0 failures after kill | restart after avoid | return→first served | return→first probe | client errors | requests (req/s) |\n")
    w("|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
    for r in rows:
        w(f"| {r['scenario']} | {r['repeat']} | {r['avoid_kind'] or 'NEVER'} | {r['death_to_avoid_ms'] or 'n/a'} | "
          f"{r['ejected_ms'] or '-'} | {r['down_ms'] or '-'} | {r['opened_ms'] or '-'} | {r['last_failure_growth_ms'] or '-'} | "
          f"{r['failures_after_kill']} | {r['back_after_avoid_ms'] or '-'} | {r['back_to_first_ms'] or 'NEVER'} | "
          f"{r['back_to_first_probe_ms'] or '-'} | {r['client_errors']} | {r['requests']} ({r['achieved_rps']}) |\n")
    w("\nSummary (median / p90 / max over repeats):\n\n")
    w("| scenario | repeats | death → first avoided request | return → first served request | client errors (total) |\n")
    w("|---|---:|---|---|---:|\n")
    for s in scen:
        rs = [r for r in rows if r["scenario"] == s]
        d, b = _vals(rs, "death_to_avoid_ms"), _vals(rs, "back_to_first_ms")
        never_a = len(rs) - len(d)
        never_b = len(rs) - len(b)

        def cell(v, never):
            if not v:
                return "never"
            c = f"{_fmt(statistics.median(v))} / {_fmt(_p90(v))} / {_fmt(max(v))}"
            return c + (f" ({never} never)" if never else "")
        errs = sum(int(r["client_errors"]) for r in rs)
        w(f"| {s}: {SCENARIOS.get(s, ('', s))[1]} | {len(rs)} | {cell(d, never_a)} | {cell(b, never_b)} | {errs} |\n")
    out.flush()


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--dll", required=True)
    r.add_argument("--nginx", default="/usr/sbin/nginx")
    r.add_argument("--work", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--scenarios", default="A,B,C")
    r.add_argument("--repeats", type=int, default=5)
    r.add_argument("--rate", type=float, default=200)
    r.add_argument("--backends", type=int, default=2)
    r.add_argument("--steady", type=float, default=2.0)
    r.add_argument("--restart-after", type=float, default=1.0, help="s after removal; < 0: right after the kill")
    r.add_argument("--settle", type=float, default=1.0)
    r.add_argument("--avoid-timeout", type=float, default=60)
    r.add_argument("--return-timeout", type=float, default=90)
    r.add_argument("--proxy-cpu", default="1")
    r.add_argument("--load-cpu", default="0")
    s = sub.add_parser("summarize")
    s.add_argument("csv")
    a = ap.parse_args()
    if a.cmd == "summarize":
        summarize(list(csv.DictReader(open(a.csv, newline=""))))
        return 0

    def on_term(signum, _):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "results.csv")
    rows = []
    new = not os.path.exists(path)
    with open(path, "a", newline="") as fh:
        wr = csv.DictWriter(fh, fieldnames=FIELDS)
        if new:
            wr.writeheader()
        try:
            for scen in [x.strip() for x in a.scenarios.split(",") if x.strip()]:
                if scen not in SCENARIOS:
                    raise SystemExit(f"unknown scenario {scen}")
                for rep in range(1, a.repeats + 1):
                    row = one_repeat(a, scen, rep, a.out)
                    rows.append(row)
                    wr.writerow(row)
                    fh.flush()
                    log(f"{scen} r{rep}: removed by {row['avoid_kind'] or 'NEVER'} after {row['death_to_avoid_ms'] or 'n/a'} ms; "
                        f"first served {row['back_to_first_ms'] or 'NEVER'} ms after restart; client errors {row['client_errors']}; "
                        f"events: {row['events']}")
        finally:
            stop_all()
    summarize(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
