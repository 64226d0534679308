#!/usr/bin/env python3
"""Soak test for Prox (stdlib only). Driven by bench/soak.sh; see bench/README.md ("Soak test").

  bench/soak.sh [--duration 10m] [--rate R] [--backends N] [--warmup T] [--interval T] [--down-for T]
                [--quiet T] [--no-build]        (--help lists every option and its env form)

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
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

sys.dont_write_bytecode = True  # no __pycache__ beside the bench scripts in the repo
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchlib  # noqa: E402  (free_ports)
import heal  # noqa: E402  (processes, nginx backends, paced client)
from heal import Backend, Load, http_get, spawn, stop_all, wait_200  # noqa: E402
from soakreport import EventLog, Stats, cpu_busy_pct, proc_sample, report, sh  # noqa: E402

ROUTE = "soak"
LOGFILE = None  # OUT/progress.log once the output dir exists


def log(msg):
    line = f"soak: {msg}"
    print(line, file=sys.stderr, flush=True)
    if LOGFILE:
        LOGFILE.write(line + "\n")
        LOGFILE.flush()


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


def admin_post(port, path):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request("POST", path)
        r = c.getresponse()
        return r.status, r.read()[:200].decode("utf-8", "replace")
    finally:
        c.close()


class Injector:
    """The faults: each call does one and notes (time, action, target, result) in `schedule`."""

    def __init__(self, prox, backends, write_conf, admin_port, t0):
        self.prox, self.bes, self.write_conf, self.admin, self.t0 = prox, backends, write_conf, admin_port, t0
        self.schedule = []
        self.kills = self.reloads = self.crashes = 0

    def note(self, action, target, result):
        t = time.time()
        self.schedule.append((t, action, target, result))
        log(f"t={t - self.t0:7.1f}s {action} {target}: {result}")

    def kill(self):
        """The next backend in turn, SIGKILL and SIGTERM alternating, to master and worker at once."""
        b = self.bes[self.kills % len(self.bes)]
        sig = (signal.SIGKILL, signal.SIGTERM)[self.kills % 2]
        self.kills += 1
        heal.kill_group(b.proc, sig)
        b.proc.wait(5)
        self.note("kill", b.name, f"{signal.Signals(sig).name} to nginx master+worker")
        return b

    def restart(self, b):
        b.start()
        try:
            wait_200(b.port, "/ping", 10, b.proc)
            self.note("restart", b.name, "nginx serving again")
        except RuntimeError as e:
            self.note("restart", b.name, f"FAILED: {e}")

    def reload(self):
        """A new config version, applied by the file watcher, SIGHUP or the admin API in turn."""
        self.reloads += 1
        how = ("file", "SIGHUP", "api")[(self.reloads - 1) % 3]
        self.write_conf(self.reloads)
        if how == "file":
            res = "file rewritten (watcher)"
        elif how == "SIGHUP":
            os.kill(self.prox.pid, signal.SIGHUP)
            res = "file rewritten + SIGHUP"
        else:
            try:
                res = f"file rewritten + POST /admin/config/reload -> {admin_post(self.admin, '/admin/config/reload')[0]}"
            except OSError as e:
                res = f"POST /admin/config/reload failed: {e}"
        self.note("reload", f"v{self.reloads} ({how})", res)

    def crash(self):
        """The route's actor and a backend's actor (in turn over the backends), alternating."""
        self.crashes += 1
        if self.crashes % 2:
            target, q = "route", f"/admin/chaos/crash?route={ROUTE}"
        else:
            b = self.bes[(self.crashes // 2) % len(self.bes)]
            target, q = f"backend {b.name}", f"/admin/chaos/crash?route={ROUTE}&backend={b.name}"
        try:
            res = f"POST -> {admin_post(self.admin, q)[0]}"
        except OSError as e:
            res = f"POST failed: {e}"
        self.note("crash", target, res)


def run(a):
    ports = benchlib.free_ports(a.backends + 2)
    bports, pport, aport = ports[:a.backends], ports[-2], ports[-1]
    bes = [Backend(f"b{i}", p, a.work, a.nginx, a.load_cpu) for i, p in enumerate(bports)]
    conf = os.path.join(a.work, "prox.conf")

    def write_conf(version):
        prox_conf(conf, pport, aport, os.path.join(a.work, "data"), bports, version)
    write_conf(0)
    stats, samples = Stats(), []
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
    inj = Injector(prox, bes, write_conf, aport, t0)
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

    ok = at(a.warmup)
    start = sample("start") if ok else None
    end_events = a.duration - a.quiet
    pending = []  # (t_restart, backend), at most one as kills come 3 intervals apart
    tick = 0
    while ok and a.warmup + tick * a.interval < end_events:
        t_next = a.warmup + tick * a.interval
        for tr, b in [p for p in pending if p[0] <= t_next]:
            if not at(tr):
                break
            inj.restart(b)
            pending.remove((tr, b))
        if not at(t_next):
            break
        kind = ("kill", "reload", "crash")[tick % 3]
        if kind == "kill":
            pending.append((min(t_next + a.down_for, end_events), inj.kill()))
        elif kind == "reload":
            inj.reload()
        else:
            inj.crash()
        tick += 1
    for tr, b in pending:
        if at(tr):
            inj.restart(b)
    ok = at(a.duration)
    end = sample("end") if ok else None
    sampler_stop.set()
    load.stop()
    prox_alive = prox.poll() is None
    evlog.stop()
    try:
        body = http_get(aport, "/status", 5.0)[1]
        with open(os.path.join(a.out, "status-end.json"), "wb") as fh:
            fh.write(body)
    except OSError:
        pass
    return dict(stats=stats, schedule=inj.schedule, samples=samples, start=start, end=end, t0=t0,
                prox_alive=prox_alive, events=evlog.events)


# ---------------------------------------------------------------- set-up and results

def keep_logs(a):
    """Prox's log and config and the backends' error logs go to OUT/logs (the work dir is deleted)."""
    dst = os.path.join(a.out, "logs")
    os.makedirs(dst, exist_ok=True)
    names = [("prox.log", "prox.log"), ("prox.conf", "prox.conf")]
    names += [(os.path.join(d, "error.log"), f"{d}-error.log") for d in sorted(os.listdir(a.work)) if d.startswith("b")]
    for src, name in names:
        if os.path.exists(os.path.join(a.work, src)):
            os.replace(os.path.join(a.work, src), os.path.join(dst, name))


def seconds(text):
    """90 | 90s | 10m | 1h -> seconds."""
    text = str(text).strip()
    mult = {"s": 1, "m": 60, "h": 3600}.get(text[-1:], None)
    return float(text[:-1]) * mult if mult else float(text)


def options():
    env = os.environ.get
    ap = argparse.ArgumentParser(
        prog="bench/soak.sh", formatter_class=argparse.RawDescriptionHelpFormatter,
        description=__doc__.split("\n\n", 1)[1],
        epilog="Every option also has an env form (DURATION=10m, RATE=500, ...); the option wins. Durations: "
               "seconds, or with a unit (90s, 10m, 1h). PROX_DLL=path soaks that prox.dll (no build). Pinning: "
               "PROXY_CPU=1 (Prox), LOAD_CPU=0 (client + nginx backends). Output: bench/results/soak-<stamp>/. "
               "Exit status 1 when a request failed or Prox exited.")
    ap.add_argument("--duration", type=seconds, default=env("DURATION", "30m"),
                    help="the whole run, load from the first second (default 30m)")
    ap.add_argument("--rate", type=float, default=env("RATE", "200"), help="requests per second (200)")
    ap.add_argument("--threads", type=int, default=env("THREADS", "16"), help="client connections (16)")
    ap.add_argument("--backends", type=int, default=env("BACKENDS", "3"), help="nginx backends on the route (3)")
    ap.add_argument("--warmup", type=seconds, default=env("WARMUP", "60s"),
                    help="load only before the first event; then the start sample (60s)")
    ap.add_argument("--interval", type=seconds, default=env("INTERVAL", "15s"),
                    help="one event (kill, reload, crash in turn) every INTERVAL (15s)")
    ap.add_argument("--down-for", type=seconds, default=env("DOWN_FOR", "25s"),
                    help="a killed backend is restarted this much later; < 3 x interval (25s)")
    ap.add_argument("--quiet", type=seconds, default=env("QUIET", "30s"),
                    help="load only at the end, every backend up; then the end sample (30s)")
    ap.add_argument("--sample-every", type=seconds, default=env("SAMPLE_EVERY", "5s"),
                    help="RSS/threads/fds sampling period for samples.csv (5s)")
    ap.add_argument("--no-build", action="store_true", default=env("NO_BUILD") == "1",
                    help="use the existing Release build")
    a = ap.parse_args()
    a.proxy_cpu, a.load_cpu = env("PROXY_CPU", "1"), env("LOAD_CPU", "0")
    if a.backends < 2:
        ap.error("need at least 2 backends (one is down at a time)")
    if a.down_for >= 3 * a.interval:
        ap.error("--down-for must be less than 3 x --interval (the next kill), so one backend is down at a time")
    if a.warmup + a.quiet >= a.duration:
        ap.error("--duration must be longer than --warmup + --quiet")
    return a


def prepare(a, root):
    """Tools, build, output dir and the report's header; sets a.dll, a.nginx, a.out, a.work, a.meta_text."""
    a.nginx = shutil.which("nginx") or "/usr/sbin/nginx"
    for tool in ("taskset", "dotnet"):
        if not shutil.which(tool):
            raise SystemExit(f"soak: {tool} is required")
    if not os.access(a.nginx, os.X_OK):
        raise SystemExit("soak: nginx is required (bench/run.sh can install it: apt-get install nginx-light)")
    stamp = time.strftime("%Y%m%d-%H%M%S")
    a.out = os.path.join(root, "bench", "results", f"soak-{stamp}")
    os.makedirs(a.out)
    global LOGFILE
    LOGFILE = open(os.path.join(a.out, "progress.log"), "a")
    a.dll = os.environ.get("PROX_DLL") or os.path.join(root, "Prox.Hosting/bin/Release/net10.0/prox.dll")
    if not a.no_build and not os.environ.get("PROX_DLL"):
        log("building Prox.Hosting (Release)")
        with open(os.path.join(a.out, "build-prox.log"), "w") as fh:
            rc = subprocess.run(["dotnet", "build", os.path.join(root, "Prox.Hosting/Prox.Hosting.csproj"),
                                 "-c", "Release", "-nologo", "-v", "q"], stdout=fh, stderr=subprocess.STDOUT).returncode
        if rc != 0:
            raise SystemExit(f"soak: Prox build failed (see {a.out}/build-prox.log)")
    if not os.path.exists(a.dll):
        raise SystemExit(f"soak: {a.dll} not found")
    dirty = " (dirty)" if sh("git", "-C", root, "status", "--porcelain") else ""
    model = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "n/a")
    a.meta_text = "\n".join([
        f"date: {time.strftime('%Y-%m-%dT%H:%M:%S%z')}",
        f"git: {sh('git', '-C', root, 'rev-parse', '--short', 'HEAD')}{dirty}",
        f"kernel: {os.uname().release}; cpus: {os.cpu_count()}; model: {model}",
        f"dotnet: {sh('dotnet', '--version')}; {sh(a.nginx, '-v')}",
        f"settings: duration={a.duration:g}s rate={a.rate:g} backends={a.backends} warmup={a.warmup:g}s "
        f"interval={a.interval:g}s down-for={a.down_for:g}s quiet={a.quiet:g}s threads={a.threads}",
        f"pinning: PROXY_CPU={a.proxy_cpu} (prox) LOAD_CPU={a.load_cpu} (client, nginx backends)",
        f"prox dll: {a.dll}",
        f"cpu busy before start: {cpu_busy_pct()}%"])
    with open(os.path.join(a.out, "meta.txt"), "w") as fh:
        fh.write(a.meta_text + "\n")
    log(a.meta_text.replace("\n", "\nsoak: "))
    a.work = tempfile.mkdtemp(prefix="prox-soak.")


