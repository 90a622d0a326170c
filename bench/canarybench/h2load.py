"""The HTTP/2 load runs: h2load (nghttp2-client) with cleartext prior knowledge against the proxy, and
measure_h2load (requests/s, p50/p99 from h2load's per-request log, proxy CPU and peak RSS, the v2 share
from the upstreams' stub_status counters, errors) for one measured run."""

import collections
import os
import re

from .common import LOOPBACK
from .environment import find_exe
from .load import ProxyWatch, run_load_tool
from .scenarios import H2_SCENARIOS

H2LOAD_THREADS = 2


def h2load_command(port, path, conns, streams, duration, log_file):
    return [find_exe("h2load"), "-t%d" % H2LOAD_THREADS, "-c%d" % conns, "-m%d" % streams, "-D%d" % duration,
            "--log-file=%s" % log_file, "http://%s:%d%s" % (LOOPBACK, port, path)]


def parse_h2load(out):
    """h2load's summary: {finished_s, total, started, done, succeeded, failed, errored, timeout, 2xx, 3xx,
    4xx, 5xx, data_bytes}, or None when it printed none."""
    f = {}
    m = re.search(r"^finished in ([\d.]+)(m?s),", out, re.M)
    r = re.search(r"^requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, "
                  r"(\d+) errored, (\d+) timeout", out, re.M)
    s = re.search(r"^status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out, re.M)
    t = re.search(r"^traffic: .*?, [\d.]+[KMG]?B \((\d+)\) data", out, re.M)
    if not (m and r and s):
        return None
    f["finished_s"] = float(m.group(1)) / (1000.0 if m.group(2) == "ms" else 1.0)
    for k, v in zip(("total", "started", "done", "succeeded", "failed", "errored", "timeout"), r.groups()):
        f[k] = int(v)
    for k, v in zip(("2xx", "3xx", "4xx", "5xx"), s.groups()):
        f[k] = int(v)
    f["data_bytes"] = int(t.group(1)) if t else None
    return f


def latency_percentiles(log_file):
    """(p50 ms, p99 ms, max ms) over the per-request log (column 3: microseconds to the end of the
    response), or Nones when it is empty."""
    times = []
    with open(log_file) as f:
        for line in f:
            parts = line.split("\t")
            if len(parts) >= 3:
                times.append(int(parts[2]))
    if not times:
        return None, None, None
    times.sort()

    def pct(p):
        return times[min(len(times) - 1, int(len(times) * p / 100.0))] / 1000.0
    return pct(50), pct(99), times[-1] / 1000.0


def run_h2load(workdir, tag, port, path, conns, streams, duration):
    log_file = os.path.join(workdir, "h2load-%s.log" % tag)
    cmd = h2load_command(port, path, conns, streams, duration, log_file)
    out, rc = run_load_tool(cmd, duration, os.path.join(workdir, "h2load-%s.out" % tag))
    f = parse_h2load(out)
    if f is None:
        return None, "h2load printed no summary (exit %s): %s" % (rc, out.strip()[-300:])
    f["p50_ms"], f["p99_ms"], f["max_ms"] = latency_percentiles(log_file)
    os.remove(log_file)              # tens of MB per run; the percentiles are kept
    return f, None


def h2load_errors(f, size):
    """Failed, errored or timed-out requests, non-2xx statuses, and body bytes short of size per success."""
    e = collections.OrderedDict()
    for k in ("failed", "errored", "timeout"):
        if f[k]:
            e[k] = f[k]
    # h2load also counts the status of a response still in flight when the time is up (its head arrived,
    # not its end): 2xx may exceed the successes by those, never fall short of them
    non2xx = f["3xx"] + f["4xx"] + f["5xx"]
    if non2xx or f["2xx"] < f["succeeded"]:
        e["non2xx"] = non2xx or f["succeeded"] - f["2xx"]
    if f["data_bytes"] is not None and f["data_bytes"] < f["succeeded"] * size:
        e["short_data"] = f["succeeded"] * size - f["data_bytes"]
    return e


def measure_h2load(srv, ups, workdir, tag, scen_name, sc, duration):
    """One measured h2load run. The v2 share comes from the upstreams' request counters (h2load does not
    look at response fields): it counts what the proxy sent each set."""
    _, path, size, conns, _, _ = sc
    r = collections.OrderedDict()
    watch = ProxyWatch(srv, ups)
    f, err = run_h2load(workdir, tag, srv.port, path, conns, H2_SCENARIOS[scen_name], duration)
    watch.stop()
    r["problems"] = []
    if err:
        r["problems"].append(err)
        r["errors"] = collections.OrderedDict()
        return r
    req = f["succeeded"]
    r["requests"] = req
    r["rps"] = req / f["finished_s"] if f["finished_s"] else 0.0
    r["p50_ms"], r["p99_ms"], r["max_ms"] = f["p50_ms"], f["p99_ms"], f["max_ms"]
    r["errors"] = h2load_errors(f, size)
    watch.record(r, req)
    if "upstream_v1" in r:
        r["v1"], r["v2"] = r["upstream_v1"], r["upstream_v2"]
        r["v2_share"] = 100.0 * r["v2"] / (r["v1"] + r["v2"]) if r["v1"] + r["v2"] else None
    else:
        r["problems"].append("no stub_status counters from the upstreams: no v2 share")
    return r
