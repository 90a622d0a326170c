"""The wrk load runs: the Lua script that counts versions and errors, a warm-up, and measure_load
(requests/s, latency, proxy CPU and peak RSS, v2 share, errors of one measured run)."""

import collections
import os
import re
import shlex
import subprocess
import time

from .common import LOOPBACK, write
from .environment import find_exe
from .peers import start_child, stub_requests


WRK_THREADS = 2

WRK_LUA = r"""
-- canaryd bench: counts responses per upstream version (X-Version, set by the v1/v2 nginx), non-2xx
-- statuses and bodies of the wrong length; per-thread counters are summed in done() via setup().
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  expected = tonumber(args[1]) or -1
  v1 = 0
  v2 = 0
  nover = 0
  non2xx = 0
  badlen = 0
end

function response(status, headers, body)
  if status < 200 or status > 299 then non2xx = non2xx + 1 end
  local v = headers["X-Version"] or headers["x-version"]
  if v == "v1" then v1 = v1 + 1 elseif v == "v2" then v2 = v2 + 1 else nover = nover + 1 end
  if expected >= 0 and string.len(body) ~= expected then badlen = badlen + 1 end
end

function done(summary, latency, requests)
  local s = {v1 = 0, v2 = 0, nover = 0, non2xx = 0, badlen = 0}
  for _, t in ipairs(threads) do
    for k, _ in pairs(s) do s[k] = s[k] + t:get(k) end
  end
  local e = summary.errors
  io.write(string.format(
    "WRKLUA requests=%d duration_us=%d v1=%d v2=%d nover=%d non2xx=%d badlen=%d " ..
    "connect=%d read=%d write=%d timeout=%d status=%d p50_us=%d p99_us=%d max_us=%d\n",
    summary.requests, summary.duration, s.v1, s.v2, s.nover, s.non2xx, s.badlen,
    e.connect, e.read, e.write, e.timeout, e.status,
    latency:percentile(50), latency:percentile(99), latency.max))
end
"""


def load_tool_child():
    """In wrk's or h2load's process before exec: beside the upstreams, off the proxy's cores (--pin)."""
    start_child("other")