def write_results(a, res):
    with open(os.path.join(a.out, "samples.csv"), "w") as fh:
        fh.write("t_s,tag,rss_kib,threads,fds\n")
        for row in res["samples"]:
            fh.write(",".join(str(x) for x in row) + "\n")
    with open(os.path.join(a.out, "events.json"), "w") as fh:
        json.dump(res["events"], fh, indent=1)
    with open(os.path.join(a.out, "failures.txt"), "w") as fh:
        for sent, done, cause, err in res["stats"].failures:
            fh.write(f"t={sent - res['t0']:.3f}s dur={(done - sent) * 1000:.1f}ms {err}\n")
    text = report(a, res, {"stamp": os.path.basename(a.out), "text": a.meta_text})
    with open(os.path.join(a.out, "report.md"), "w") as fh:
        fh.write(text)
    sys.stdout.write(text)
    latest = os.path.join(os.path.dirname(a.out), "soak-latest")
    if os.path.islink(latest):
        os.remove(latest)
    os.symlink(os.path.basename(a.out), latest)
    log(f"results: {a.out} (report.md, samples.csv, events.json, failures.txt, status-end.json, logs/)")


def main():
    a = options()
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

    def on_term(signum, _):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    prepare(a, root)
    try:
        res = run(a)
    finally:
        stop_all()  # every process started, Ctrl-C and SIGTERM included (each in its own process group)
        keep_logs(a)
        shutil.rmtree(a.work, ignore_errors=True)
    write_results(a, res)
    return 1 if res["stats"].failures or not res["prox_alive"] else 0


if __name__ == "__main__":
    sys.exit(main())
