#!/usr/bin/env python3
"""Soak test for Prox (stdlib only). Driven by bench/soak.sh; see bench/README.md ("Soak test").

  soak.py run --dll PROX_DLL --nginx NGINX --work DIR --out DIR [--duration S] [--rate R] [--backends N]
              [--warmup S] [--interval S] [--down-for S] [--quiet S] [--proxy-cpu C] [--load-cpu C]

One Release Prox process in front of N nginx backends (one route, retries and active health checks
on), a paced open-loop keep-alive client at R req/s of idempotent GETs for the whole run, and:
  1. warm-up (load only); then Prox's VmRSS, Threads and open fds are the "start" sample;
  2. every `interval` s the next action of the cycle kill -> reload -> crash:
       kill    SIGKILL or SIGTERM (alternating) to the next backend's process group, restarted
               `down-for` s later (so at most one backend is dead at a time);
       reload  a changed config (weights rotate; every other reload changes one backend's timeout,
               which replaces that backend's actor), applied by the file watcher, SIGHUP or
               POST /admin/config/reload in turn;
       crash   POST /admin/chaos/crash, the route's actor and a backend's actor in turn;
  3. the last `quiet` s are load only again (every backend up); then the "end" sample.
Every response that is not 2xx and every transport error is a failure; the report lists them by
cause and by the injected event just before them.
"""
import argparse
import array
import json
import os
import signal
import sys
import threading
import time
from collections import Counter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (free_ports)
import heal  # noqa: E402  (processes, nginx backends, paced client)
from heal import Backend, Load, http_get, parse_ts, spawn, stop_all, wait_200  # noqa: E402

ROUTE = "soak"