def run_load_tool(cmd, duration, out_path):
    """Runs a load tool (wrk, h2load) for `duration` seconds (a minute of grace); its command line and
    output go to out_path. Returns (output, exit status or "timeout")."""
    try:
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=duration + 60,
                           preexec_fn=load_tool_child)
        out, rc = p.stdout.decode(errors="replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out, rc = (e.stdout or b"").decode(errors="replace"), "timeout"
    write(out_path, " ".join(map(shlex.quote, cmd)) + "\n" + out)
    return out, rc


def run_wrk(workdir, tag, port, path, size, conns, close, duration):
    script = os.path.join(workdir, "count.lua")
    if not os.path.exists(script):
        write(script, WRK_LUA)
    cmd = [find_exe("wrk"), "-t%d" % WRK_THREADS, "-c%d" % conns, "-d%ds" % duration, "--latency",
           "--timeout", "5s", "-s", script]
    if close:
        cmd += ["-H", "Connection: close"]
    cmd += ["http://%s:%d%s" % (LOOPBACK, port, path), "--", str(size)]
    out, rc = run_load_tool(cmd, duration, os.path.join(workdir, "wrk-%s.out" % tag))
    m = re.search(r"^WRKLUA (.*)$", out, re.M)
    if not m:
        return None, "wrk printed no summary (exit %s): %s" % (rc, out.strip()[-300:])
    f = {k: int(v) for k, v in (kv.split("=", 1) for kv in m.group(1).split())}
    return f, None


def wrk_errors(f, prefix=""):
    return collections.OrderedDict(
        (prefix + k, f[k]) for k in ("connect", "read", "write", "timeout", "non2xx", "badlen", "nover") if f[k])


def warm_up(srv, workdir, tag, sc, seconds):
    """An uncounted wrk run with the scenario's load. canaryd's per-endpoint keep-alive pools start empty:
    with 1,000 endpoints per set the measured run would otherwise pay for ~2,000 upstream connects. Its
    errors still count (as warmup_*): a failure is a failure."""
    _, path, size, conns, close, _ = sc
    r = {"problems": [], "errors": collections.OrderedDict()}
    f, err = run_wrk(workdir, tag + "-warmup", srv.port, path, size, conns, close, seconds)
    if err:
        r["problems"].append("warm-up: " + err)
        r["errors"]["warmup_wrk"] = 1
        return r
    r["warmup_rps"] = f["requests"] / (f["duration_us"] / 1e6) if f["duration_us"] else 0.0
    r["errors"].update(wrk_errors(f, "warmup_"))
    return r


def measure_load(srv, ups, workdir, tag, sc, duration, changer=None):
    """changer: a WeightChanger, started just before wrk and stopped as soon as wrk is done."""
    _, path, size, conns, close, _ = sc
    r = collections.OrderedDict()
    watch = ProxyWatch(srv, ups)
    if changer:
        changer.start()
    f, err = run_wrk(workdir, tag, srv.port, path, size, conns, close, duration)
    if changer:
        changer.finish()
    watch.stop()
    r["problems"] = []
    if changer:
        r.update(changer.summary())
        r["problems"] += changer.problems()
    if err:
        r["problems"].append(err)
        r["errors"] = collections.OrderedDict(changer.errors if changer else {})
        return r
    req = f["requests"]
    r["requests"] = req
    r["rps"] = req / (f["duration_us"] / 1e6) if f["duration_us"] else 0.0
    r["p50_ms"] = f["p50_us"] / 1000.0
    r["p99_ms"] = f["p99_us"] / 1000.0
    r["max_ms"] = f["max_us"] / 1000.0
    r["v1"], r["v2"] = f["v1"], f["v2"]
    r["v2_share"] = 100.0 * f["v2"] / (f["v1"] + f["v2"]) if f["v1"] + f["v2"] else None
    r["errors"] = wrk_errors(f)
    if changer:
        r["errors"].update(changer.errors)
    watch.record(r, req)
    return r


class ProxyWatch:
    """What a load run measures on the processes around the load tool: the proxy's CPU and peak RSS, the
    wall time, the upstreams' request counters (stub_status), and whether the proxy survived."""

    def __init__(self, srv, ups):
        self.srv, self.ups = srv, ups
        self.stub0 = [stub_requests(u.port) for u in ups]
        self.cpu0 = srv.cpu()
        self.t0 = time.monotonic()

    def stop(self):
        self.wall = time.monotonic() - self.t0
        self.alive = self.srv.alive()
        self.cpu1 = self.srv.cpu() if self.alive else None
        self.hwm = self.srv.hwm_kib() if self.alive else None
        self.stub1 = [stub_requests(u.port) for u in self.ups]

    def record(self, r, req):
        """Into the run's result r (with "errors" and "problems"), for `req` completed requests."""
        r["cpu_s"] = (self.cpu1 - self.cpu0) if self.cpu1 is not None else None
        r["cpu_per_100k"] = (self.cpu1 - self.cpu0) / req * 1e5 if self.cpu1 is not None and req else None
        r["peak_rss_kib"] = self.hwm
        r["wall_s"] = self.wall
        if not self.alive:
            r["errors"]["proxy_died"] = 1
            r["problems"].append("%s died during the run (exit %s); log tail:\n%s"
                                 % (self.srv.name, self.srv.proc.poll(), self.srv.log_tail()))
        if req == 0:
            r["errors"]["no_requests"] = 1
        if None not in self.stub0 and None not in self.stub1:
            # the counter includes the stub_status request that reads it: subtract one per upstream
            r["upstream_v1"] = self.stub1[0] - self.stub0[0] - 1
            r["upstream_v2"] = self.stub1[1] - self.stub0[1] - 1
