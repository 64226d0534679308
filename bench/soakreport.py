"""What bench/soak.py records about a run and how it reports it: the client's results, Prox's events,
its RSS / threads / fds, the machine, and the Markdown report (stdlib only)."""
import array
import json
import os
import subprocess
import threading
import time
from collections import Counter

from heal import http_get, parse_ts


def proc_sample(pid):
    """(VmRSS KiB, Threads, open fds) of a process, or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            st = dict(line.split(":", 1) for line in fh if ":" in line)
        return int(st["VmRSS"].split()[0]), int(st["Threads"]), len(os.listdir(f"/proc/{pid}/fd"))
    except (FileNotFoundError, ProcessLookupError, KeyError):
        return None


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
    if st and en and r["samples"]:
        # one-time growth (JIT, pools, first ejections) levels off; a leak keeps the same slope to the end
        mid_t = (a.warmup + a.duration) / 2
        mid = min(r["samples"], key=lambda x: abs(x[0] - mid_t))
        w.append(f"| RSS half-way (t={mid[0]} s) → end | {mid[2]} KiB → {en[0]} KiB ({growth(mid[2], en[0]):+.1f} %) | "
                 "(a leak grows here too) | |")
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


def sh(*args):
    """A command's output (nginx -v writes to stderr), or n/a."""
    try:
        p = subprocess.run(args, capture_output=True, text=True, timeout=30)
        return p.stdout.strip() or p.stderr.strip()
    except (OSError, subprocess.SubprocessError):
        return "n/a"


def cpu_busy_pct():
    """How busy the whole machine is over one second (other work skews the latencies)."""
    def read():
        with open("/proc/stat") as fh:
            f = [int(x) for x in fh.readline().split()[1:9]]
        return sum(f), f[3] + f[4]
    t0, i0 = read()
    time.sleep(1)
    t1, i1 = read()
    return round(100 * (1 - (i1 - i0) / (t1 - t0))) if t1 > t0 else 0