def log(msg):
    print(f"soak: {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------- Prox

def prox_conf(path, listen, admin, data_dir, ports, version):
    """The config text for reload number `version` (0 = the one Prox starts with); every version differs."""
    n = len(ports)
    lines = []
    for i, p in enumerate(ports):
        extra = ", weight = 2" if version and i == version % n else ""
        if version % 2 == 0 and version and i == (version + 1) % n:
            extra += ", timeout = 20s"  # a changed per-backend timeout replaces that backend's actor
        lines.append(f'{{ id = b{i}, url = "http://127.0.0.1:{p}"{extra} }}')
    text = f"""# soak config version {version}
prox {{
  listen = "127.0.0.1:{listen}"
  admin.listen = "127.0.0.1:{admin}"
  admin.chaos = on
  persistence {{ data-dir = "{data_dir}" }}
  routes {{
    {ROUTE} {{
      match {{ path-prefix = "/" }}
      backend-header = true
      retries {{ attempts = 2 }}
      health {{ interval = 5s }}
      backends = [ {", ".join(lines)} ]
    }}
  }}
}}
"""
    tmp = path + ".tmp"
    with open(tmp, "w") as fh:
        fh.write(text)
    os.replace(tmp, path)  # one change for the file watcher, never a half-written file


def proc_sample(pid):
    """(VmRSS KiB, Threads, open fds) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            st = dict(line.split(":", 1) for line in fh if ":" in line)
        return int(st["VmRSS"].split()[0]), int(st["Threads"]), len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, KeyError):
        return None


def admin_post(port, path):
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("POST", path)
        r = c.getresponse()
        return r.status, r.read()[:200].decode("utf-8", "replace")
    finally:
        c.close()


class EventLog:
    """Follows GET /admin/events (paged with since) in a thread, so no event is missed however many come."""

    def __init__(self, port):
        self.port, self.events, self.since = port, [], None
        self.stop_flag = threading.Event()
        self.th = threading.Thread(target=self._loop, daemon=True)

    def poll(self):
        while True:
            q = "/admin/events?limit=1000" + (f"&since={self.since}" if self.since else "")
            st, body = http_get(self.port, q, 5.0)
            if st != 200:
                return
            d = json.loads(body)
            self.events.extend(d["events"])
            self.since = d.get("next") or self.since
            if not d.get("more"):
                return

    def _loop(self):
        while not self.stop_flag.wait(2.0):
            try:
                self.poll()
            except Exception:  # noqa: BLE001  (Prox busy: try again next round)
                pass

    def start(self):
        self.poll()
        self.th.start()

    def stop(self):
        self.stop_flag.set()
        self.th.join(10)
        try:
            self.poll()
        except Exception:  # noqa: BLE001
            pass


class Stats:
    """Aggregates the client's results as they come (a long run would not fit as tuples)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.from_send = array.array("f")  # ms
        self.from_due = array.array("f")   # ms, including the client's own lateness
        self.failures = []                  # (t_sent, t_done, cause, detail)
        self.backends = Counter()
        self.first = self.last = None

    def add(self, r):
        due, sent, done, status, backend, err = r
        with self.lock:
            self.from_send.append((done - sent) * 1000)
            self.from_due.append((done - due) * 1000)
            self.backends[backend or "-"] += 1
            self.first = sent if self.first is None else min(self.first, sent)
            self.last = done if self.last is None else max(self.last, done)
            if err is not None:
                cause = f"HTTP {status}" if status is not None else err.split(":", 1)[0]
                self.failures.append((sent, done, cause, err))


def pct(values, p):
    v = sorted(values)
    if not v:
        return float("nan")
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


# ---------------------------------------------------------------- the run

def run(a):
    os.makedirs(a.out, exist_ok=True)
    ports = benchlib.free_ports(a.backends + 2)
    bports, pport, aport = ports[:a.backends], ports[-2], ports[-1]
    bes = [Backend(f"b{i}", p, a.work, a.nginx, a.load_cpu) for i, p in enumerate(bports)]
    conf = os.path.join(a.work, "prox.conf")
    prox_conf(conf, pport, aport, os.path.join(a.work, "data"), bports, 0)
    stats, schedule, samples = Stats(), [], []
    for b in bes:
        b.start()
    for b in bes:
        wait_200(b.port, "/ping", 10, b.proc)
    prox = spawn(["dotnet", a.dll, "run", "--config", conf], os.path.join(a.work, "prox.log"), a.proxy_cpu)
    wait_200(aport, "/readyz", 60, prox)
    wait_200(pport, "/ping", 10, prox)
    evlog = EventLog(aport)
    evlog.start()
    load = Load(pport, a.rate, threads=a.threads, sink=stats.add)
    load.start()
    t0 = load.t0
    log(f"load started: {a.rate:g} req/s for {a.duration:g} s (warm-up {a.warmup:g} s, event every {a.interval:g} s, "
        f"backend down {a.down_for:g} s, quiet end {a.quiet:g} s); prox pid {prox.pid}")

    def at(t):  # sleep until t s after the load started; False if Prox died meanwhile
        while True:
            d = t0 + t - time.time()
            if prox.poll() is not None:
                return False
            if d <= 0:
                return True
            time.sleep(min(d, 1.0))

    def sample(tag):
        s = proc_sample(prox.pid)
        if s:
            samples.append((round(time.time() - t0, 1), tag) + s)
        return s

    sampler_stop = threading.Event()

    def sampler():
        while not sampler_stop.wait(a.sample_every):
            sample("")
    threading.Thread(target=sampler, daemon=True).start()

    def note(action, target, result):
        t = time.time()
        schedule.append((t, action, target, result))
        log(f"t={t - t0:7.1f}s {action} {target}: {result}")

    ok = at(a.warmup)
    start = sample("start") if ok else None
    end_events = a.duration - a.quiet
    pending = []  # (t_restart, backend)
    tick, kills, reloads, crashes = 0, 0, 0, 0
    while ok:
        t_next = a.warmup + tick * a.interval
        if t_next >= end_events:
            break
        # restarts due before the next tick
        for tr, b in sorted(pending, key=lambda x: x[0]):
            if tr <= t_next:
                if not at(tr):
                    break
                b.start()
                note("restart", b.name, "nginx started")
                pending.remove((tr, b))
        if not at(t_next):
            break
        kind = ("kill", "reload", "crash")[tick % 3]
        if kind == "kill":
            b = bes[kills % len(bes)]
            sig = (signal.SIGKILL, signal.SIGTERM)[kills % 2]
            heal.kill_group(b.proc, sig)
            b.proc.wait(5)
            note("kill", b.name, f"{signal.Signals(sig).name} to nginx master+worker")
            pending.append((min(t_next + a.down_for, end_events), b))
            kills += 1
        elif kind == "reload":
            reloads += 1
            how = ("file", "SIGHUP", "api")[(reloads - 1) % 3]
            prox_conf(conf, pport, aport, os.path.join(a.work, "data"), bports, reloads)
            if how == "file":
                res = "file rewritten (watcher)"
            elif how == "SIGHUP":
                os.kill(prox.pid, signal.SIGHUP)
                res = "file rewritten + SIGHUP"
            else:
                try:
                    st, body = admin_post(aport, "/admin/config/reload")
                    res = f"file rewritten + POST /admin/config/reload -> {st}"
                except OSError as e:
                    res = f"POST /admin/config/reload failed: {e}"
            note("reload", f"v{reloads} ({how})", res)
        else:
            crashes += 1
            if crashes % 2:
                target, q = "route", f"/admin/chaos/crash?route={ROUTE}"
            else:
                b = bes[(crashes // 2) % len(bes)]
                target, q = f"backend {b.name}", f"/admin/chaos/crash?route={ROUTE}&backend={b.name}"
            try:
                st, body = admin_post(aport, q)
                res = f"POST -> {st}"
            except OSError as e:
                res = f"POST failed: {e}"
            note("crash", target, res)
        tick += 1
    for tr, b in sorted(pending, key=lambda x: x[0]):
        if at(tr):
            b.start()
            note("restart", b.name, "nginx started")
    ok = at(a.duration)
    end = sample("end") if ok else None
    sampler_stop.set()
    load.stop()
    prox_alive = prox.poll() is None
    evlog.stop()
    try:
        st, body = http_get(aport, "/status", 5.0)
        with open(os.path.join(a.out, "status-end.json"), "wb") as fh:
            fh.write(body)
    except OSError:
        pass
    return dict(stats=stats, schedule=schedule, samples=samples, start=start, end=end, t0=t0,
                prox_alive=prox_alive, events=evlog.events, bports=bports)


# ---------------------------------------------------------------- report

def growth(a, b):
    return (b - a) * 100.0 / a if a else float("nan")


def report(a, r, meta):
    s, t0 = r["stats"], r["t0"]
    n, fails = len(s.from_send), s.failures
    elapsed = (s.last - s.first) if n else 0
    st, en = r["start"], r["end"]
    w = []
    w.append(f"# Prox soak {meta['stamp']}\n")
    w.append("```\n" + meta["text"].rstrip() + "\n```\n")
    if not r["prox_alive"]:
        w.append("**Prox exited during the run** (see logs/prox.log); the end sample is missing.\n")
    w.append("## Results vs targets\n")
    w.append("| metric | value | target | |")
    w.append("|---|---|---|---|")
    w.append(f"| requests | {n} in {elapsed:.0f} s ({n / elapsed if elapsed else 0:.1f} req/s; asked {a.rate:g}) | | |")
    w.append(f"| failed requests | {len(fails)} | 0 (one backend at a time is down) | {'ok' if not fails else 'MISSED'} |")
    w.append(f"| latency from send p50 / p99 / max | {pct(s.from_send, 50):.2f} / {pct(s.from_send, 99):.2f} / "
             f"{max(s.from_send) if n else float('nan'):.1f} ms | | |")
    w.append(f"| latency from schedule p50 / p99 | {pct(s.from_due, 50):.2f} / {pct(s.from_due, 99):.2f} ms | | |")
    for name, i, unit in (("RSS", 0, " KiB"), ("threads", 1, ""), ("open fds", 2, "")):
        if st and en:
            g = growth(st[i], en[i])
            verdict = ("ok" if g <= 10 else "MISSED") if name != "open fds" else ""
            target = "growth ≤ 10 %" if name != "open fds" else "(information)"
            w.append(f"| {name} start → end | {st[i]}{unit} → {en[i]}{unit} ({g:+.1f} %) | {target} | {verdict} |")
    mx = max(r["samples"], key=lambda x: x[2]) if r["samples"] else None
    if mx:
        w.append(f"| RSS max (sampled every {a.sample_every:g} s) | {mx[2]} KiB at t={mx[0]} s | | |")
    w.append("")
    w.append("## Failures by cause\n")
    if not fails:
        w.append("None.\n")
    else:
        w.append("| cause | count | first detail |")
        w.append("|---|---:|---|")
        by = Counter(f[2] for f in fails)
        for cause, c in by.most_common():
            d = next(f[3] for f in fails if f[2] == cause).replace("|", "\\|").replace("\n", " ")
            w.append(f"| {cause} | {c} | {d[:160]} |")
        w.append("\nBy the injected event just before each failure:\n")
        w.append("| event | failures | within (s) |")
        w.append("|---|---:|---|")
        near = Counter()
        spread = {}
        for f in fails:
            prev = [e for e in r["schedule"] if e[0] <= f[0]]
            key = f"{prev[-1][1]} {prev[-1][2]} at t={prev[-1][0] - t0:.0f}s" if prev else "(none: warm-up)"
            near[key] += 1
            dt = f[0] - prev[-1][0] if prev else f[0] - t0
            lo, hi = spread.get(key, (dt, dt))
            spread[key] = (min(lo, dt), max(hi, dt))
        for k, c in near.most_common():
            w.append(f"| {k} | {c} | {spread[k][0]:.2f}–{spread[k][1]:.2f} |")
        w.append("")
    w.append("## Injected events\n")
    w.append("| t (s) | action | target | result |")
    w.append("|---:|---|---|---|")
    for t, action, target, res in r["schedule"]:
        w.append(f"| {t - t0:.1f} | {action} | {target} | {res} |")
    cnt = Counter((e["kind"], e.get("backend") or "") for e in r["events"] if parse_ts(e["timestamp"]) >= t0)
    w.append("\n## Prox events during the run (`/admin/events`)\n")
    w.append("| kind | backend | count |")
    w.append("|---|---|---:|")
    for (k, b), c in sorted(cnt.items()):
        w.append(f"| {k} | {b or '-'} | {c} |")
    w.append("\n## Responses by backend (`X-Backend-Used`)\n")
    w.append(", ".join(f"{b}: {c}" for b, c in sorted(s.backends.items())) + "\n")
    return "\n".join(w) + "\n"


def keep_logs(a):
    """Prox's log and config and the backends' error logs go to OUT/logs (the work dir is deleted)."""
    dst = os.path.join(a.out, "logs")
    os.makedirs(dst, exist_ok=True)
    names = [("prox.log", "prox.log"), ("prox.conf", "prox.conf")]
    names += [(os.path.join(d, "error.log"), f"{d}-error.log") for d in sorted(os.listdir(a.work)) if d.startswith("b")]
    for src, name in names:
        if os.path.exists(os.path.join(a.work, src)):
            os.replace(os.path.join(a.work, src), os.path.join(dst, name))


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--dll", required=True)
    r.add_argument("--nginx", default="/usr/sbin/nginx")
    r.add_argument("--work", required=True)
    r.add_argument("--out", required=True)
    r.add_argument("--meta", default="", help="file whose text heads the report")
    r.add_argument("--duration", type=float, default=1800)
    r.add_argument("--rate", type=float, default=200)
    r.add_argument("--threads", type=int, default=16)
    r.add_argument("--backends", type=int, default=3)
    r.add_argument("--warmup", type=float, default=60)
    r.add_argument("--interval", type=float, default=15)
    r.add_argument("--down-for", type=float, default=25)
    r.add_argument("--quiet", type=float, default=30)
    r.add_argument("--sample-every", type=float, default=5)
    r.add_argument("--proxy-cpu", default="1")
    r.add_argument("--load-cpu", default="0")
    a = ap.parse_args()
    if a.backends < 2:
        raise SystemExit("need at least 2 backends (one is down at a time)")
    if a.down_for >= 3 * a.interval:
        raise SystemExit("--down-for must be less than 3 x --interval (the next kill), so one backend is down at a time")
    if a.warmup + a.quiet >= a.duration:
        raise SystemExit("--duration must be longer than --warmup + --quiet")

    def on_term(signum, _):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    try:
        res = run(a)
    finally:
        stop_all()
        keep_logs(a)
    with open(os.path.join(a.out, "samples.csv"), "w") as fh:
        fh.write("t_s,tag,rss_kib,threads,fds\n")
        for row in res["samples"]:
            fh.write(",".join(str(x) for x in row) + "\n")
    with open(os.path.join(a.out, "events.json"), "w") as fh:
        json.dump(res["events"], fh, indent=1)
    with open(os.path.join(a.out, "failures.txt"), "w") as fh:
        for sent, done, cause, err in res["stats"].failures:
            fh.write(f"t={sent - res['t0']:.3f}s dur={(done - sent) * 1000:.1f}ms {err}\n")
    meta = {"stamp": os.path.basename(a.out.rstrip("/")),
            "text": open(a.meta).read() if a.meta and os.path.exists(a.meta) else ""}
    text = report(a, res, meta)
    with open(os.path.join(a.out, "report.md"), "w") as fh:
        fh.write(text)
    sys.stdout.write(text)
    failed = bool(res["stats"].failures) or not res["prox_alive"]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
